"""The merge: set-based SQL that moves a staged chunk into indicators and provenance.

`Merger` owns the temporary staging tables of one ingestion and runs, per chunk, COPY → look up
the known values (and number the new ones) → insert the new ones → update the known ones that
changed → provenance, on a background thread after the first chunk.

Where the time goes on a large first import is index maintenance, so the statements avoid every
other cost they can: one index probe per staged value (never a hash of the whole indicator
table), ids drawn from the sequence during the look-up (no join back from RETURNING), plain
inserts of the provenance of new indicators (nobody else can have reported an indicator this
transaction has not committed yet), and counts from a small table of what changed.
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
    tags varchar(64)[], allowlisted boolean, description text, tlp text
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_chunk (
    type text, value text, line integer, reference text, confidence smallint,
    tags varchar(64)[], allowlisted boolean, description text, tlp text,
    id bigint, old_confidence smallint, old_tlp text, old_tags varchar(64)[], old_status text,
    old_last_seen timestamptz, created boolean NOT NULL DEFAULT false,
    needs_update boolean NOT NULL DEFAULT false
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_touched (line integer, id bigint) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS intel_merged (
    id bigint, created boolean, changed boolean, new_source boolean
) ON COMMIT DROP;
TRUNCATE intel_stage_unique, intel_chunk, intel_touched, intel_merged;
-- Room to sort a chunk and to merge the trigram index's pending list in memory.
SET LOCAL work_mem = '256MB'
"""
_COPY_STAGE = (
    "COPY intel_stage_unique (type, value, line, reference, confidence, tags, allowlisted,"
    " description, tlp)"
    " FROM STDIN"
)
_CLEAR_STAGE = "TRUNCATE intel_stage_unique, intel_chunk"


def _tlp_rank(expression: str) -> str:
    return _TLP_RANK_SQL.format(expression)


def _material_change(old: str, new_status: str) -> str:
    """SQL: the staged row `c` brings something new compared with the columns named `old*`."""
    return f"""(c.confidence > {old}confidence OR {_tlp_rank("c.tlp")} > {_tlp_rank(old + "tlp")}
        OR NOT (c.tags <@ {old}tags)
        OR ({old}status <> 'revoked' AND {old}status <> {new_status}
            AND NOT ({old}status = 'active' AND {new_status} = 'active')))"""


