"""The one ingestion path: every way intel arrives (form, paste, upload, CLI, feed, API) ends here.

`ingest()` takes parsed rows, normalises each value (`intel.normalize`), checks the allowlist,
and streams the good rows in chunks into a temporary staging table with COPY; each chunk is
merged into the indicator and provenance tables by set-based upserts. While the database merges
one chunk, a second thread's worth of Python normalises the next, so the two cores overlap.
Memory stays flat however large the input, one transaction makes the whole batch land or none
of it, and re-ingesting the same rows creates nothing (unique (type, value) and
(indicator, source) constraints + upsert).

Counting: `created` are new indicators; `updated` existing ones whose confidence, TLP, tags or
status changed, or that this source reports for the first time; `unchanged` only had their last
seen / expiry moved forward. `rejected` rows failed parsing or normalisation (with line and
reason, up to 20 samples in `errors`); `skipped` rows were valid but not intel.
"""

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from intel.allowlist import AllowlistMatcher
from intel.models import DEFAULT_TTL_DAYS, TLP, Indicator, Severity, Source
from intel.normalize import NormalizationError, normalize
from intel.parsers import ParsedRow, Rejected, Skipped
from tdp import audit

logger = logging.getLogger(__name__)

MAX_ERROR_SAMPLES = 20
# Batches up to this size get one audit entry per created/changed indicator; larger imports get
# one summary entry on their source (a million audit rows would drown the trail).
PER_INDICATOR_AUDIT_LIMIT = 1000
# Rows per COPY + merge round; two chunks are in memory at most (one staging, one merging).
CHUNK_ROWS = 100_000
_TLP_RANK_SQL = "array_position(ARRAY['CLEAR','GREEN','AMBER','AMBER+STRICT','RED']::text[], {})"


@dataclass
class IngestSpec:
    """What the caller says about a batch: its source and the defaults for its indicators."""

    source: Source
    type: str | None = None  # force every row to this type (e.g. pdq, which looks like sha256)
    confidence: int | None = None
    tlp: str | None = None
    severity: str = Severity.MEDIUM
    tags: list[str] = field(default_factory=list)
    ttl_days: int | None = None
    description: str = ""
    # A snapshot is the source's whole current list: its indicators missing from the batch
    # (and reported by no other source) expire.
    snapshot: bool = False


