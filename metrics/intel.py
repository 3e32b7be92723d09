"""Intel metrics for the pages: indicators by type, status and source over time, feed
freshness, each source's unique contribution and hit yield, and the feed overlap matrix.

Totals are the latest snapshot the refresh took (`has_snapshot` rows); new indicators per day
cover the past. Hit yield is the true-positive hits credited to a source in the period per
1,000 indicators it reports now.
"""

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from intel.models import Feed, FeedRun, IndicatorType, Source
from metrics.models import IndicatorTypeDay, SourceDay, SourceIntelDay, SourceOverlap
from metrics.periods import Period, day_series

STATUSES = ("active", "expired", "revoked", "allowlisted")


def latest_snapshot_day(model: Any) -> Any:
    """The last day a snapshot of ``model`` was taken, or None."""
    return model.objects.filter(has_snapshot=True).aggregate(day=Max("day"))["day"]


def by_type() -> list[tuple[str, int]]:
    """Active indicators per type in the latest snapshot, most first."""
    day = latest_snapshot_day(IndicatorTypeDay)
    labels = dict(IndicatorType.choices)
    rows = IndicatorTypeDay.objects.filter(day=day, active__gt=0).order_by("-active")
    return [(labels.get(row.type, row.type), row.active) for row in rows]


def created_series(period: Period) -> tuple[list, dict[str, list[float]]]:
    """New indicators per bucket."""
    rows = (
        period.filter_days(IndicatorTypeDay.objects.all())
        .values("day")
        .annotate(created=Sum("created"))
    )
    return day_series(rows.order_by("day"), period, ("created",))


def status_series(period: Period) -> tuple[list, dict[str, list[float]]]:
    """Indicators per status, as each day's snapshot counted them (days without one: 0)."""
    rows = (
        period.filter_days(IndicatorTypeDay.objects.filter(has_snapshot=True))
        .values("day")
        .annotate(**{status: Sum(status) for status in STATUSES})
        .order_by("day")
    )
    return day_series(rows, period, STATUSES, reduce="last", missing=None)


def reported_series(period: Period, top: int = 5) -> tuple[list, dict[str, list[float]]]:
    """First reports per bucket of the ``top`` sources reporting most in the period."""
    rows = period.filter_days(SourceIntelDay.objects.filter(reported__gt=0))
    best = list(
        rows.values("source_id")
        .annotate(n=Sum("reported"))
        .order_by("-n")[:top]
        .values_list("source_id", flat=True)
    )
    names = _names(best)
    per_day: dict[Any, dict[str, int]] = {}
    for row in rows.filter(source_id__in=best).values("day", "source_id", "reported"):
        per_day.setdefault(row["day"], {"day": row["day"]})[names[row["source_id"]]] = row[
            "reported"
        ]
    columns = tuple(names[s] for s in best)
    for point in per_day.values():
        for column in columns:
            point.setdefault(column, 0)
    return day_series(sorted(per_day.values(), key=lambda r: r["day"]), period, columns)


def _names(source_ids: Any) -> dict[int, str]:
    """Each source's display name: its feed's name when it is a feed's source."""
    names = dict(Source.objects.filter(pk__in=source_ids).values_list("pk", "name"))
    names.update(Feed.objects.filter(source_id__in=source_ids).values_list("source_id", "name"))
    return names


def source_rows(period: Period) -> list[dict[str, Any]]:
    """Per source: totals, unique contribution, reports and TP hits in the period, hit yield."""
    day = latest_snapshot_day(SourceIntelDay)
    snapshot = {row.source_id: row for row in SourceIntelDay.objects.filter(day=day)}
    reported = dict(
        period.filter_days(SourceIntelDay.objects.all())
        .values("source_id")
        .annotate(n=Sum("reported"))
        .values_list("source_id", "n")
    )
    detection = {
        row["source_id"]: row
        for row in period.filter_days(SourceDay.objects.all())
        .values("source_id")
        .annotate(hits=Sum("hits"), tp=Sum("true_positive"), fp=Sum("false_positive"))
    }
    feeds = dict(Feed.objects.values_list("source_id", "pk"))
    sources = Source.objects.filter(pk__in={*snapshot, *reported, *detection})
    names = _names([source.pk for source in sources])
    rows = []
    for source in sources:
        snap = snapshot.get(source.pk)
        found = detection.get(source.pk, {})
        indicators = snap.indicators if snap else 0
        tp = found.get("tp") or 0
        rows.append(
            {
                "source": names[source.pk],
                "feed_id": feeds.get(source.pk),
                "kind": source.get_kind_display(),
                "indicators": indicators,
                "active": snap.active if snap else 0,
                "unique": snap.unique if snap else 0,
                "unique_active": snap.unique_active if snap else 0,
                "unique_share": (snap.unique / indicators) if snap and indicators else None,
                "reported": reported.get(source.pk) or 0,
                "hits": found.get("hits") or 0,
                "true_positive": tp,
                "false_positive": found.get("fp") or 0,
                "hit_yield": tp * 1000 / indicators if indicators else None,
            }
        )
    return sorted(rows, key=lambda r: (-r["indicators"], r["source"]))


def feed_freshness(period: Period) -> list[dict[str, Any]]:
    """Per feed: switch, schedule, last run and success, age of the data, runs and failures."""
    now = timezone.now()
    since = period.since or now - timedelta(days=36500)
    runs = {
        row["feed_id"]: row
        for row in FeedRun.objects.filter(started_at__gte=since, started_at__lt=period.until)
        .values("feed_id")
        .annotate(runs=Count("pk"), failed=Count("pk", filter=Q(status=FeedRun.Status.FAILED)))
        .order_by()
    }
    rows = []
    for feed in Feed.objects.order_by("name"):
        found = runs.get(feed.pk, {})
        rows.append(
            {
                "feed": feed,
                "enabled": feed.enabled,
                "schedule": feed.schedule,
                "last_run_at": feed.last_run_at,
                "last_success_at": feed.last_success_at,
                "age_hours": (now - feed.last_success_at).total_seconds() / 3600
                if feed.last_success_at
                else None,
                "runs": found.get("runs", 0),
                "failed": found.get("failed", 0),
                "last_error": feed.last_error[:200],
            }
        )
    return rows


def overlap_matrix() -> dict[str, Any]:
    """Feeds by feeds: indicators both report (the diagonal: all the feed's indicators)."""
    feeds = list(Feed.objects.order_by("name").values_list("source_id", "name"))
    ids = [source_id for source_id, _ in feeds]
    shared = {
        (a, b): n
        for a, b, n in SourceOverlap.objects.filter(
            source_a_id__in=ids, source_b_id__in=ids
        ).values_list("source_a_id", "source_b_id", "shared")
    }
    day = latest_snapshot_day(SourceIntelDay)
    totals = dict(
        SourceIntelDay.objects.filter(day=day, source_id__in=ids).values_list(
            "source_id", "indicators"
        )
    )
    rows = [
        {
            "name": name,
            "cells": [totals.get(a, 0) if a == b else shared.get((a, b), 0) for b in ids],
        }
        for a, name in feeds
    ]
    return {"names": [name for _, name in feeds], "rows": rows}
