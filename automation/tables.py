"""Tables for automation lists: playbook runs."""

import django_tables2 as tables

from automation.models import PlaybookRun
from tdp.tables import BaseTable


class PlaybookRunTable(BaseTable):
    """Playbook runs, newest first."""

    id = tables.Column(
        linkify=("automation:run_detail", {"pk": tables.A("pk")}), verbose_name="Run"
    )
    playbook = tables.Column(linkify=True)
    trigger = tables.Column()
    object = tables.Column(accessor="object_id", verbose_name="Object", orderable=False)
    status = tables.Column()
    dry_run = tables.BooleanColumn(verbose_name="Dry run")
    started_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Started")
    error = tables.Column(orderable=False)

    class Meta(BaseTable.Meta):
        model = PlaybookRun
        fields = ("id", "playbook", "trigger", "object", "status", "dry_run", "started_at", "error")
        sequence = fields
        empty_text = "No runs match."

    def render_object(self, record: PlaybookRun) -> str:
        return f"{record.object_type} {record.object_id}"
