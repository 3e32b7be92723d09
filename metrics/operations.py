"""Operations metrics for the pages: the queue over time, time to first touch and to resolve,
SLA breaches, analyst throughput and QA agreement.

Everything reads the rollups: the queue per day, analysts per day, and for the median and p90
times the daily duration histograms (log buckets, so a percentile is exact to a few percent),
which add up over any days where raw percentiles would not. The queue "now" is the one the last
refresh found (`RollupRun.queue`); Queue health shows it live.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Sum

from metrics.models import AnalystDay, CaseDay
from metrics.periods import Period, day_series
from metrics.rollups.operations import BUCKETS_PER_DOUBLING

QUEUE_LEVELS = ("open_at_end", "past_sla_at_end", "open_age_hours_at_end")
QUEUE_FLOWS = ("opened", "resolved", "auto_resolved")


def queue_series(period: Period) -> tuple[list, dict[str, list[float]]]:
    """Open cases, cases past SLA and their mean age at the end of each bucket."""
    rows = period.filter_days(CaseDay.objects.all()).values("day", *QUEUE_LEVELS).order_by("day")
    return day_series(rows, period, QUEUE_LEVELS, reduce="last")


def flow_series(period: Period) -> tuple[list, dict[str, list[float]]]:
    """Cases opened, resolved and auto-resolved per bucket."""
    rows = period.filter_days(CaseDay.objects.all()).values("day", *QUEUE_FLOWS).order_by("day")
    return day_series(rows, period, QUEUE_FLOWS)


def merged_histogram(period: Period, field: str) -> dict[int, int]:
    """One of the `CaseDay` duration histograms summed over the days of ``period``."""
    merged: dict[int, int] = {}
    for histogram in period.filter_days(CaseDay.objects.all()).values_list(field, flat=True):
        for bucket, count in (histogram or {}).items():
            merged[int(bucket)] = merged.get(int(bucket), 0) + count
    return merged


def percentile(histogram: dict[int, int], share: float) -> float | None:
    """The duration (seconds) below which ``share`` of a histogram's cases fall, interpolated
    geometrically inside its bucket (so within a few percent); None when it is empty."""
    total = sum(histogram.values())
    if not total:
        return None
    target, seen = share * total, 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if seen + count >= target:
            low = 2 ** (bucket / BUCKETS_PER_DOUBLING) if bucket > 0 else 0.0
            high = 2 ** ((bucket + 1) / BUCKETS_PER_DOUBLING)
            fraction = (target - seen) / count
            return low + (high - low) * fraction if low == 0 else low * (high / low) ** fraction
        seen += count
    return None


def percentiles(period: Period, field: str) -> dict[str, float | None]:
    """Count, median and p90 seconds of one `CaseDay` histogram over ``period``."""
    histogram = merged_histogram(period, field)
    return {
        "count": sum(histogram.values()),
        "median": percentile(histogram, 0.5),
        "p90": percentile(histogram, 0.9),
    }


def response_times(period: Period) -> dict[str, dict[str, float | None]]:
    """Time to first touch (cases opened in the period) and to resolve (cases resolved in it)."""
    return {
        "first_touch": percentiles(period, "first_touch_hist"),
        "resolve": percentiles(period, "resolve_hist"),
    }


def sla_rates(period: Period) -> dict[str, Any]:
    """Cases resolved in the period, how many after their SLA, and the breach rate."""
    found = period.filter_days(CaseDay.objects.all()).aggregate(
        resolved=Sum("resolved"), late=Sum("resolved_late"), auto=Sum("auto_resolved")
    )
    resolved = found["resolved"] or 0
    late = found["late"] or 0
    return {
        "resolved": resolved,
        "late": late,
        "auto_resolved": found["auto"] or 0,
        "breach_rate": late / resolved if resolved else None,
    }


def analyst_rows(period: Period) -> list[dict[str, Any]]:
    """Per analyst over the period: resolved, TP/FP, mean handling time, QA agreement."""
    found = (
        period.filter_days(AnalystDay.objects.all())
        .values("user_id")
        .annotate(
            resolved=Sum("resolved"),
            true_positive=Sum("true_positive"),
            false_positive=Sum("false_positive"),
            handle_seconds=Sum("handle_seconds"),
            handled=Sum("handled"),
            qa_reviewed=Sum("qa_reviewed"),
            qa_agreed=Sum("qa_agreed"),
        )
        .order_by()
    )
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[row["user_id"] for row in found])
        .values_list("pk", "username")
    )
    rows = [
        {
            **row,
            "analyst": names.get(row["user_id"], f"user {row['user_id']}"),
            "handle_minutes": row["handle_seconds"] / row["handled"] / 60
            if row["handled"]
            else None,
            "qa_agreement": row["qa_agreed"] / row["qa_reviewed"] if row["qa_reviewed"] else None,
        }
        for row in found
    ]
    return sorted(rows, key=lambda r: (-r["resolved"], r["analyst"]))


def qa_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Second reviews and agreement over every analyst's rows."""
    reviewed = sum(r["qa_reviewed"] for r in rows)
    agreed = sum(r["qa_agreed"] for r in rows)
    return {"reviewed": reviewed, "agreed": agreed, "rate": agreed / reviewed if reviewed else None}
