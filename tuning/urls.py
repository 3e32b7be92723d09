"""Tuning page URLs (`tuning:<name>`)."""

app_name = "tuning"

urlpatterns: list = []
