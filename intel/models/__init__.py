"""Intel models, split by subject: indicators and their provenance, and feeds."""

from intel.models.feeds import Feed, FeedRun
from intel.models.indicators import (
    DEFAULT_TTL_DAYS,
    TLP,
    TLP_ORDER,
    AllowlistEntry,
    Indicator,
    IndicatorQuerySet,
    IndicatorSource,
    IndicatorType,
    IntelImport,
    Severity,
    Source,
    Status,
    default_expiry,
)

__all__ = [
    "DEFAULT_TTL_DAYS",
    "TLP",
    "TLP_ORDER",
    "AllowlistEntry",
    "Feed",
    "FeedRun",
    "Indicator",
    "IndicatorQuerySet",
    "IndicatorSource",
    "IndicatorType",
    "IntelImport",
    "Severity",
    "Source",
    "Status",
    "default_expiry",
]
