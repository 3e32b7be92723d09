"""App config for intel: indicators, their sources, the allowlist and ingestion."""

from django.apps import AppConfig


class IntelConfig(AppConfig):
    """Threat intel: the deduplicated indicator store."""

    name = "intel"
    verbose_name = "Intel"
