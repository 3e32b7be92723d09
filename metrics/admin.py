"""Django admin for metrics: the refresh runs and weekly reports, read-only (the refresh job
and the report pages write them)."""

from typing import Any

from django.contrib import admin

from metrics.models import RollupRun, WeeklyReport


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse only."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(RollupRun)
class RollupRunAdmin(ReadOnlyAdmin):
    """Each rollup refresh: kind, outcome, duration, watermark and rows written."""

    list_display = ("started_at", "kind", "status", "duration_ms", "hit_watermark")
    list_filter = ("status", "kind")


@admin.register(WeeklyReport)
class WeeklyReportAdmin(ReadOnlyAdmin):
    """Weekly reports and whom they were emailed to."""

    list_display = ("week_start", "created_at", "emailed_at", "email_error")
    exclude = ("html", "text")
