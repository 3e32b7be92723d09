"""Metrics page URLs (`metrics:<name>`)."""

app_name = "metrics"

urlpatterns: list = []
