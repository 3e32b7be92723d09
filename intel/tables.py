"""django-tables2 tables for intel lists."""

import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from intel.models import AllowlistEntry, Feed, FeedRun, Indicator
from tdp.tables import BaseTable


class TLPColumn(tables.Column):
    """A TLP label as a coloured badge."""

    def render(self, record: object) -> str:
        # The stored value (AMBER+STRICT), not the choice label (TLP:AMBER+STRICT).
        tlp = record.tlp
        return format_html('<span class="tlp tlp-{}">TLP:{}</span>', tlp.replace("+", "-"), tlp)


class TagsColumn(tables.Column):
    """Tags as small badges."""

    def render(self, value: list[str]) -> str:
        return format_html_join(" ", '<span class="badge">{}</span>', ((tag,) for tag in value))


class IndicatorTable(BaseTable):
    """The indicator list. Source counts come from an annotated subquery, not a query per row.

    Every sort ends with the id, so rows that tie (a whole import shares its confidence and
    last-seen time) keep one order and no row shows up on two pages or on none; sorted by
    confidence, the first page comes straight off the (confidence, id) index.
    """

    value = tables.Column(linkify=True, attrs={"td": {"class": "value"}}, order_by=("value", "id"))
    type = tables.Column(order_by=("type", "id"))
    status = tables.Column(
        attrs={"td": {"class": lambda record: f"status status-{record.status}"}},
        order_by=("status", "id"),
    )
    confidence = tables.Column(verbose_name="Conf.", order_by=("confidence", "id"))
    severity = tables.Column(order_by=("severity", "id"))
    tlp = TLPColumn(verbose_name="TLP", order_by=("tlp", "id"))
    tags = TagsColumn(orderable=False)
    source_count = tables.Column(verbose_name="Sources", orderable=False)
    last_seen_at = tables.DateTimeColumn(
        format="Y-m-d H:i", verbose_name="Last seen", order_by=("last_seen_at", "id")
    )
    first_seen_at = tables.DateTimeColumn(
        format="Y-m-d H:i", verbose_name="First seen", order_by=("id",)
    )
    expires_at = tables.DateTimeColumn(
        format="Y-m-d", verbose_name="Expires", order_by=("expires_at", "id")
    )

    class Meta(BaseTable.Meta):
        model = Indicator
        fields = (
            "value",
            "type",
            "status",
            "confidence",
            "severity",
            "tlp",
            "tags",
            "source_count",
            "first_seen_at",
            "last_seen_at",
            "expires_at",
        )
        sequence = fields
        exclude = ("id", "description", "created_at", "updated_at")
        empty_text = "No indicators match these filters."


class AllowlistEntryTable(BaseTable):
    """The allowlist."""

    owner = tables.Column(accessor="owner__username", verbose_name="Owner", default="system")
    created_at = tables.DateTimeColumn(format="Y-m-d")
    remove = tables.TemplateColumn(
        template_name="intel/_allowlist_remove.html", orderable=False, verbose_name=""
    )

    class Meta(BaseTable.Meta):
        model = AllowlistEntry
        fields = ("kind", "value", "reason", "owner", "created_at")
        empty_text = "The allowlist is empty."


class FeedTable(BaseTable):
    """Feeds with their health: last success, last error, indicators, recent runs."""

    name = tables.Column(linkify=True)
    kind = tables.Column()
    schedule = tables.Column()
    enabled = tables.BooleanColumn()
    health = tables.TemplateColumn(
        template_name="intel/_feed_health.html", orderable=False, verbose_name="Recent runs"
    )
    last_success_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Last success")
    last_error = tables.Column(verbose_name="Last error", attrs={"td": {"class": "error"}})
    indicator_count = tables.Column(verbose_name="Indicators")
    next_run_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Next pull")

    class Meta(BaseTable.Meta):
        model = Feed
        fields = (
            "name",
            "kind",
            "format",
            "mode",
            "schedule",
            "enabled",
            "health",
            "last_success_at",
            "last_error",
            "indicator_count",
            "next_run_at",
        )
        sequence = fields
        empty_text = "No feeds are configured yet."

    def render_mode(self, record: Feed) -> str:
        return record.mode  # "snapshot" / "incremental": the long labels are on the feed page

    def render_last_error(self, value: str) -> str:
        return value[:120] + ("…" if len(value) > 120 else "")


class FeedRunTable(BaseTable):
    """A feed's run history."""

    started_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Started")
    status = tables.Column(
        attrs={"td": {"class": lambda record: f"run-status run-{record.status}"}}
    )
    duration_ms = tables.Column(verbose_name="ms")

    class Meta(BaseTable.Meta):
        model = FeedRun
        fields = (
            "started_at",
            "trigger",
            "status",
            "duration_ms",
            "bytes",
            "received",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "skipped",
            "expired",
            "error",
        )
        sequence = fields
        empty_text = "This feed has not been pulled yet."
