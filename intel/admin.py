"""Django admin for intel models: read-only, because changes must go through the audited pages."""

from typing import Any

from django.contrib import admin

from intel.models import AllowlistEntry, Indicator, IntelImport, Source
from tdp.admin import ReadOnlyAdmin


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    """Sources of intel."""

    list_display = ("name", "kind", "default_confidence", "default_tlp", "ttl_days")
    search_fields = ("name",)


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyAdmin):
    """Indicators, with the same TLP:RED rule as every other surface."""

    list_display = ("type", "value", "status", "confidence", "tlp", "last_seen_at")
    list_filter = ("type", "status", "tlp")
    search_fields = ("value",)
    show_full_result_count = False

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).visible_to(request.user)


@admin.register(AllowlistEntry)
class AllowlistEntryAdmin(ReadOnlyAdmin):
    """The allowlist."""

    list_display = ("kind", "value", "reason", "owner", "created_at")


@admin.register(IntelImport)
class IntelImportAdmin(ReadOnlyAdmin):
    """File imports and their results."""

    list_display = ("filename", "source", "state", "created_by", "created_at")