_STAGED_STATUS = "(CASE WHEN c.allowlisted THEN 'allowlisted' ELSE 'active' END)"
# Known values are rewritten only when they bring something new or their last-seen time is
# older than the seen resolution: re-pulling an unchanged feed rewrites nothing.
_NEEDS_UPDATE = f"({_material_change('i.', _STAGED_STATUS)} OR i.last_seen_at < %(seen_before)s)"
# 1. One index probe per staged value, in (type, value) order, finds its indicator and the
# columns a change depends on (the LATERAL ... LIMIT 1 keeps it a probe: a hash join would read
# the whole indicator table for every chunk). A new value gets its id from the sequence here, in
# the same order, so the insert needs no join back to learn it.
_LOOK_UP = f"""
INSERT INTO intel_chunk
SELECT c.*, COALESCE(i.id, nextval(%(sequence)s::regclass)), i.confidence, i.tlp, i.tags,
       i.status, i.last_seen_at, i.id IS NULL, i.id IS NOT NULL AND {_NEEDS_UPDATE}
FROM (SELECT * FROM intel_stage_unique ORDER BY type, value) c
LEFT JOIN LATERAL (
    SELECT * FROM intel_indicator i WHERE i.type = c.type AND i.value = c.value LIMIT 1
) i ON true
"""  # noqa: S608  (only constant SQL fragments are interpolated)
_CHUNK_COUNTS = (
    "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE needs_update) FROM intel_chunk"
)
# 2. New values, in id (= index) order, so B-tree inserts touch neighbouring pages. A value
# another transaction inserted meanwhile is skipped here and picked up by _LOOK_UP_RACED.
_INSERT_NEW = f"""
INSERT INTO intel_indicator AS i (
    id, type, value, status, confidence, severity, tlp, tags, description,
    first_seen_at, last_seen_at, expires_at, created_at, updated_at)
SELECT c.id, c.type, c.value, {_STAGED_STATUS},
       c.confidence, %(severity)s, c.tlp, c.tags, c.description,
       %(now)s, %(now)s, (%(expiry)s::jsonb ->> c.type)::timestamptz, %(now)s, %(now)s
FROM intel_chunk c
WHERE c.created
ORDER BY c.id
ON CONFLICT (type, value) DO NOTHING
"""  # noqa: S608  (only constant SQL fragments are interpolated)
_LOOK_UP_RACED = f"""
UPDATE intel_chunk c SET id = i.id, created = false, old_confidence = i.confidence,
    old_tlp = i.tlp, old_tags = i.tags, old_status = i.status, old_last_seen = i.last_seen_at,
    needs_update = {_NEEDS_UPDATE}
FROM intel_indicator i
WHERE c.created AND i.type = c.type AND i.value = c.value AND i.id <> c.id
"""  # noqa: S608  (only constant SQL fragments are interpolated)
_RECORD_CREATED = (
    "INSERT INTO intel_merged SELECT id, true, false, false FROM intel_chunk WHERE created"
)
# Only the flag column matters to the planner: how many known rows the update joins.
_ANALYZE_CHUNK = "ANALYZE intel_chunk (needs_update)"
# 3. The known values that bring something new. The SET clause compares with the row as it is
# now (`i`); which rows to touch was decided by what step 1 read.
_UPDATE_KNOWN = f"""
WITH updated AS (
    UPDATE intel_indicator i SET
        last_seen_at = %(now)s,
        expires_at = GREATEST(i.expires_at, (%(expiry)s::jsonb ->> c.type)::timestamptz),
        confidence = GREATEST(i.confidence, c.confidence),
        tlp = CASE WHEN {_tlp_rank("c.tlp")} > {_tlp_rank("i.tlp")} THEN c.tlp ELSE i.tlp END,
        tags = CASE WHEN c.tags <@ i.tags THEN i.tags
                    ELSE ARRAY(SELECT DISTINCT t FROM unnest(i.tags || c.tags) t ORDER BY t)
               END,
        status = CASE
            WHEN i.status = 'revoked' THEN i.status
            WHEN c.allowlisted THEN 'allowlisted'
            WHEN i.status IN ('expired', 'allowlisted') THEN 'active'
            ELSE i.status END,
        updated_at = CASE WHEN {_material_change("i.", _STAGED_STATUS)}
                          THEN %(now)s ELSE i.updated_at END
    FROM intel_chunk c
    WHERE i.id = c.id AND c.needs_update
    RETURNING i.id, (i.updated_at = %(now)s) AS changed
)
INSERT INTO intel_merged SELECT id, false, true, false FROM updated WHERE changed
"""  # noqa: S608  (only constant SQL fragments are interpolated)
# 4. Provenance, in id order (its primary key starts with the indicator id). An indicator this
# transaction created cannot have been reported by anyone yet: a plain insert.
_INSERT_PROVENANCE = """
INSERT INTO intel_indicatorsource (
    indicator_id, source_id, first_seen_at, last_seen_at, confidence, reference)
SELECT c.id, %(source_id)s, %(now)s, %(now)s, c.confidence, COALESCE(c.reference, 'line ' || c.line)
FROM intel_chunk c
WHERE c.created
ORDER BY c.id
"""
_UPSERT_PROVENANCE = """
WITH reported AS (
    INSERT INTO intel_indicatorsource AS p (
        indicator_id, source_id, first_seen_at, last_seen_at, confidence, reference)
    SELECT c.id, %(source_id)s, %(now)s, %(now)s, c.confidence,
           COALESCE(c.reference, 'line ' || c.line)
    FROM intel_chunk c
    WHERE NOT c.created
    ORDER BY c.id
    ON CONFLICT (indicator_id, source_id) DO UPDATE SET
        last_seen_at = EXCLUDED.last_seen_at,
        -- A repeat within this import (its row was written by it, at the same time) merges as
        -- a repeat within one chunk does: the highest confidence, the first reference.
        confidence = CASE WHEN p.last_seen_at = EXCLUDED.last_seen_at
                          THEN GREATEST(p.confidence, EXCLUDED.confidence)
                          ELSE EXCLUDED.confidence END,
        reference = CASE WHEN p.last_seen_at = EXCLUDED.last_seen_at
                         THEN p.reference ELSE EXCLUDED.reference END
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
# intel_merged holds each created id once, and a row per change of a known indicator; an
# indicator created by an earlier chunk of the same batch and changed by a later one is created.
MERGED_SUMMARY = """
SELECT (SELECT count(*) FROM intel_merged WHERE created),
       (SELECT count(*) FROM (SELECT id FROM intel_merged WHERE NOT created
                              EXCEPT SELECT id FROM intel_merged WHERE created) AS changed)
"""
_RECORD_TOUCHED = "INSERT INTO intel_touched SELECT line, id FROM intel_chunk"
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
        self.timings: dict[str, float] = {
            "copy": 0.0,
            "lookup": 0.0,
            "insert": 0.0,
            "update": 0.0,
            "sources": 0.0,
        }
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.cancelled = False
        with self.raw.cursor() as cursor:
            cursor.execute(_CREATE_TABLES)
            cursor.execute("SELECT pg_get_serial_sequence('intel_indicator', 'id')")
            self.params = {**params, "sequence": cursor.fetchone()[0]}

    def merge(self, data: str) -> None:
        """Stage one chunk with COPY and merge it: look up, insert new, update known, sources."""
        marks = [time.perf_counter()]
        with self.raw.cursor() as cursor:
            cursor.execute(_CLEAR_STAGE)
            with cursor.copy(_COPY_STAGE) as copy:
                copy.write(data)
            marks.append(time.perf_counter())
            cursor.execute(_LOOK_UP, self.params)
            cursor.execute(_CHUNK_COUNTS)
            new, known_changed = cursor.fetchone()
            marks.append(time.perf_counter())
            if new:
                cursor.execute(_INSERT_NEW, self.params)
                if cursor.rowcount < new:
                    # Another transaction committed some of these values since the look-up.
                    cursor.execute(_LOOK_UP_RACED, self.params)
                    known_changed += cursor.rowcount
                cursor.execute(_RECORD_CREATED)
            marks.append(time.perf_counter())
            if known_changed:
                cursor.execute(_ANALYZE_CHUNK)
                cursor.execute(_UPDATE_KNOWN, self.params)
            marks.append(time.perf_counter())
            if new:
                cursor.execute(_INSERT_PROVENANCE, self.params)
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
