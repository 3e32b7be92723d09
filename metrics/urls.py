"""Metrics page URLs (`metrics:<name>`)."""

from django.urls import path

from metrics.views import detection, reports, sections

app_name = "metrics"

urlpatterns = [
    path("", sections.overview, name="overview"),
    path("detection/", detection.detection_quality, name="detection"),
    path("detection/export", detection.detection_export, name="detection_export"),
    path("intel/", sections.intel_metrics, name="intel"),
    path("operations/", sections.operations_metrics, name="operations"),
    path("automation/", sections.automation_metrics, name="automation"),
    path("reports/", reports.report_list, name="report_list"),
    path("reports/make", reports.report_make, name="report_make"),
    path("reports/<int:pk>/", reports.report_detail, name="report_detail"),
    path("reports/<int:pk>/download", reports.report_download, name="report_download"),
]
