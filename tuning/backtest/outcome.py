"""What a back-test's would-be hits mean: labels they already have, cases they would open.

Labels: a replayed event counts as *labelled true positive* when any hit of any rule on it was
labelled a true positive, otherwise as *labelled false positive* when one was labelled a false
positive (so the two counts never overlap).

New cases are simulated with the rules of :mod:`cases.grouping`, read-only: the rule is taken
as live (a shadow or disabled rule is back-tested as if switched on); for a threshold rule only
the hits of authors reaching the threshold within the window count
(:func:`detection.thresholds.windows_over_threshold`); hits the rule already stored *in a case*
are not new; each remaining hit, in time order, joins an open case of the rule with the same
grouping key whose first hit lies within the group window of it (an existing case, or one the
simulation opened), or opens a new one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from cases.models import Case, Disposition, HitLabel
from detection.models import Hit, Rule
from detection.thresholds import windows_over_threshold
from tuning.backtest.replay import EventHit

_IN_CHUNK = 5000


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def count_labels(event_ids: Iterable[str]) -> tuple[int, int]:
    """``(labelled true positive, labelled false positive)`` among these events."""
    found: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(sorted(set(event_ids))):
        rows = (
            HitLabel.objects.filter(
                hit__event_id__in=chunk,
                disposition__in=[Disposition.TRUE_POSITIVE, Disposition.FALSE_POSITIVE],
            )
            .order_by()
            .values_list("hit__event_id", "disposition")
            .distinct()
        )
        for event_id, disposition in rows:
            found[event_id].add(disposition)
    true_positive = sum(1 for d in found.values() if Disposition.TRUE_POSITIVE in d)
    return true_positive, len(found) - true_positive


def count_new_cases(rule: Any, hits: list[EventHit]) -> int:
    """How many cases grouping these would-be hits would open (see the module docstring)."""
    rows = [(h.occurred_at, h.event_id, h.author_id, i) for h in hits for i in h.indicator_ids]
    if rule.threshold > 1:
        rows = _over_threshold(rows, rule.threshold, timedelta(seconds=rule.window_seconds))
    if rule.pk is not None and rows:
        cased = _already_cased(rule.pk, {row[1] for row in rows})
        rows = [row for row in rows if (row[1], row[3]) not in cased]
    if not rows:
        return 0
    rows.sort(key=lambda row: (row[0], row[1], row[3]))
    window = timedelta(seconds=rule.group_window_seconds)
    keys = {_key(rule.grouping, row) for row in rows}
    firsts: dict[str, list[datetime]] = defaultdict(list)  # first hit time of each open case
    if rule.pk is not None:
        for chunk in _chunks(sorted(keys)):
            existing = (
                Case.objects.open()
                .filter(rule_id=rule.pk, group_key__in=chunk)
                .values_list("group_key", "first_hit_at")
            )
            for key, first_hit_at in existing:
                firsts[key].append(first_hit_at)
    opened = 0
    for row in rows:
        key = _key(rule.grouping, row)
        at = row[0]
        if not any(abs(at - first) <= window for first in firsts[key]):
            firsts[key].append(at)
            opened += 1
    return opened


def _key(grouping: str, row: tuple[datetime, str, str, int]) -> str:
    """The case grouping key of one hit row, as :mod:`cases.grouping` computes it."""
    if grouping == Rule.Grouping.PER_INDICATOR:
        return str(row[3])
    if grouping == Rule.Grouping.PER_EVENT:
        return row[1][:200]
    return row[2][:200]


def _over_threshold(
    rows: list[tuple[datetime, str, str, int]], threshold: int, window: timedelta
) -> list[tuple[datetime, str, str, int]]:
    """The rows of authors with ``threshold`` distinct indicators within ``window``."""
    by_author: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_author[row[2]].append(index)
    keep: set[int] = set()
    for indexes in by_author.values():
        ordered = sorted(indexes, key=lambda i: rows[i][0])
        keep |= windows_over_threshold(
            [(i, rows[i][3], rows[i][0]) for i in ordered], threshold, window
        )
    return [rows[i] for i in sorted(keep)]


def _already_cased(rule_id: int, event_ids: set[str]) -> set[tuple[str, int]]:
    """``(event id, indicator id)`` of this rule's stored hits that sit in a case."""
    cased: set[tuple[str, int]] = set()
    for chunk in _chunks(sorted(event_ids)):
        cased.update(
            Hit.objects.filter(rule_id=rule_id, event_id__in=chunk, case__isnull=False)
            .order_by()
            .values_list("event_id", "indicator_id")
        )
    return cased
