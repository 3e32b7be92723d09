"""Tables of the metrics pages: detection quality (computed rows and per-indicator windows),
sources, feed freshness, analysts, playbooks and weekly reports."""

from typing import Any

import django_tables2 as tables
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.html import format_html

from metrics.models import IndicatorWindow, WeeklyReport
from tdp.tables import BaseTable


def percent(value: float | None) -> str:
    """0.8333 → "83.3%", None → "—"."""
    return "—" if value is None else f"{value * 100:.1f}%"


class PercentColumn(tables.Column):
    """A share shown as a percentage (None as a dash)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", None)
        super().__init__(*args, **kwargs)

    def render(self, value: float | None) -> str:
        return percent(value)

    def value(self, value: float | None) -> float | None:
        return value


class CountsMixin(tables.Table):
    """The count and rate columns every detection quality table shows."""

    hits = tables.Column()
    cases = tables.Column()
    labelled = tables.Column()
    true_positive = tables.Column(verbose_name="TP")
    false_positive = tables.Column(verbose_name="FP")
    precision = PercentColumn()
    false_positive_rate = PercentColumn(verbose_name="FP rate")


class QualityTable(CountsMixin, BaseTable):
    """Rule, policy or feed rows (`metrics.precision.QualityRow`); the key links to its chart."""

    key = tables.Column(verbose_name="Key")

    class Meta(BaseTable.Meta):
        sequence = (
            "key",
            "hits",
            "cases",
            "labelled",
            "true_positive",
            "false_positive",
            "precision",
            "false_positive_rate",
        )
        order_by = ("-hits",)
        empty_text = "No hits in this period."

    def __init__(self, *args: Any, chart_query: str = "", **kwargs: Any) -> None:
        self.chart_query = chart_query
        super().__init__(*args, **kwargs)

    def render_key(self, record: Any) -> str:
        return format_html(
            '<a href="?{}&amp;key={}">{}</a>', self.chart_query, record.ref, record.key
        )


class IndicatorWindowTable(CountsMixin, BaseTable):
    """Per-indicator totals over a window (as of the last refresh), sortable in the database."""

    indicator = tables.Column(
        linkify=True,
        order_by=("indicator__type", "indicator__value"),
        attrs={"td": {"class": "value"}},
    )
    chart = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta(BaseTable.Meta):
        model = IndicatorWindow
        fields = (
            "indicator",
            "hits",
            "cases",
            "labelled",
            "true_positive",
            "false_positive",
            "precision",
            "false_positive_rate",
            "chart",
        )
        sequence = fields
        order_by = ("-hits",)
        empty_text = "No hits in this period (or no refresh yet)."

    def __init__(self, *args: Any, chart_query: str = "", **kwargs: Any) -> None:
        self.chart_query = chart_query
        super().__init__(*args, **kwargs)

    def render_chart(self, record: IndicatorWindow) -> str:
        return format_html(
            '<a href="?{}&amp;key={}">chart</a>', self.chart_query, record.indicator_id
        )

    # Each order ends with the indicator id, as the indexes do, so pages are stable.
    def _order(self, queryset: QuerySet, expression: Any, descending: bool) -> tuple:
        tail = "-indicator_id" if descending else "indicator_id"
        return queryset.order_by(expression, tail), True

    def order_hits(self, queryset: QuerySet, is_descending: bool) -> tuple:
        return self._order(queryset, "-hits" if is_descending else "hits", is_descending)

    def order_labelled(self, queryset: QuerySet, is_descending: bool) -> tuple:
        return self._order(queryset, "-labelled" if is_descending else "labelled", is_descending)

    def order_false_positive(self, queryset: QuerySet, is_descending: bool) -> tuple:
        field = "-false_positive" if is_descending else "false_positive"
        return self._order(queryset, field, is_descending)

    def order_precision(self, queryset: QuerySet, is_descending: bool) -> tuple:
        field = F("precision")
        expression = field.desc(nulls_last=True) if is_descending else field.asc(nulls_last=True)
        return queryset.order_by(expression, "indicator_id"), True

    def order_false_positive_rate(self, queryset: QuerySet, is_descending: bool) -> tuple:
        field = F("false_positive_rate")
        expression = field.desc(nulls_last=True) if is_descending else field.asc(nulls_last=True)
        return queryset.order_by(expression, "indicator_id"), True


class SourceTable(BaseTable):
    """Each source's intel and its contribution (rows from `metrics.intel.source_rows`)."""

    source = tables.Column()
    kind = tables.Column()
    indicators = tables.Column()
    active = tables.Column()
    unique = tables.Column(verbose_name="Only here")
    unique_share = PercentColumn(verbose_name="Unique share")
    reported = tables.Column(verbose_name="Reported in period")
    hits = tables.Column(verbose_name="Hits")
    true_positive = tables.Column(verbose_name="TP hits")
    hit_yield = tables.Column(verbose_name="TP hits / 1,000 indicators", default=None)

    class Meta(BaseTable.Meta):
        order_by = ("-indicators",)
        empty_text = "No sources yet."

    def render_source(self, record: dict, value: str) -> str:
        if record.get("feed_id"):
            url = reverse("intel:feed_detail", args=[record["feed_id"]])
            return format_html('<a href="{}">{}</a>', url, value)
        return value

    def render_hit_yield(self, value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"


class FeedFreshnessTable(BaseTable):
    """Feeds with their last pull and success, the data's age and failures in the period."""

    feed = tables.Column(linkify=True, order_by=("feed__name",))
    enabled = tables.BooleanColumn()
    schedule = tables.Column(orderable=False)
    last_success_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Last success")
    age_hours = tables.Column(verbose_name="Data age", default=None)
    runs = tables.Column(verbose_name="Runs in period")
    failed = tables.Column(verbose_name="Failed")
    last_error = tables.Column(orderable=False)

    class Meta(BaseTable.Meta):
        empty_text = "No feeds configured."

    def render_age_hours(self, value: float | None) -> str:
        if value is None:
            return "never pulled"
        return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


class AnalystTable(BaseTable):
    """Analyst throughput and QA agreement over the period."""

    analyst = tables.Column()
    resolved = tables.Column()
    true_positive = tables.Column(verbose_name="TP")
    false_positive = tables.Column(verbose_name="FP")
    handle_minutes = tables.Column(verbose_name="Mean handling (min)", default=None)
    qa_reviewed = tables.Column(verbose_name="QA reviews")
    qa_agreed = tables.Column(verbose_name="QA agreed")
    qa_agreement = PercentColumn(verbose_name="QA agreement")

    class Meta(BaseTable.Meta):
        order_by = ("-resolved",)
        empty_text = "Nobody resolved a case in this period."

    def render_handle_minutes(self, value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"


class PlaybookTable(BaseTable):
    """Runs per playbook by outcome over the period."""

    playbook = tables.Column(linkify=True, order_by=("playbook__name",))
    runs = tables.Column()
    success = tables.Column()
    failed = tables.Column()
    skipped = tables.Column()
    dry_run = tables.Column(verbose_name="Dry run")
    failure_rate = PercentColumn(verbose_name="Failure rate")

    class Meta(BaseTable.Meta):
        order_by = ("-runs",)
        empty_text = "No playbook ran in this period."


class WeeklyReportTable(BaseTable):
    """Weekly reports, newest first, with view and download links."""

    week_start = tables.DateColumn(format="Y-m-d", verbose_name="Week of", linkify=True)
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Made")
    emailed_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Emailed")
    download = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta(BaseTable.Meta):
        model = WeeklyReport
        fields = ("week_start", "created_at", "emailed_at", "download")
        sequence = fields
        empty_text = "No weekly report yet."

    def render_download(self, record: WeeklyReport) -> str:
        url = reverse("metrics:report_download", args=[record.pk])
        return format_html('<a href="{}" download>Download</a>', url)
