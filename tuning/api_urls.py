"""Tuning API URLs (under /api/v1/)."""

from django.urls import path

from tuning import api

urlpatterns = [
    path("missed", api.MissedReportCreateAPI.as_view(), name="api_missed_create"),
    path("metrics/missed", api.MissedMetricsAPI.as_view(), name="api_missed_metrics"),
]
