"""Detection API URLs, mounted under /api/v1/."""

from django.urls import path

from detection import api

urlpatterns = [
    path("events", api.EventIntakeAPI.as_view(), name="api_event_intake"),
    path(
        "events/batches/<uuid:pk>", api.ScanBatchDetailAPI.as_view(), name="api_scan_batch_detail"
    ),
]
