"""django-tables2 tables for detection lists."""

import django_tables2 as tables
from django.utils.html import format_html_join

from detection.models import Rule
from tdp.tables import BaseTable


class RuleTable(BaseTable):
    """The rule list; `hit_count` comes from an annotated subquery (see `rule_list`)."""

    name = tables.Column(linkify=("detection:rule_detail", {"pk": tables.A("pk")}))
    is_enabled = tables.BooleanColumn(verbose_name="Enabled")
    indicator_types = tables.Column(verbose_name="Types", orderable=False, default="any")
    hit_count = tables.Column(verbose_name="Hits", attrs={"td": {"class": "hits"}})
    updated_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Updated")

    class Meta(BaseTable.Meta):
        model = Rule
        fields = (
            "name",
            "is_enabled",
            "mode",
            "policy_label",
            "severity",
            "indicator_types",
            "min_confidence",
            "threshold",
            "hit_count",
            "updated_at",
        )
        sequence = fields
        exclude = ("id",)
        empty_text = "No rules match these filters."

    def render_indicator_types(self, value: list[str]) -> str:
        return format_html_join(" ", '<span class="badge">{}</span>', ((t,) for t in value))
