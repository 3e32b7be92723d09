"""Django admin for tuning: read-only, because changes go through the audited pages."""

from typing import Any

from django.contrib import admin

from tdp.admin import ReadOnlyAdmin
from tuning.models import BacktestRun, MissedReport, TuningSuggestion


@admin.register(TuningSuggestion)
class TuningSuggestionAdmin(ReadOnlyAdmin):
    """Suggestions and their decisions (their targets' values are on the intel pages)."""

    list_display = ("target_kind", "target_id", "action", "fp_rate", "labels", "status")
    list_filter = ("status", "target_kind", "action")

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).visible_to(request.user)


@admin.register(MissedReport)
class MissedReportAdmin(ReadOnlyAdmin):
    """Reported false negatives."""

    list_display = ("event_id", "policy", "reported_by", "created_at")
    list_filter = ("policy",)
    search_fields = ("event_id",)


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    """Back-tests started from the page."""

    list_display = ("rule_name", "days", "status", "created_by", "created_at")
    list_filter = ("status",)
