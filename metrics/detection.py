"""Detection quality for the pages: the table rows of a grouping and its volume over time.

Rule, policy and feed rows come from `metrics.precision` (always current). Indicator rows are
the refreshed per-window totals (`IndicatorWindow`), which can be sorted and paged in any
column's order; they are as of the last refresh. Volume series read the day rollups.
"""

from typing import Any

from django.db.models import QuerySet, Sum

from detection.models import Rule
from intel.models import Feed, Indicator
from metrics.models import IndicatorDay, IndicatorWindow, RuleDay, SourceDay
from metrics.periods import Period, day_series
from metrics.precision import QualityRow, quality_rows

SERIES_COLUMNS = ("hits", "true_positive", "false_positive")
SERIES_NAMES = {
    "hits": "Hits",
    "true_positive": "True positive",
    "false_positive": "False positive",
}


def table_rows(by: str, period: Period, user: Any) -> list[QualityRow]:
    """Rows of a rule, policy or feed table over ``period`` (every row, most hits first)."""
    return quality_rows(by, user=user, since=period.since, until=period.until, limit=100_000)


def indicator_windows(period: Period, user: Any) -> QuerySet[IndicatorWindow]:
    """Per-indicator totals over ``period`` (a window), TLP:RED left out for uncleared users."""
    return IndicatorWindow.objects.filter(
        window_days=period.days, indicator__in=Indicator.objects.visible_to(user)
    ).select_related("indicator")


def chart_key(by: str, key: str, user: Any) -> tuple[Any, str] | None:
    """The object a ``key`` names in grouping ``by`` and its display name, None when unknown
    or not visible to ``user`` (so a TLP:RED indicator's series never shows to the uncleared)."""
    if not key:
        return None
    if by == "policy":
        labels = dict(Rule.PolicyLabel.choices)
        return (key, labels[key]) if key in labels else None
    if not key.isdigit():
        return None
    if by == "rule":
        found = Rule.objects.filter(pk=key).first()
        return (found, found.name) if found else None
    if by == "feed":
        found = Feed.objects.filter(pk=key).first()
        return (found, found.name) if found else None
    found = Indicator.objects.visible_to(user).filter(pk=key).first()
    return (found, str(found)) if found else None


def volume(by: str, target: Any, period: Period) -> tuple[list, dict[str, list[float]]]:
    """Hits, TP and FP per bucket of ``period``: of ``target`` (a rule, policy value, feed or
    indicator of grouping ``by``) or, with no target, of every hit."""
    if target is None:
        rows = RuleDay.objects.all()
    elif by == "rule":
        rows = RuleDay.objects.filter(rule=target)
    elif by == "policy":
        rows = RuleDay.objects.filter(rule__in=Rule.objects.filter(policy_label=target))
    elif by == "feed":
        rows = SourceDay.objects.filter(source_id=target.source_id)
    else:
        rows = IndicatorDay.objects.filter(indicator=target)
    found = (
        period.filter_days(rows)
        .values("day")
        .annotate(**{c: Sum(c) for c in SERIES_COLUMNS})
        .order_by("day")
    )
    return day_series(found, period, SERIES_COLUMNS)
