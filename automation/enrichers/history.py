"""The `internal_history` enricher: what TDP itself already knows about an indicator.

How often it was hit and when, which sources report it, how analysts labelled the hits on it
before (per disposition) and which cases it took part in. Everything comes from our own
database, so it is cheap, applies to every type and is refreshed often.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q

from automation.enrichers.base import Enricher, register
from cases.models import Case, HitLabel
from detection.models import Hit
from intel.models import Indicator, IndicatorSource, IndicatorType

LATEST_CASES = 10


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def indicator_history(indicator_id: int) -> dict[str, Any]:
    """Hits, sources, prior dispositions and related cases of one indicator, as JSON data."""
    hits = Hit.objects.filter(indicator_id=indicator_id).aggregate(
        count=Count("id"), first=Min("occurred_at"), last=Max("occurred_at")
    )
    sources = sorted(
        IndicatorSource.objects.filter(indicator_id=indicator_id).values_list(
            "source__name", flat=True
        )
    )
    dispositions = dict(
        HitLabel.objects.filter(indicator_id=indicator_id)
        .values("disposition")
        .annotate(n=Count("pk"))
        .values_list("disposition", "n")
        .order_by("disposition")
    )
    cases = Case.objects.filter(
        pk__in=Hit.objects.filter(indicator_id=indicator_id, case__isnull=False).values("case_id")
    )
    case_counts = cases.aggregate(
        total=Count("pk"), open=Count("pk", filter=~Q(status=Case.Status.RESOLVED))
    )
    latest = list(cases.order_by("-created_at", "-pk").values_list("pk", flat=True)[:LATEST_CASES])
    return {
        "hits": hits["count"],
        "first_hit_at": _iso(hits["first"]),
        "last_hit_at": _iso(hits["last"]),
        "sources": sources,
        "dispositions": dispositions,
        "labelled_hits": sum(dispositions.values()),
        "cases": case_counts["total"],
        "open_cases": case_counts["open"],
        "latest_case_ids": latest,
    }


@register
class InternalHistory(Enricher):
    """Times seen, sources, prior dispositions and related cases, from TDP's own data."""

    name = "internal_history"
    applies_to = frozenset(IndicatorType.values)
    ttl_seconds = 600

    def enrich(self, type_: str, value: str) -> dict[str, Any]:
        """History of the stored indicator ``type_``/``value`` (all zero if it is not stored)."""
        indicator_id = (
            Indicator.objects.filter(type=type_, value=value).values_list("pk", flat=True).first()
        )
        return indicator_history(indicator_id if indicator_id is not None else 0)
