"""App config for the shared `tdp` app (audit trail, profiles, system checks)."""

from django.apps import AppConfig


class TdpConfig(AppConfig):
    """Registers the shared models and the system checks."""

    name = "tdp"
    verbose_name = "TDP"

    def ready(self) -> None:
        from tdp import checks  # noqa: F401  (registers the checks)
