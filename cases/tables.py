"""The queue table: one row per case, every column sortable, a checkbox for bulk actions."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django_tables2.data import TableListData

from cases.models import Case
from cases.queue import Page
from tdp.tables import BaseTable


class CaseTable(BaseTable):
    """Cases in the queue; `queue.keyset_page` gives it one page and its next cursor."""

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
        row_attrs = {
            "data-case": lambda record: record.pk,
            "data-href": lambda record: record.get_absolute_url(),
        }

    def render_priority(self, record: Case) -> str:
        return format_html(
            '<span class="prio prio-{}">{}</span>', record.priority, record.get_priority_display()
        )

    def render_title(self, record: Case) -> str:
        if record.is_restricted:
            return format_html('{} <span class="tlp tlp-RED">RED</span>', record.title)
        return record.title

    def render_status(self, record: Case) -> str:
        return format_html(
            '<span class="case-status case-{}">{}</span>',
            record.status,
            record.get_status_display(),
        )

    def render_created_at(self, value) -> str:
        return format_html(
            '<time datetime="{}">{}</time>', value.isoformat(), timesince(value).split(",")[0]
        )

    def render_sla_due_at(self, record: Case) -> str:
        if not record.is_open:
            return "—"
        late = record.sla_due_at < timezone.now()
        when = (
            timesince(record.sla_due_at) if late else timesince(timezone.now(), record.sla_due_at)
        )
        return format_html(
            '<time class="{}" datetime="{}">{} {}</time>',
            "sla-breached" if late else "",
            record.sla_due_at.isoformat(),
            when.split(",")[0],
            "overdue" if late else "left",
        )


class PresortedData(TableListData):
    """Rows already ordered and paged by `cases.queue`: the table must not sort them again."""

    def order_by(self, aliases: object) -> None:
        return None


def queue_table(page: Page) -> CaseTable:
    """The table for one keyset page, showing the page's sort on its column header."""
    table = CaseTable(PresortedData(page.rows), order_by=page.sort)
    table.next_cursor = page.next_cursor
    return table
