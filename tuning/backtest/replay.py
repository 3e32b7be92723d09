"""Replaying stored content events against one rule: stream, match, keep the matching events.

The events of the chosen days are read in chunks of about `CHUNK_EVENTS` (one day's id range
cut in pieces, read by the day + id primary key) through server-side cursors, matched with the
one matcher (:meth:`detection.matching.Matcher.match_event`) and filtered by
:func:`detection.scan.rule_matches` — the scanner's own pieces, without `scan_events`, which
validates and stores. Nothing is written.

Large replays run the chunks in forked worker processes (`TDP_BACKTEST_WORKERS`): the matcher
is built once in the parent and shared copy-on-write (the caller freezes it with ``gc.freeze``
first, so the children's garbage collector never touches, and so copies, its pages); each
child opens its own database connection per chunk. Replays with one worker (page runs within a
request), of one chunk, or inside a transaction (tests) run in this process.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

from detection.matching import Matcher
from detection.scan import rule_matches

logger = logging.getLogger(__name__)

CHUNK_EVENTS = 50_000
FETCH_ROWS = 2000


@dataclass(frozen=True)
class Chunk:
    """Events of one day with ``lo <= id < hi``."""

    day: date
    lo: int
    hi: int

    @property
    def size(self) -> int:
        """An upper bound on the events in the chunk (ids are dense within a day)."""
        return self.hi - self.lo


@dataclass(frozen=True)
class EventHit:
    """One replayed event the rule would have hit, with the indicators it matched."""

    event_id: str
    day: date
    author_id: str
    author_handle: str
    occurred_at: datetime
    indicator_ids: tuple[int, ...]


@dataclass
class ReplayResult:
    """Events read and the ones with would-be hits."""

    events: int = 0
    hits: list[EventHit] = field(default_factory=list)

    def merge(self, other: ReplayResult) -> None:
        """Add another chunk's result to this one."""
        self.events += other.events
        self.hits.extend(other.hits)


def replay_days(since: date, until: date) -> list[date]:
    """The days from ``since`` to ``until`` inclusive, oldest first."""
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


def plan_chunks(days: Iterable[date]) -> list[Chunk]:
    """Cut each day's stored events into id ranges of about `CHUNK_EVENTS`.

    One cheap primary-key lookup per day (min and max id); days without a partition or
    without events give no chunk.
    """
    chunks: list[Chunk] = []
    with connection.cursor() as cursor:
        for day in days:
            cursor.execute(
                "SELECT min(id), max(id) FROM detection_contentevent WHERE received_day = %s",
                [day],
            )
            lo, hi = cursor.fetchone()
            if lo is None:
                continue
            for start in range(lo, hi + 1, CHUNK_EVENTS):
                chunks.append(Chunk(day, start, min(start + CHUNK_EVENTS, hi + 1)))
    return chunks


def replay_chunks(
    chunks: list[Chunk], matcher: Matcher, rule: Any, *, workers: int = 1
) -> ReplayResult:
    """Match every event of ``chunks`` with ``matcher`` and keep those ``rule`` counts.

    With ``workers`` > 1, and outside a transaction, the chunks are shared out among that many
    forked processes.
    """
    result = ReplayResult()
    workers = min(workers, len(chunks))
    if workers <= 1 or connection.in_atomic_block:
        for chunk in chunks:
            result.merge(replay_chunk(chunk, matcher, rule))
        return result
    global _shared
    _shared = (matcher, rule)
    connections.close_all()  # a forked child must never use the parent's connection
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_reset_signals)
    try:
        for part in pool.imap_unordered(_replay_in_child, chunks):
            result.merge(part)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        _shared = None
    return result


def _reset_signals() -> None:
    """Pool initializer: the default SIGTERM and SIGINT handling, whatever the parent installed
    (an RQ worker's handlers would turn the pool's terminate into a "warm shutdown" that never
    ends the child)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


_shared: tuple[Matcher, Any] | None = None

# Only what the matcher reads (detection.observables: text, urls, the author's handle,
# hashtags, media) and rule_matches (kind): the text and handle as columns, the three lists as
# one small JSON array. Decoding each whole payload, and converting every row's timestamp,
# cost more than matching does; the author and time are fetched for the matching events only.
_SELECT = (
    "SELECT id, event_id, kind, author_handle, text, "
    "jsonb_build_array(payload->'urls', payload->'hashtags', payload->'media') "
    "FROM detection_contentevent WHERE received_day = %s AND id >= %s AND id < %s"
)
_SELECT_FOUND = (
    "SELECT id, author_id, occurred_at FROM detection_contentevent "
    "WHERE received_day = %s AND id = ANY(%s)"
)


def replay_chunk(chunk: Chunk, matcher: Matcher, rule: Any) -> ReplayResult:
    """Match the events of one chunk (read with a server-side cursor)."""
    result = ReplayResult()
    kinds = set(rule.event_kinds)
    match_event = matcher.match_event
    loads = json.loads  # Django has psycopg hand jsonb over as text
    found: dict[int, tuple[str, str, tuple[int, ...]]] = {}
    # Inside a transaction the server-side cursor needs no WITH HOLD copy of its rows.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_SELECT, [chunk.day, chunk.lo, chunk.hi])
        while rows := cursor.fetchmany(FETCH_ROWS):
            result.events += len(rows)
            for pk, event_id, kind, handle, text, lists in rows:
                if kinds and kind not in kinds:
                    continue
                urls, hashtags, media = loads(lists)
                event = {
                    "id": event_id,
                    "kind": kind,
                    "text": text,
                    "author": {"handle": handle},
                    "urls": urls,
                    "hashtags": hashtags,
                    "media": media,
                }
                matches = match_event(event)
                if not matches:
                    continue
                counted = tuple(
                    dict.fromkeys(m.indicator.id for m in matches if rule_matches(rule, m, event))
                )
                if counted:
                    found[pk] = (event_id, handle, counted)
    if found:
        with connection.cursor() as cursor:
            cursor.execute(_SELECT_FOUND, [chunk.day, list(found)])
            for pk, author_id, occurred_at in cursor.fetchall():
                event_id, handle, counted = found[pk]
                result.hits.append(
                    EventHit(event_id, chunk.day, author_id, handle, occurred_at, counted)
                )
    return result


def _replay_in_child(chunk: Chunk) -> ReplayResult:
    """Pool task: replay one chunk with the parent's matcher, on a connection of its own."""
    assert _shared is not None
    matcher, rule = _shared
    try:
        return replay_chunk(chunk, matcher, rule)
    finally:
        connections.close_all()


def default_workers() -> int:
    """`TDP_BACKTEST_WORKERS`, or one per CPU core when it is 0."""
    return settings.TDP_BACKTEST_WORKERS or os.cpu_count() or 1
