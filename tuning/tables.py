"""django-tables2 tables for the tuning lists."""

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from tdp.tables import BaseTable
from tuning.missed import Catch, would_catch_many
from tuning.models import BacktestRun, MissedReport, TuningSuggestion


class TuningSuggestionTable(BaseTable):
    """Suggestions with their evidence and, for open ones, the apply and dismiss buttons."""

    target_repr = tables.Column(verbose_name="Target", linkify=lambda record: record.target_url)
    target_kind = tables.Column(verbose_name="Kind")
    action = tables.Column(verbose_name="Suggested action")
    fp_rate = tables.Column(verbose_name="FP rate")
    labels = tables.Column(verbose_name="Labels")
    false_positives = tables.Column(verbose_name="False positives")
    decided_by = tables.Column(verbose_name="Decided by", default="")
    decided_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Decided")
    updated_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Updated")
    decide = tables.TemplateColumn(
        template_name="tuning/_suggestion_decide.html", verbose_name="", orderable=False
    )

    class Meta(BaseTable.Meta):
        model = TuningSuggestion
        fields = (
            "target_repr",
            "target_kind",
            "action",
            "fp_rate",
            "labels",
            "false_positives",
            "status",
            "applied_action",
            "decided_by",
            "decided_at",
            "updated_at",
            "decide",
        )
        sequence = fields
        exclude = ("id", "target_id", "params", "note", "created_at")
        row_attrs = {"id": lambda record: f"suggestion-{record.pk}"}
        empty_text = "No suggestions: nothing is over the false-positive thresholds."

    def render_fp_rate(self, value: float) -> str:
        return f"{value:.0%}"


class MissedReportTable(BaseTable):
    """Missed reports with the existing intel that would have caught each.

    The "would catch" column is computed for the shown page at once (one indicator query),
    through `Indicator.objects.visible_to` of the viewer passed in.
    """

    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Reported", linkify=True)
    event_id = tables.Column(verbose_name="Event")
    policy = tables.Column()
    reported_by = tables.Column(verbose_name="By", default="")
    note = tables.Column(orderable=False)
    would_catch = tables.Column(verbose_name="Would have caught", empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        model = MissedReport
        fields = ("created_at", "event_id", "policy", "reported_by", "note", "would_catch")
        sequence = fields
        exclude = ("id", "event", "occurred_at")
        empty_text = "No missed detections reported."

    def __init__(self, *args: Any, viewer: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        self._catches: dict[int, list[Catch]] | None = None

    def render_note(self, value: str) -> str:
        return value if len(value) <= 120 else value[:119] + "…"

    def render_would_catch(self, record: MissedReport) -> str:
        if self._catches is None:  # first row of the page: look the whole page up
            rows = self.page.object_list if getattr(self, "page", None) else self.rows
            self._catches = would_catch_many([row.record for row in rows], viewer=self.viewer)
        return render_catches(self._catches.get(record.pk, []))


def render_catches(catches: list[Catch]) -> str:
    """Indicators as linked badges with their status; "none" when there are none."""
    if not catches:
        return "none"
    return format_html_join(
        " ",
        '<a class="badge" href="{}">{}:{}</a> <span class="muted">{}</span>',
        (
            (reverse("intel:indicator_detail", args=[c.indicator_id]), c.type, c.value, c.status)
            for c in catches
        ),
    )


class BacktestRunTable(BaseTable):
    """Recent back-tests and their summary counts."""

    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Started", linkify=True)
    rule_name = tables.Column(verbose_name="Rule")
    kind = tables.Column(verbose_name="", empty_values=(), orderable=False)
    days = tables.Column()
    status = tables.Column()
    events = tables.Column(accessor="result__events", default="", orderable=False)
    would_hit = tables.Column(accessor="result__would_hit", default="", orderable=False)
    new_cases = tables.Column(accessor="result__new_cases", default="", orderable=False)
    created_by = tables.Column(verbose_name="By", default="")

    class Meta(BaseTable.Meta):
        model = BacktestRun
        fields = (
            "created_at",
            "rule_name",
            "kind",
            "days",
            "status",
            "events",
            "would_hit",
            "new_cases",
            "created_by",
        )
        sequence = fields
        exclude = ("id", "rule", "draft", "indicators", "result", "error")
        empty_text = "No back-tests yet."

    def render_kind(self, record: BacktestRun) -> str:
        return format_html('<span class="badge">{}</span>', "saved" if record.rule_id else "draft")
