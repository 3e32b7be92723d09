"""Tuning API URLs (under /api/v1/)."""

urlpatterns: list = []
