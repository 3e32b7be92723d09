"""The merge: set-based SQL that moves a staged chunk into indicators and provenance.

`Merger` owns the temporary staging tables of one ingestion and runs, per chunk, COPY → dedupe
→ upsert indicators → upsert provenance, on a background thread after the first chunk.
"""

import queue
import threading
import time
from typing import Any

_TLP_RANK_SQL = "array_position(ARRAY['CLEAR','GREEN','AMBER','AMBER+STRICT','RED']::text[], {})"


# Temp tables live until the transaction ends; a second ingest in the same transaction (a
# caller's outer `atomic`) finds them and starts from empty ones.
_CREATE_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS intel_stage_unique (
    type text, value text, line integer, reference text, confidence smallint,
    tags text[], allowlisted boolean, description text
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_touched (line integer, id bigint) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_merged (
    id bigint, created boolean, changed boolean, new_source boolean
) ON COMMIT DROP;
TRUNCATE intel_stage_unique, intel_touched, intel_merged;
-- Room to sort a chunk and to merge the trigram index's pending list in memory.
SET LOCAL work_mem = '256MB'
"""
_COPY_STAGE = (
    "COPY intel_stage_unique (type, value, line, reference, confidence, tags, allowlisted,"
    " description)"
    " FROM STDIN"
)
_CLEAR_STAGE = "TRUNCATE intel_stage_unique"
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
    ORDER BY s.type, s.value  -- index order: B-tree inserts touch neighbouring pages
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
MERGED_ROWS = """
SELECT id, bool_or(created), NOT bool_or(created) AND (bool_or(changed) OR bool_or(new_source))
FROM intel_merged GROUP BY id
"""
MERGED_SUMMARY = f"""
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE updated)
FROM ({MERGED_ROWS}) AS merged (id, created, updated)
"""  # noqa: S608  (constant SQL)
_RECORD_TOUCHED = (
    "INSERT INTO intel_touched SELECT s.line, i.id FROM intel_stage_unique s"
    " JOIN intel_indicator i ON i.type = s.type AND i.value = s.value"
)
TOUCHED_IDS = "SELECT id FROM intel_touched ORDER BY line"
EXPIRE_MISSING = """
UPDATE intel_indicator i SET status = 'expired', updated_at = %(now)s
FROM intel_indicatorsource p
WHERE p.source_id = %(source_id)s AND p.indicator_id = i.id AND i.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM intel_touched t WHERE t.id = i.id)
  AND NOT EXISTS (
      SELECT 1 FROM intel_indicatorsource o
      WHERE o.indicator_id = i.id AND o.source_id <> %(source_id)s)
"""


class Merger:
    """Runs the staging and merge statements on the transaction's raw psycopg connection.

    Chunks after the first are merged on a background thread, so Python normalises chunk n+1
    while PostgreSQL merges chunk n (psycopg releases the GIL while it waits on the server).
    The main thread does not touch the connection until `finish()` has joined the thread.
    """

    def __init__(self, raw_connection: Any, params: dict[str, Any], collect_ids: bool) -> None:
        self.raw = raw_connection
        self.params = params
        self.collect_ids = collect_ids
        self.timings: dict[str, float] = {"copy": 0.0, "upsert": 0.0, "sources": 0.0}
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
            cursor.execute(_CLEAR_STAGE)
            with cursor.copy(_COPY_STAGE) as copy:
                copy.write(data)
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
