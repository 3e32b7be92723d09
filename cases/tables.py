"""The queue table: one row per case, every column sortable, a checkbox for bulk actions."""

import django_tables2 as tables
from django_tables2.data import TableListData

from cases.models import Case
from cases.queue import Page
from tdp.tables import BaseTable


class CaseTable(BaseTable):
    """The queue's columns, header and sort links; `queue.keyset_page` gives it one page and its
    next cursor. The rows themselves are rendered by `cases/_queue_table.html` in a plain loop."""

    select = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {"data-select-all": "case", "aria-label": "Select all"},
            "td__input": {"name": "case", "aria-label": "Select case"},
        },
        orderable=False,
    )
    id = tables.Column(verbose_name="Case", linkify=True)
    priority = tables.Column()
    title = tables.Column(verbose_name="Summary", accessor="pk", order_by=("author_handle", "id"))
    policy_label = tables.Column(verbose_name="Policy")
    status = tables.Column()
    assignee = tables.Column(order_by=("assignee__username", "id"), default="—")
    hit_count = tables.Column(verbose_name="Hits")
    created_at = tables.Column(verbose_name="Age")
    sla_due_at = tables.Column(verbose_name="SLA due")

    class Meta(BaseTable.Meta):
        model = Case
        template_name = "cases/_queue_table.html"
        fields = ()
        sequence = (
            "select",
            "id",
            "priority",
            "title",
            "policy_label",
            "status",
            "assignee",
            "hit_count",
            "created_at",
            "sla_due_at",
        )
        empty_text = "No cases match these filters."


class PresortedData(TableListData):
    """Rows already ordered and paged by `cases.queue`: the table must not sort them again."""

    def order_by(self, aliases: object) -> None:
        return None


def queue_table(page: Page) -> CaseTable:
    """The table for one keyset page, showing the page's sort on its column header."""
    table = CaseTable(PresortedData(page.rows), order_by=page.sort)
    table.next_cursor = page.next_cursor
    return table
