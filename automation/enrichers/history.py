"""The `internal_history` enricher: what TDP itself already knows about an indicator.

How often it was hit and when, which sources report it, how analysts labelled the hits on it
before (per disposition) and which cases it took part in. Everything comes from our own
database, so it is cheap, applies to every type and is refreshed often.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min

from automation.enrichers.base import Enricher, register
from cases.models import Case, HitLabel
from detection.models import Hit
from intel.models import Indicator, IndicatorSource, IndicatorType

LATEST_CASES = 10


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def indicator_history(indicator_id: int) -> dict[str, Any]:
    """Hits, sources, prior dispositions and related cases of one indicator, as JSON data."""
    return indicator_histories([indicator_id])[indicator_id]


def indicator_histories(ids: list[int]) -> dict[int, dict[str, Any]]:
    """`indicator_history` of each of ``ids``, in five queries whatever their number."""
    hits = {
        row["indicator_id"]: row
        for row in Hit.objects.filter(indicator_id__in=ids)
        .values("indicator_id")
        .annotate(count=Count("id"), first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by()
    }
    sources: dict[int, list[str]] = defaultdict(list)
    for indicator_id, name in IndicatorSource.objects.filter(indicator_id__in=ids).values_list(
        "indicator_id", "source__name"
    ):
        sources[indicator_id].append(name)
    dispositions: dict[int, dict[str, int]] = defaultdict(dict)
    for indicator_id, disposition, n in (
        HitLabel.objects.filter(indicator_id__in=ids)
        .values("indicator_id", "disposition")
        .annotate(n=Count("pk"))
        .values_list("indicator_id", "disposition", "n")
        .order_by("indicator_id", "disposition")
    ):
        dispositions[indicator_id][disposition] = n
    cases: dict[int, dict[str, Any]] = defaultdict(lambda: {"total": 0, "open": 0, "latest": []})
    with connection.cursor() as cursor:
        # Each indicator's distinct cases, newest first, with the counts over all of them.
        cursor.execute(
            """
            SELECT indicator_id, case_id, total, open FROM (
                SELECT h.indicator_id, c.id AS case_id,
                       COUNT(*) OVER w AS total,
                       COUNT(*) FILTER (WHERE c.status <> %s) OVER w AS open,
                       ROW_NUMBER() OVER (w ORDER BY c.created_at DESC, c.id DESC) AS n
                FROM (SELECT DISTINCT indicator_id, case_id FROM detection_hit
                      WHERE indicator_id = ANY(%s) AND case_id IS NOT NULL) h
                JOIN cases_case c ON c.id = h.case_id
                WINDOW w AS (PARTITION BY h.indicator_id)
            ) ranked WHERE n <= %s ORDER BY indicator_id, n
            """,
            [Case.Status.RESOLVED, list(ids), LATEST_CASES],
        )
        for indicator_id, case_id, total, open_ in cursor.fetchall():
            found = cases[indicator_id]
            found["total"], found["open"] = total, open_
            found["latest"].append(case_id)
    histories = {}
    for indicator_id in ids:
        hit = hits.get(indicator_id) or {"count": 0, "first": None, "last": None}
        labels = dispositions[indicator_id]
        case = cases[indicator_id]
        histories[indicator_id] = {
            "hits": hit["count"],
            "first_hit_at": _iso(hit["first"]),
            "last_hit_at": _iso(hit["last"]),
            "sources": sorted(sources[indicator_id]),
            "dispositions": labels,
            "labelled_hits": sum(labels.values()),
            "cases": case["total"],
            "open_cases": case["open"],
            "latest_case_ids": case["latest"],
        }
    return histories


@register
class InternalHistory(Enricher):
    """Times seen, sources, prior dispositions and related cases, from TDP's own data."""

    name = "internal_history"
    applies_to = frozenset(IndicatorType.values)
    ttl_seconds = 600
    batchable = True

    def enrich(self, type_: str, value: str) -> dict[str, Any]:
        """History of the stored indicator ``type_``/``value`` (all zero if it is not stored)."""
        indicator_id = (
            Indicator.objects.filter(type=type_, value=value).values_list("pk", flat=True).first()
        )
        return indicator_history(indicator_id if indicator_id is not None else 0)

    def enrich_many(self, indicators: list[Any]) -> dict[int, dict[str, Any] | Exception]:
        """Histories of stored indicators, for the whole batch at once."""
        return dict(indicator_histories([i.pk for i in indicators]))
