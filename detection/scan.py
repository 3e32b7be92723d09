"""Scanning content events: validate, match against active intel, apply rules, store hits.

:func:`scan_events` is the one path from events to hits; `manage.py scan_content` (and later
the intake API and the demo stream) call it. The matcher is built from
``Indicator.objects.active()`` once per process by :func:`load_matcher` and rebuilt when active
intel changes, checked at most every `TDP_MATCHER_REFRESH_SECONDS`, so new, expired, revoked or
allowlisted intel reaches the stream within about twice that without a restart.

Storing is idempotent: an event already kept (any day in the retention window) is not stored
again, and a hit is unique per (event, rule, indicator) in the database, so scanning the same
events twice, or in two workers at once, never yields a second hit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Value
from django.utils import timezone

from automation.models import Trigger
from automation.outbox import emit_many
from cases.grouping import group_hits
from detection.matching import IndicatorRef, Match, Matcher
from detection.memory import gc_paused
from detection.models import ContentEvent, Hit, Rule
from detection.retention import ensure_partition
from detection.thresholds import apply_thresholds, lock_authors
from intel.models import TLP, Indicator

logger = logging.getLogger(__name__)

MAX_ID_LENGTH = 200

# --- Validation -------------------------------------------------------------------------------

_LISTS_OF_STRINGS = ("urls", "hashtags")
# `Kind.values` builds a new list on every access: ~25 us per event at 10,000 events a batch.
_KINDS = frozenset(ContentEvent.Kind.values)


def validate_event(obj: object) -> tuple[dict[str, Any] | None, str]:
    """``(event, "")`` for a well-formed content event, ``(None, reason)`` otherwise.

    The event is a copy of ``obj`` with ``id`` and the author's id as strings and
    ``occurred_at`` parsed to an aware datetime; optional keys get empty defaults.
    """
    if not isinstance(obj, Mapping):
        return None, "an event is a JSON object"
    event = dict(obj)
    event_id = event.get("id")
    if isinstance(event_id, bool) or not isinstance(event_id, str | int) or event_id == "":
        return None, "id is missing (a string or an integer)"
    event["id"] = str(event_id)
    if len(event["id"]) > MAX_ID_LENGTH:
        return None, f"id is longer than {MAX_ID_LENGTH} characters"
    if event.get("kind") not in _KINDS:
        return None, f"kind must be one of {', '.join(ContentEvent.Kind.values)}"
    raw_time = event.get("occurred_at")
    try:
        occurred_at = datetime.fromisoformat(raw_time) if isinstance(raw_time, str) else None
    except ValueError:
        occurred_at = None
    if occurred_at is None:
        return None, "occurred_at is not an ISO 8601 date and time"
    if timezone.is_naive(occurred_at):
        return None, "occurred_at has no time zone"
    event["occurred_at"] = occurred_at
    author = event.get("author")
    if not isinstance(author, Mapping):
        return None, "author is missing (an object with id and handle)"
    author_id, handle = author.get("id"), author.get("handle", "")
    if isinstance(author_id, bool) or not isinstance(author_id, str | int) or author_id == "":
        return None, "author.id is missing"
    if not isinstance(handle, str) or len(handle) > MAX_ID_LENGTH:
        return None, "author.handle is not a string of at most 200 characters"
    event["author"] = {**author, "id": str(author_id), "handle": handle}
    if len(event["author"]["id"]) > MAX_ID_LENGTH:
        return None, f"author.id is longer than {MAX_ID_LENGTH} characters"
    if not isinstance(event.setdefault("text", ""), str):
        return None, "text is not a string"
    for key in _LISTS_OF_STRINGS:
        value = event.setdefault(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, f"{key} is not a list of strings"
    media = event.setdefault("media", [])
    if not isinstance(media, list) or not all(isinstance(m, Mapping) for m in media):
        return None, "media is not a list of objects"
    if not isinstance(event.setdefault("metadata", {}), Mapping):
        return None, "metadata is not an object"
    return event, ""


# --- The matcher ------------------------------------------------------------------------------


def active_indicator_refs() -> Iterator[IndicatorRef]:
    """Every active indicator as an :class:`IndicatorRef`, streamed, with its source ids."""
    rows = (
        Indicator.objects.active()
        .order_by()
        .annotate(
            source_ids=ArrayAgg(
                "provenance__source_id",
                filter=Q(provenance__source_id__isnull=False),
                default=Value([]),
            )
        )
        .values_list("id", "type", "value", "confidence", "tags", "source_ids")
        .iterator(chunk_size=5000)
    )
    for id_, type_, value, confidence, tags, source_ids in rows:
        yield IndicatorRef(id_, type_, value, confidence, tuple(tags), tuple(source_ids))


def intel_fingerprint() -> tuple[int, datetime | None, int | None]:
    """What changes whenever active intel does: count, last update and newest id.

    Expiry, revocation and allowlisting change the count (and `updated_at`); new or re-rated
    indicators change `updated_at` or the newest id.
    """
    found = Indicator.objects.active().aggregate(n=Count("id"), at=Max("updated_at"), top=Max("id"))
    return found["n"], found["at"], found["top"]


@dataclass
class _CachedMatcher:
    matcher: Matcher
    fingerprint: tuple[int, datetime | None, int | None]
    checked_at: float


_cache: _CachedMatcher | None = None
_cache_lock = threading.Lock()


def load_matcher(*, refresh_seconds: float | None = None) -> Matcher:
    """This process's matcher over active intel, rebuilt when intel changed.

    The cheap fingerprint query runs at most every ``refresh_seconds`` (default
    `TDP_MATCHER_REFRESH_SECONDS`); the rebuild only when the fingerprint moved.
    """
    global _cache
    if refresh_seconds is None:
        refresh_seconds = settings.TDP_MATCHER_REFRESH_SECONDS
    with _cache_lock:  # one rebuild at a time; other threads wait for its result
        cached = _cache
        if cached is not None and time.monotonic() - cached.checked_at < refresh_seconds:
            return cached.matcher
        fingerprint = intel_fingerprint()
        if cached is not None and cached.fingerprint == fingerprint:
            cached.checked_at = time.monotonic()
            return cached.matcher
        started = time.monotonic()
        matcher = Matcher.build(active_indicator_refs())
        logger.info(
            "matcher built: %s indicators in %.1f s", matcher.size, time.monotonic() - started
        )
        _cache = _CachedMatcher(matcher, fingerprint, time.monotonic())
        return matcher


def forget_matcher() -> None:
    """Drop this process's matcher, so the next :func:`load_matcher` builds a fresh one."""
    global _cache
    with _cache_lock:
        _cache = None


