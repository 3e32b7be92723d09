"""Metrics API URLs (under /api/v1/)."""

from django.urls import path

from metrics import api

urlpatterns = [
    path("metrics/precision", api.PrecisionAPI.as_view(), name="api_metrics_precision"),
]
