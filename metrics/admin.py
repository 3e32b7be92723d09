"""Django admin for metrics: the refresh runs and weekly reports, read-only (the refresh job
and the report pages write them)."""

from django.contrib import admin

from metrics.models import RollupRun, WeeklyReport
from tdp.admin import ReadOnlyAdmin


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