# --- Rules ------------------------------------------------------------------------------------


def enabled_rules() -> list[Rule]:
    """Enabled rules, with their sources loaded (:func:`rule_matches` runs no query)."""
    return list(Rule.objects.filter(is_enabled=True).prefetch_related("sources"))


def rule_matches(rule: Rule, match: Match, event: Mapping[str, Any]) -> bool:
    """Whether ``rule`` counts ``match`` in ``event``: type, tags, sources, confidence, kind.

    Each empty filter accepts everything; tags and sources need one value in common.
    """
    ref = match.indicator
    if rule.indicator_types and ref.type not in rule.indicator_types:
        return False
    if rule.event_kinds and event.get("kind") not in rule.event_kinds:
        return False
    if ref.confidence < rule.min_confidence:
        return False
    if rule.tags and not set(rule.tags).intersection(ref.tags):
        return False
    source_ids = {source.pk for source in rule.sources.all()}
    return not source_ids or not source_ids.isdisjoint(ref.source_ids)


# --- Scanning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleMatch:
    """One indicator matched in one event, counted by one rule (a hit, once stored)."""

    event: dict[str, Any]
    rule: Rule
    match: Match

    def as_dict(self) -> dict[str, str]:
        """The dry-run line: event id, rule name, indicator type and value, field."""
        ref = self.match.indicator
        return {
            "event": self.event["id"],
            "rule": self.rule.name,
            "type": ref.type,
            "indicator": ref.value,
            "field": self.match.field,
        }


@dataclass
class ScanResult:
    """What one scan did: events scanned, rejected (position, reason), matches, hits stored.

    The `restricted_*` counts are the part of matches, hits and cases that involve TLP:RED
    intel: users who are not cleared are shown the counts without them.
    """

    events: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    matches: list[RuleMatch] = field(default_factory=list)
    hits: int = 0
    cases: int = 0
    restricted_matches: int = 0
    restricted_hits: int = 0
    restricted_cases: int = 0


