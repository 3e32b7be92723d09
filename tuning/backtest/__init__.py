"""Back-tests: replay the stored events of the last N days against a saved or draft rule.

:func:`run_backtest` answers "what would this rule have done?" before anything is enabled:
events read, events with would-be hits, how many of those were already labelled true or false
positive, and the cases it would have opened. It writes nothing — no events, hits, cases or
outbox rows. `manage.py backtest` prints its counts; the back-test page runs it through
:mod:`tuning.backtest.runs` (inline, or on RQ for large ranges).

Pieces: :mod:`~tuning.backtest.changes` (the intel matched, with a pasted change list),
:mod:`~tuning.backtest.replay` (streaming and matching, in forked workers when large),
:mod:`~tuning.backtest.outcome` (labels and the case simulation).
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from detection.matching import IndicatorRef, Matcher
from tuning.backtest.changes import (
    ChangeCounts,
    IndicatorChanges,
    backtest_refs,
    parse_indicator_changes,
)
from tuning.backtest.outcome import count_labels, count_new_cases
from tuning.backtest.replay import default_workers, plan_chunks, replay_chunks, replay_days

__all__ = [
    "SUMMARY_KEYS",
    "BacktestResult",
    "IndicatorChanges",
    "estimate_events",
    "parse_indicator_changes",
    "run_backtest",
]

logger = logging.getLogger(__name__)

SUMMARY_KEYS = (
    "events",
    "would_hit",
    "labelled_true_positive",
    "labelled_false_positive",
    "new_cases",
)
TOP_INDICATORS = 20
SAMPLE_EVENTS = 20


@dataclass
class BacktestResult:
    """What replaying the events would have given (the first five fields are the summary)."""

    events: int = 0
    would_hit: int = 0
    labelled_true_positive: int = 0
    labelled_false_positive: int = 0
    new_cases: int = 0
    hits: int = 0
    since: date | None = None
    until: date | None = None
    indicators: int = 0
    added: int = 0
    already_active: int = 0
    removed: int = 0
    top_indicators: list[tuple[int, str, str, int]] = field(default_factory=list)
    """(id, type, value, events) of the indicators behind most would-be hits; the value is
    only set for indicators the change list added and intel does not hold."""
    sample_events: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, int]:
        """The command's last line: exactly `SUMMARY_KEYS`."""
        return {key: getattr(self, key) for key in SUMMARY_KEYS}

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe (stored on a `BacktestRun`)."""
        return {
            **self.summary(),
            "hits": self.hits,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "indicators": self.indicators,
            "added": self.added,
            "already_active": self.already_active,
            "removed": self.removed,
            "top_indicators": [list(row) for row in self.top_indicators],
            "sample_events": self.sample_events,
            "seconds": round(self.seconds, 2),
        }


def _build_matcher(
    rule: Any, changes: IndicatorChanges | None, counts: ChangeCounts
) -> tuple[list[IndicatorRef], Matcher]:
    """The references matched with, and the matcher over them.

    A million references and index entries hold no reference cycles: a garbage collection
    while they are built would walk them again and again for nothing (a third of the set-up
    time), so the collector pauses meanwhile. The intel is read in one transaction: one
    snapshot, and server-side cursors that need no WITH HOLD copy of their rows.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        with transaction.atomic():
            refs = list(backtest_refs(rule, changes, counts))
        return refs, Matcher.build(refs)
    finally:
        if collecting:
            gc.enable()


def backtest_window(days: int, *, today: date | None = None) -> tuple[date, date]:
    """The received days replayed by a back-test of ``days`` days: today and the days before."""
    if days < 1:
        raise ValueError("a back-test replays at least one day")
    until = today or timezone.now().date()
    return until - timedelta(days=days - 1), until


def estimate_events(days: int) -> int:
    """An upper bound on the events a back-test of ``days`` would read (no table scan)."""
    since, until = backtest_window(days)
    return sum(chunk.size for chunk in plan_chunks(replay_days(since, until)))


def run_backtest(
    rule: Any,
    *,
    days: int,
    changes: IndicatorChanges | None = None,
    workers: int | None = None,
    today: date | None = None,
) -> BacktestResult:
    """Replay the last ``days`` days of stored events against ``rule``; writes nothing.

    ``rule`` is a saved `Rule` (with its sources) or a draft from
    :func:`detection.rules.draft_rule`. The matched intel is the active intel the rule's
    filters accept, changed by ``changes``. ``workers`` defaults to `TDP_BACKTEST_WORKERS`.
    """
    started = time.monotonic()
    result = BacktestResult()
    result.since, result.until = backtest_window(days, today=today)
    counts = ChangeCounts()
    refs, matcher = _build_matcher(rule, changes, counts)
    result.indicators = matcher.size
    result.added, result.already_active = counts.added, counts.already_active
    result.removed = counts.removed
    built = time.monotonic()
    chunks = plan_chunks(replay_days(result.since, result.until))
    # Out of the collector's sight while replaying (and shared copy-on-write by forked
    # workers, whose collectors would otherwise touch, and so copy, every page of it).
    gc.freeze()
    try:
        replayed = replay_chunks(chunks, matcher, rule, workers=workers or default_workers())
    finally:
        gc.unfreeze()
    matched = time.monotonic()
    result.events = replayed.events
    event_ids = {hit.event_id for hit in replayed.hits}
    result.would_hit = len(event_ids)
    result.hits = sum(len(hit.indicator_ids) for hit in replayed.hits)
    result.labelled_true_positive, result.labelled_false_positive = count_labels(event_ids)
    result.new_cases = count_new_cases(rule, replayed.hits)
    per_indicator = Counter(i for hit in replayed.hits for i in hit.indicator_ids)
    top = per_indicator.most_common(TOP_INDICATORS)
    # Stored intel is named by id only (its value is looked up, TLP-checked, when shown);
    # indicators only the change list knows keep the value the user gave.
    new_values = {ref.id: ref.value for ref in refs if ref.id < 0}
    top_ids = dict(top)
    types = {ref.id: ref.type for ref in refs if ref.id in top_ids}
    result.top_indicators = [(id_, types[id_], new_values.get(id_, ""), n) for id_, n in top]
    result.sample_events = sorted(event_ids)[:SAMPLE_EVENTS]
    result.seconds = time.monotonic() - started
    logger.info(
        "back-test of %s: %s indicators built in %.1f s, %s events replayed in %.1f s, "
        "%s would hit",
        getattr(rule, "name", "a draft"),
        result.indicators,
        built - started,
        result.events,
        matched - built,
        result.would_hit,
    )
    return result