@dataclass
class IngestResult:
    """Counts of one ingestion, as the CLI prints them and FeedRun rows keep them."""

    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    allowlisted: int = 0
    expired: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    indicator_ids: list[int] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        """Count a rejected row and keep a sample of the first reasons."""
        self.rejected += 1
        if len(self.errors) < MAX_ERROR_SAMPLES:
            self.errors.append({"line": line, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary (the contract of `import_intel`'s last line)."""
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "allowlisted": self.allowlisted,
            "expired": self.expired,
            "errors": self.errors,
        }


def _clean_tags(tags: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        text = str(tag).strip().lower()[:64]
        if text and text != "none":
            seen[text] = None
    return sorted(seen)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})


def _copy_text(text: str) -> str:
    """Escape a value for COPY's text format (the common clean value is returned as is)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text or "\x00" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def _array_literal(tags: list[str]) -> str:
    """A PostgreSQL text[] literal for COPY, every element quoted."""
    quoted = ('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in tags)
    return _copy_text("{" + ",".join(quoted) + "}")


def _copy_chunks(
    rows: Iterable[ParsedRow | Rejected | Skipped],
    spec: IngestSpec,
    result: IngestResult,
    matcher: AllowlistMatcher,
) -> Iterator[tuple[str, int]]:
    """Normalise and allowlist-check each row; yield (COPY text, row count) per chunk.

    Counts rejected and skipped rows on `result`. Never touches the database: it runs while
    another thread merges the previous chunk on the connection.
    """
    confidence = spec.confidence if spec.confidence is not None else spec.source.default_confidence
    base_tags = _clean_tags(spec.tags)
    tag_literals: dict[tuple[str, ...], str] = {tuple(base_tags): _array_literal(base_tags)}
    base_literal = tag_literals[tuple(base_tags)]
    default_description = _copy_text(spec.description[:2000])
    lines: list[str] = []
    for row in rows:
        if row.__class__ is Skipped:
            result.skipped += 1
            continue
        result.received += 1
        if row.__class__ is Rejected:
            result.reject(row.line, row.reason)
            continue
        try:
            indicator_type, value = normalize(row.value, spec.type or row.type)
        except NormalizationError as exc:
            result.reject(row.line, exc.reason)
            continue
        tags_literal, confidence_here, description = base_literal, confidence, default_description
        fields = row.fields
        if fields:
            if fields.get("tags"):
                tags = _clean_tags([*base_tags, *fields["tags"]])
                key = tuple(tags)
                tags_literal = tag_literals.get(key) or tag_literals.setdefault(
                    key, _array_literal(tags)
                )
            row_confidence = fields.get("confidence")
            if isinstance(row_confidence, int) and 0 <= row_confidence <= 100:
                confidence_here = row_confidence
            if fields.get("description"):
                description = _copy_text(str(fields["description"])[:2000])
        allowlisted = "f"
        if matcher.match(indicator_type, value) is not None:
            allowlisted = "t"
            result.allowlisted += 1
        reference = _copy_text(row.reference[:1000]) if row.reference else "\\N"
        lines.append(
            f"{indicator_type}\t{_copy_text(value)}\t{row.line}\t{reference}\t{confidence_here}"
            f"\t{tags_literal}\t{allowlisted}\t{description}\n"
        )
        if len(lines) >= CHUNK_ROWS:
            yield "".join(lines), len(lines)
            lines = []
    if lines:
        yield "".join(lines), len(lines)


# Temp tables live until the transaction ends; a second ingest in the same transaction (a
# caller's outer `atomic`) finds them and starts from empty ones.
_CREATE_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS intel_stage (
    type text, value text, line integer, reference text, confidence smallint,
    tags text[], allowlisted boolean, description text
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_stage_unique (LIKE intel_stage) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_touched (line integer, id bigint) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_merged (
    id bigint, created boolean, changed boolean, new_source boolean
) ON COMMIT DROP;
TRUNCATE intel_stage, intel_stage_unique, intel_touched, intel_merged
"""
_COPY_STAGE = (
    "COPY intel_stage (type, value, line, reference, confidence, tags, allowlisted, description)"
    " FROM STDIN"
)
_DEDUPE = """
TRUNCATE intel_stage_unique;
INSERT INTO intel_stage_unique
SELECT DISTINCT ON (type, value) * FROM intel_stage ORDER BY type, value, line;
TRUNCATE intel_stage
"""
_TLP_RAISED = f"{_TLP_RANK_SQL.format('EXCLUDED.tlp')} > {_TLP_RANK_SQL.format('i.tlp')}"
_STATUS_CHANGES = """(i.status <> 'revoked' AND i.status <> EXCLUDED.status
                AND NOT (i.status = 'active' AND EXCLUDED.status = 'active'))"""
_MATERIAL_CHANGE = f"""(EXCLUDED.confidence > i.confidence OR {_TLP_RAISED}
        OR NOT (EXCLUDED.tags <@ i.tags) OR {_STATUS_CHANGES})"""
# A re-report inside the "seen" resolution with nothing new is a no-op: the row is not rewritten,
# so re-pulling an unchanged feed costs index look-ups, not a new version of every row.
_UPSERT_INDICATORS = f"""
WITH upserted AS (
    INSERT INTO intel_indicator AS i (
        type, value, status, confidence, severity, tlp, tags, description,
        first_seen_at, last_seen_at, expires_at, created_at, updated_at)
    SELECT s.type, s.value,
           CASE WHEN s.allowlisted THEN 'allowlisted' ELSE 'active' END,
           s.confidence, %(severity)s, %(tlp)s, s.tags, s.description,
           %(now)s, %(now)s, (%(expiry)s::jsonb ->> s.type)::timestamptz, %(now)s, %(now)s
    FROM intel_stage_unique s
    ON CONFLICT (type, value) DO UPDATE SET
        last_seen_at = EXCLUDED.last_seen_at,
        expires_at = GREATEST(i.expires_at, EXCLUDED.expires_at),
        confidence = GREATEST(i.confidence, EXCLUDED.confidence),
        tlp = CASE WHEN {_TLP_RAISED} THEN EXCLUDED.tlp ELSE i.tlp END,
        tags = CASE WHEN EXCLUDED.tags <@ i.tags THEN i.tags
                    ELSE ARRAY(SELECT DISTINCT t FROM unnest(i.tags || EXCLUDED.tags) t ORDER BY t)
               END,
        status = CASE
            WHEN i.status = 'revoked' THEN i.status
            WHEN EXCLUDED.status = 'allowlisted' THEN 'allowlisted'
            WHEN i.status IN ('expired', 'allowlisted') THEN 'active'
            ELSE i.status END,
        updated_at = CASE WHEN {_MATERIAL_CHANGE} THEN EXCLUDED.updated_at ELSE i.updated_at END
    WHERE {_MATERIAL_CHANGE} OR i.last_seen_at < %(seen_before)s
    RETURNING i.id, (xmax = 0) AS created, (i.updated_at = %(now)s) AS changed
)
INSERT INTO intel_merged SELECT id, created, changed, false FROM upserted
"""  # noqa: S608  (only constant SQL fragments are interpolated)
_UPSERT_PROVENANCE = """
WITH reported AS (
    INSERT INTO intel_indicatorsource AS p (
        indicator_id, source_id, first_seen_at, last_seen_at, confidence, reference)
    SELECT i.id, %(source_id)s, %(now)s, %(now)s, s.confidence,
           COALESCE(s.reference, 'line ' || s.line)
    FROM intel_stage_unique s JOIN intel_indicator i ON i.type = s.type AND i.value = s.value
    ON CONFLICT (indicator_id, source_id) DO UPDATE SET
        last_seen_at = EXCLUDED.last_seen_at,
        confidence = EXCLUDED.confidence,
        reference = EXCLUDED.reference
    WHERE p.last_seen_at < %(seen_before)s OR p.confidence <> EXCLUDED.confidence
    RETURNING p.indicator_id AS id, (xmax = 0) AS new_source
)
INSERT INTO intel_merged SELECT id, false, false, true FROM reported WHERE new_source
"""
# One row per touched indicator, whichever chunks and statements touched it.
_MERGED_ROWS = """
SELECT id, bool_or(created), NOT bool_or(created) AND (bool_or(changed) OR bool_or(new_source))
FROM intel_merged GROUP BY id
"""
_MERGED_SUMMARY = f"""
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE updated)
FROM ({_MERGED_ROWS}) AS merged (id, created, updated)
"""  # noqa: S608  (constant SQL)
_RECORD_TOUCHED = (
    "INSERT INTO intel_touched SELECT s.line, i.id FROM intel_stage_unique s"
    " JOIN intel_indicator i ON i.type = s.type AND i.value = s.value"
)
_TOUCHED_IDS = "SELECT id FROM intel_touched ORDER BY line"
_EXPIRE_MISSING = """
UPDATE intel_indicator i SET status = 'expired', updated_at = %(now)s
FROM intel_indicatorsource p
WHERE p.source_id = %(source_id)s AND p.indicator_id = i.id AND i.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM intel_touched t WHERE t.id = i.id)
  AND NOT EXISTS (
      SELECT 1 FROM intel_indicatorsource o
      WHERE o.indicator_id = i.id AND o.source_id <> %(source_id)s)
"""


class _Merger:
    """Runs the staging and merge statements on the transaction's raw psycopg connection.

    Chunks after the first are merged on a background thread, so Python normalises chunk n+1
    while PostgreSQL merges chunk n (psycopg releases the GIL while it waits on the server).
    The main thread does not touch the connection until `finish()` has joined the thread.
    """

    def __init__(self, raw_connection: Any, params: dict[str, Any], collect_ids: bool) -> None:
        self.raw = raw_connection
        self.params = params
        self.collect_ids = collect_ids
        self.timings: dict[str, float] = {"copy": 0.0, "dedupe": 0.0, "upsert": 0.0, "sources": 0.0}
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.cancelled = False
        with self.raw.cursor() as cursor:
            cursor.execute(_CREATE_TABLES)

    def merge(self, data: str) -> None:
        """Stage one chunk with COPY and merge it."""
        marks = [time.perf_counter()]
        with self.raw.cursor() as cursor:
            with cursor.copy(_COPY_STAGE) as copy:
                copy.write(data)
            marks.append(time.perf_counter())
            cursor.execute(_DEDUPE)
            marks.append(time.perf_counter())
            cursor.execute(_UPSERT_INDICATORS, self.params)
            marks.append(time.perf_counter())
            cursor.execute(_UPSERT_PROVENANCE, self.params)
            if self.collect_ids:
                cursor.execute(_RECORD_TOUCHED)
            marks.append(time.perf_counter())
        for name, start, end in zip(self.timings, marks, marks[1:], strict=False):
            self.timings[name] += end - start

    def _work(self) -> None:
        while True:
            data = self.queue.get()
            if data is None:
                return
            if self.error is None and not self.cancelled:
                try:
                    self.merge(data)
                except BaseException as exc:
                    self.error = exc

    def submit(self, data: str) -> None:
        """Hand a chunk to the background thread (blocks while one is still waiting)."""
        if self.error is not None:
            raise self.error
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name="ingest-merge", daemon=True)
            self.thread.start()
        self.queue.put(data)

    def finish(self, last: str | None) -> None:
        """Wait for the background merges, then merge the last chunk here; re-raise errors."""
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error
        if last is not None:
            self.merge(last)

    def abort(self) -> None:
        """Stop the background thread before the transaction is rolled back.

        A merge still running when the caller's `atomic` block rolls back would otherwise run
        its next statements outside the transaction.
        """
        self.cancelled = True
        if self.thread is not None:
            while True:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    break
            self.queue.put(None)
            self.thread.join()
            self.thread = None

    def execute(self, sql: str) -> int:
        """Run a write statement with the merge parameters; return its row count."""
        with self.raw.cursor() as cursor:
            cursor.execute(sql, self.params)
            return cursor.rowcount

    def fetch(self, sql: str) -> list[tuple]:
        """Run a read query on the transaction's connection."""
        with self.raw.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()


