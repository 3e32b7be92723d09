"""The time ranges and buckets the metrics pages offer, and day series built on them.

Pages read whole UTC days: "last 7 days" is today and the six days before it; the weekly
report reads one Monday-to-Sunday week. A series has one point per day or per ISO week
(starting Monday) and zeros where nothing happened.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.utils import timezone

from metrics.rollups.detection import midnight

RANGES = {"7d": 7, "30d": 30, "90d": 90, "all": 0}
RANGE_LABELS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "all": "All"}
BUCKETS = {"day": "Per day", "week": "Per week"}
DEFAULT_RANGE, DEFAULT_BUCKET = "30d", "day"


def utc_today() -> date:
    """Today's UTC date."""
    return timezone.now().astimezone(UTC).date()


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``first_day`` (None: the first day with data) to ``last_day``, and
    how their series are bucketed; ``range`` names a preset ("30d") or is "custom"."""

    first_day: date | None
    last_day: date
    bucket: str = DEFAULT_BUCKET
    range: str = "custom"

    @classmethod
    def recent(
        cls, range_key: str = DEFAULT_RANGE, bucket: str = DEFAULT_BUCKET, today: date | None = None
    ) -> "Period":
        """The last days of a preset range (RANGES), ending today."""
        today = today or utc_today()
        days = RANGES[range_key]
        first = today - timedelta(days=days - 1) if days else None
        return cls(first, today, bucket, range_key)

    @classmethod
    def week(cls, monday: date) -> "Period":
        """The seven days from ``monday``, per day."""
        return cls(monday, monday + timedelta(days=6), "day", "custom")

    @property
    def days(self) -> int:
        """How many days the period covers (0: all of them)."""
        return (self.last_day - self.first_day).days + 1 if self.first_day else 0

    @property
    def since(self) -> datetime | None:
        """When the period starts (None: from the beginning)."""
        return midnight(self.first_day) if self.first_day else None

    @property
    def until(self) -> datetime:
        """When the period ends (exclusive): the midnight after its last day."""
        return midnight(self.last_day + timedelta(days=1))

    @property
    def label(self) -> str:
        """The range's name ("Last 30 days") or a custom period's dates."""
        if self.range in RANGE_LABELS:
            return RANGE_LABELS[self.range]
        return f"{self.first_day:%Y-%m-%d} to {self.last_day:%Y-%m-%d}"

    def filter_days(self, queryset: Any, field: str = "day") -> Any:
        """``queryset`` limited to the period's days (by its date column ``field``)."""
        queryset = queryset.filter(**{f"{field}__lte": self.last_day})
        if self.first_day is None:
            return queryset
        return queryset.filter(**{f"{field}__gte": self.first_day})


def bucket_of(day: date, bucket: str) -> date:
    """The first day of ``day``'s bucket: the day itself, or the Monday of its week."""
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def day_series(
    rows: Iterable[Mapping],
    period: Period,
    columns: tuple[str, ...],
    *,
    reduce: str = "sum",
    missing: float | None = 0,
) -> tuple[list[date], dict[str, list[float | None]]]:
    """One point per bucket of ``period`` for each column of ``rows`` (which carry `day`).

    ``reduce`` "sum" adds a bucket's days; "last" keeps its last day with data (for levels,
    such as the queue at the end of each day). A bucket without rows is ``missing`` (None:
    a gap in the line, for counts that were not taken that day).
    """
    by_day = {row["day"]: row for row in rows}
    first = period.first_day or (min(by_day) if by_day else period.last_day)
    buckets: dict[date, dict[str, float | None]] = {}
    day = first
    while day <= period.last_day:
        point = buckets.setdefault(bucket_of(day, period.bucket), dict.fromkeys(columns, missing))
        row = by_day.get(day)
        if row is not None:
            for column in columns:
                value = row[column] or 0
                before = point[column] or 0
                point[column] = before + value if reduce == "sum" else value
        day += timedelta(days=1)
    labels = sorted(buckets)
    return labels, {column: [buckets[b][column] for b in labels] for column in columns}
