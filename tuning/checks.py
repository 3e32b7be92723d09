"""System checks for the tuning settings (stable ids tuning.E00x)."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_tuning_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The false-positive rate is a share (0-1]; the label minimum and workers are positive."""
    errors = []
    if not 0 < settings.TDP_TUNING_FP_RATE <= 1:
        errors.append(
            Error("TDP_TUNING_FP_RATE must be above 0 and at most 1 (a share)", id="tuning.E001")
        )
    if settings.TDP_TUNING_MIN_LABELS < 1:
        errors.append(Error("TDP_TUNING_MIN_LABELS must be at least 1", id="tuning.E002"))
    if settings.TDP_BACKTEST_WORKERS < 0:
        errors.append(
            Error("TDP_BACKTEST_WORKERS must be 0 (one per core) or more", id="tuning.E003")
        )
    return errors