def ingest(
    rows: Iterable[ParsedRow | Rejected | Skipped],
    spec: IngestSpec,
    *,
    actor: Any = None,
    collect_ids: bool = False,
) -> IngestResult:
    """Normalise, deduplicate and store `rows` as indicators from `spec.source`.

    Runs in one transaction. Returns the counts; with `collect_ids` also the ids of the
    indicators the batch touched, in input order (for callers that show or enqueue them).
    """
    result = IngestResult()
    now = timezone.now()
    ttl_override = spec.ttl_days if spec.ttl_days is not None else spec.source.ttl_days
    params = {
        "now": now,
        "seen_before": now - settings.TDP_SEEN_RESOLUTION,
        "severity": spec.severity,
        "tlp": spec.tlp or spec.source.default_tlp or TLP.AMBER,
        "source_id": spec.source.pk,
        "expiry": json.dumps(
            {
                name: (
                    now + timedelta(days=ttl_override if ttl_override is not None else days)
                ).isoformat()
                for name, days in DEFAULT_TTL_DAYS.items()
            }
        ),
    }
    matcher = AllowlistMatcher.load()
    started = time.perf_counter()
    with transaction.atomic():
        connection.ensure_connection()
        merger = _Merger(connection.connection, params, collect_ids or spec.snapshot)
        staged = 0
        pending: str | None = None
        try:
            for data, count in _copy_chunks(rows, spec, result, matcher):
                staged += count
                if pending is not None:
                    merger.submit(pending)
                pending = data
        except BaseException:
            merger.abort()
            raise
        merger.finish(pending)
        merged: list[tuple] = []
        if staged:
            if staged <= PER_INDICATOR_AUDIT_LIMIT or collect_ids:
                merged = merger.fetch(_MERGED_ROWS)
                result.created = sum(1 for _, created, _ in merged if created)
                result.updated = sum(1 for _, _, updated in merged if updated)
            else:
                result.created, result.updated = merger.fetch(_MERGED_SUMMARY)[0]
            # Everything staged that neither created nor changed an indicator, including rows
            # repeated inside the batch, was re-reported unchanged.
            result.unchanged = staged - result.created - result.updated
            if collect_ids:
                result.indicator_ids = [pk for (pk,) in merger.fetch(_TOUCHED_IDS)]
            if staged <= PER_INDICATOR_AUDIT_LIMIT:
                _audit_each(merged, spec, actor)
        if spec.snapshot and (staged or result.rejected == 0):
            # An empty snapshot that was read cleanly really is empty; a file whose every row was
            # rejected is more likely broken than a feed that emptied out, so nothing expires.
            result.expired = merger.execute(_EXPIRE_MISSING)
        audit.record(
            "intel.ingest",
            spec.source,
            actor=actor,
            changes={k: v for k, v in result.as_dict().items() if k != "errors"},
            note=f"{result.received} rows received",
        )
    logger.debug(
        "ingest phases source=%s total=%.2fs %s",
        spec.source.pk,
        time.perf_counter() - started,
        " ".join(f"{name}={seconds:.2f}s" for name, seconds in merger.timings.items()),
    )
    logger.info(
        "ingested source=%s received=%s created=%s updated=%s unchanged=%s rejected=%s",
        spec.source.pk,
        result.received,
        result.created,
        result.updated,
        result.unchanged,
        result.rejected,
    )
    return result


def _audit_each(merged: list[tuple], spec: IngestSpec, actor: Any) -> None:
    changed = {pk: created for pk, created, updated in merged if created or updated}
    if not changed:
        return
    for indicator in Indicator.objects.filter(pk__in=changed):
        audit.record(
            "indicator.create" if changed[indicator.pk] else "indicator.report",
            indicator,
            actor=actor,
            changes={"status": [None, indicator.status]} if changed[indicator.pk] else {},
            note=f"reported by {spec.source.name}",
        )


def manual_source(kind: str = Source.Kind.MANUAL, name: str = "Manual entry") -> Source:
    """The shared source for intel that analysts add by hand (form, paste, upload)."""
    source, _ = Source.objects.get_or_create(name=name, defaults={"kind": kind})
    return source
