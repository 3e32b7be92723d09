"""The tuning app: false-positive suggestions, missed-detection reports and back-tests."""

from django.apps import AppConfig


class TuningConfig(AppConfig):
    name = "tuning"
    verbose_name = "Tuning"
    default_auto_field = "django.db.models.BigAutoField"
