"""App config for detection: content events, rules, the matcher and hits."""

from django.apps import AppConfig


class DetectionConfig(AppConfig):
    """Content events are matched against intel and rules; matches become hits."""

    name = "detection"
    verbose_name = "Detection"
