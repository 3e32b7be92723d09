"""django-tables2 tables for intel lists."""

import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from intel.models import AllowlistEntry, Indicator
from tdp.tables import BaseTable


class TLPColumn(tables.Column):
    """A TLP label as a coloured badge."""

    def render(self, value: str) -> str:
        return format_html('<span class="tlp tlp-{}">TLP:{}</span>', value.replace("+", "-"), value)


class TagsColumn(tables.Column):
    """Tags as small badges."""

    def render(self, value: list[str]) -> str:
        return format_html_join(" ", '<span class="badge">{}</span>', ((tag,) for tag in value))


class IndicatorTable(BaseTable):
    """The indicator list. Source counts come from an annotated subquery, not a query per row."""

    value = tables.Column(linkify=True, attrs={"td": {"class": "value"}})
    type = tables.Column()
    status = tables.Column(attrs={"td": {"class": lambda value: f"status status-{value}"}})
    confidence = tables.Column(verbose_name="Conf.")
    tlp = TLPColumn(verbose_name="TLP")
    tags = TagsColumn(orderable=False)
    source_count = tables.Column(verbose_name="Sources", orderable=False)
    last_seen_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Last seen")
    first_seen_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="First seen")
    expires_at = tables.DateTimeColumn(format="Y-m-d", verbose_name="Expires")

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