def scan_events(
    events: Iterable[object],
    *,
    dry_run: bool,
    matcher: Matcher | None = None,
    now: datetime | None = None,
) -> ScanResult:
    """Validate, match and apply the enabled rules to one batch of events.

    Unless ``dry_run``, the events and their hits are stored in one transaction (nothing is
    written otherwise). Rejected events are reported by position in ``events``; an id seen
    twice in the batch is scanned once.
    """
    with gc_paused():
        return _scan_events(events, dry_run=dry_run, matcher=matcher, now=now)


def _scan_events(
    events: Iterable[object], *, dry_run: bool, matcher: Matcher | None, now: datetime | None
) -> ScanResult:
    result = ScanResult()
    valid: dict[str, dict[str, Any]] = {}
    for index, obj in enumerate(events):
        event, reason = validate_event(obj)
        if event is None:
            result.rejected.append((index, reason))
        else:
            valid.setdefault(event["id"], event)
    result.events = len(valid)
    if not valid:
        return result
    matcher = matcher or load_matcher()
    rules = enabled_rules()
    seen: set[tuple[str, int, int]] = set()
    for event in valid.values():
        for match in matcher.match_event(event):
            for rule in rules:
                key = (event["id"], rule.pk, match.indicator.id)
                if key not in seen and rule_matches(rule, match, event):
                    seen.add(key)
                    result.matches.append(RuleMatch(event, rule, match))
    if result.matches:
        red = set(
            Indicator.objects.filter(
                pk__in={m.match.indicator.id for m in result.matches}, tlp=TLP.RED
            ).values_list("pk", flat=True)
        )
        result.restricted_matches = sum(1 for m in result.matches if m.match.indicator.id in red)
    if not dry_run:
        stored = store_scan(list(valid.values()), result.matches, now=now)
        result.hits, result.cases, result.restricted_hits, result.restricted_cases = stored
    return result


def store_scan(
    events: list[dict[str, Any]], matches: list[RuleMatch], *, now: datetime | None = None
) -> tuple[int, int, int, int]:
    """Store ``events`` (those not kept already), their hits and cases in one transaction;
    returns (hits created, cases opened, of them on TLP:RED intel, of them restricted)."""
    received_at = now or timezone.now()
    ensure_partition(received_at.date())  # committed first: DDL would serialise the batches
    with transaction.atomic():
        days = store_events(events, received_at=received_at)
        return store_hits(matches, days)


def store_events(events: list[dict[str, Any]], *, received_at: datetime) -> dict[str, Any]:
    """Keep the events not kept yet; returns each event id's partition day.

    The partition of ``received_at``'s day must exist (:func:`store_scan` makes sure).
    """
    today = received_at.date()
    ids = [event["id"] for event in events]
    oldest = today - timedelta(days=settings.TDP_EVENT_RETENTION_DAYS)
    with _binary_cursor() as cursor:
        cursor.execute(_KEPT_EVENTS, [ids, oldest], prepare=False)
        kept = dict(cursor.fetchall())
    new = [event for event in events if event["id"] not in kept]
    new.sort(key=lambda e: e["id"])  # one lock order for every worker
    columns = (
        [event["id"] for event in new],
        [event["kind"] for event in new],
        [event["occurred_at"] for event in new],
        [event["author"]["id"] for event in new],
        [event["author"]["handle"] for event in new],
        [event["text"] for event in new],
        [json.dumps(_jsonable(event)) for event in new],
    )
    # One statement of arrays: the ORM's bulk_create spends longer building its VALUES list
    # than Postgres spends storing the rows. A concurrent scan may have stored some of these
    # since: the unique index skips them.
    with _binary_cursor() as cursor:
        cursor.execute(_INSERT_EVENTS, [today, received_at, *columns], prepare=False)
    return {event_id: kept.get(event_id, today) for event_id in ids}


