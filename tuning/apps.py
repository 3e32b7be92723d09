"""The tuning app: false-positive suggestions, missed-detection reports and back-tests."""

from django.apps import AppConfig


class TuningConfig(AppConfig):
    """Registers the tuning models and their system checks."""

    name = "tuning"
    verbose_name = "Tuning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tuning import checks  # noqa: F401  (registers the checks)