@contextmanager
def _binary_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on Django's connection (same transaction) that binds its parameters on the
    server in binary: Django's client-side binding quotes every element of a 10,000-long
    array through a regex, which took longer than Postgres storing the rows. Errors come out
    as Django's database exceptions, as from Django's own cursors.

    Execute with ``prepare=False``: unnamed statements only, as Django's own cursors (and a
    transaction-pooling PgBouncer) expect.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


_KEPT_EVENTS = """
SELECT event_id, received_day FROM detection_contentevent
WHERE event_id = ANY(%b::varchar[]) AND received_day >= %b
ORDER BY received_day DESC
"""

_INSERT_EVENTS = """
INSERT INTO detection_contentevent (received_day, event_id, kind, occurred_at, author_id,
                                    author_handle, text, payload, received_at)
SELECT %b::date, e.*, %b FROM unnest(%b::varchar[], %b::varchar[], %b::timestamptz[],
                                  %b::varchar[], %b::varchar[], %b::text[], %b::jsonb[]) AS e
ON CONFLICT DO NOTHING
"""

_INSERT_HITS = """
INSERT INTO detection_hit (event_id, event_day, rule_id, indicator_id, field, value, start, "end",
                           author_id, occurred_at, mode, is_over_threshold, created_at)
SELECT *, now() FROM unnest(%b::varchar[], %b::date[], %b::bigint[], %b::bigint[], %b::varchar[],
                            %b::text[], %b::int[], %b::int[], %b::varchar[], %b::timestamptz[],
                            %b::varchar[], %b::boolean[])
ORDER BY 1, 3, 4
ON CONFLICT ON CONSTRAINT hit_event_rule_indicator_uniq DO NOTHING
RETURNING id
"""


def store_hits(matches: list[RuleMatch], days: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """Insert one hit per match unless it exists, and group the new live hits into cases;
    returns (hits created, cases opened, hits on TLP:RED intel, restricted cases opened).

    Hits of threshold rules start below threshold and are promoted by
    :func:`detection.thresholds.apply_thresholds` once their author reaches it (and only then
    join a case).
    """
    live = set(
        Indicator.objects.filter(pk__in={m.match.indicator.id for m in matches}).values_list(
            "pk", flat=True
        )
    )  # an indicator deleted since the matcher was built must not fail the batch
    matches = [m for m in matches if m.match.indicator.id in live]
    if not matches:
        return 0, 0, 0, 0
    counted = {(m.rule.pk, m.event["author"]["id"]) for m in matches if m.rule.threshold > 1}
    lock_authors(counted)
    columns: list[list[Any]] = [[] for _ in range(12)]
    for m in matches:
        obs = m.match.observable
        row = (
            m.event["id"],
            days[m.event["id"]],
            m.rule.pk,
            m.match.indicator.id,
            m.match.field,
            obs.value,
            obs.start if obs.start >= 0 else None,
            obs.end if obs.end >= 0 else None,
            m.event["author"]["id"],
            m.event["occurred_at"],
            m.rule.mode,
            m.rule.threshold == 1,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    with _binary_cursor() as cursor:
        cursor.execute(_INSERT_HITS, columns, prepare=False)
        new_ids = [row[0] for row in cursor.fetchall()]
    if counted:
        spans: dict[tuple[Rule, str], tuple[datetime, datetime]] = {}
        for m in matches:
            if m.rule.threshold > 1:
                key, at = (m.rule, m.event["author"]["id"]), m.event["occurred_at"]
                first, last = spans.get(key, (at, at))
                spans[key] = (min(first, at), max(last, at))
        new_ids.extend(apply_thresholds(spans))
    handles = {m.event["author"]["id"]: m.event["author"]["handle"] for m in matches}
    opened = group_hits(new_ids, handles=handles)
    emit_many(Trigger.HIT_CREATED, "hit", new_ids)  # after grouping: playbooks see the case
    # Hits promoted by a threshold may be older hits on other indicators: ask the hits.
    restricted_hits = (
        Hit.objects.filter(pk__in=set(new_ids), indicator__tlp=TLP.RED).count() if new_ids else 0
    )
    restricted_cases = sum(1 for case in opened if case.is_restricted)
    return len(set(new_ids)), len(opened), restricted_hits, restricted_cases


def _jsonable(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as JSON again (``occurred_at`` back to its ISO form)."""
    return {**event, "occurred_at": event["occurred_at"].isoformat()}
