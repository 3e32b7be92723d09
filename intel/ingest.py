"""The one ingestion path: every way intel arrives (form, paste, upload, CLI, feed, API) ends here.

`ingest()` takes parsed rows, normalises each value (`intel.normalize`), checks the allowlist,
streams the good rows into a temporary staging table with COPY and merges them into the
indicator and provenance tables with two set-based statements. Memory stays flat however large
the input, one transaction makes the whole batch land or none of it, and re-ingesting the same
rows creates nothing (unique (type, value) and (indicator, source) constraints + upsert).

Counting: `created` are new indicators; `updated` existing ones whose confidence, TLP, tags or
status changed, or that this source reports for the first time; `unchanged` only had their last
seen / expiry moved forward. `rejected` rows failed parsing or normalisation (with line and
reason, up to 20 samples in `errors`); `skipped` rows were valid but not intel.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
            "errors": self.errors,
        }


def _clean_tags(tags: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        text = str(tag).strip().lower()[:64]
        if text and text != "none":
            seen[text] = None
    return sorted(seen)


def _staged_rows(
    rows: Iterable[ParsedRow | Rejected | Skipped],
    spec: IngestSpec,
    result: IngestResult,
    now: datetime,
    matcher: AllowlistMatcher,
) -> Iterable[tuple]:
    """Normalise and allowlist-check each row; yield staging tuples, count the rest.

    Runs while COPY holds the connection, so it must not query the database itself.
    """
    confidence = spec.confidence if spec.confidence is not None else spec.source.default_confidence
    base_tags = _clean_tags(spec.tags)
    ttl_override = spec.ttl_days if spec.ttl_days is not None else spec.source.ttl_days
    expiry_by_type = {
        name: now + timedelta(days=ttl_override if ttl_override is not None else days)
        for name, days in DEFAULT_TTL_DAYS.items()
    }
    for row in rows:
        if isinstance(row, Skipped):
            result.skipped += 1
            continue
        result.received += 1
        if isinstance(row, Rejected):
            result.reject(row.line, row.reason)
            continue
        try:
            indicator_type, value = normalize(row.value, spec.type or row.type)
        except NormalizationError as exc:
            result.reject(row.line, exc.reason)
            continue
        fields = row.fields
        tags = base_tags
        if fields:
            if fields.get("tags"):
                tags = _clean_tags([*base_tags, *fields["tags"]])
            row_confidence = fields.get("confidence")
            if isinstance(row_confidence, int) and 0 <= row_confidence <= 100:
                confidence_here = row_confidence
            else:
                confidence_here = confidence
        else:
            confidence_here = confidence
        allowlisted = matcher.match(indicator_type, value) is not None
        if allowlisted:
            result.allowlisted += 1
        yield (
            indicator_type,
            value,
            row.line,
            row.reference or f"line {row.line}",
            confidence_here,
            tags,
            allowlisted,
            expiry_by_type[indicator_type],
            (fields.get("description") or spec.description)[:2000] if fields else spec.description,
        )


_CREATE_STAGE = """
CREATE TEMP TABLE intel_stage (
    type text, value text, line integer, reference text, confidence smallint,
    tags text[], allowlisted boolean, expires_at timestamptz, description text
) ON COMMIT DROP;
CREATE TEMP TABLE intel_merged (
    id bigint PRIMARY KEY, created boolean, changed boolean, new_source boolean DEFAULT false
) ON COMMIT DROP
"""
_COPY_STAGE = (
    "COPY intel_stage (type, value, line, reference, confidence, tags, allowlisted, expires_at,"
    " description) FROM STDIN"
)
_DEDUPE = """
CREATE TEMP TABLE intel_stage_unique ON COMMIT DROP AS
SELECT DISTINCT ON (type, value) * FROM intel_stage ORDER BY type, value, line;
ANALYZE intel_stage_unique
"""
_TLP_RAISED = f"{_TLP_RANK_SQL.format('EXCLUDED.tlp')} > {_TLP_RANK_SQL.format('i.tlp')}"
_STATUS_CHANGES = """(i.status <> 'revoked' AND i.status <> EXCLUDED.status
                AND NOT (i.status = 'active' AND EXCLUDED.status = 'active'))"""
_MATERIAL_CHANGE = f"""(EXCLUDED.confidence > i.confidence OR {_TLP_RAISED}
        OR NOT (EXCLUDED.tags <@ i.tags) OR {_STATUS_CHANGES})"""
# A re-report inside the "seen" resolution with nothing new is a no-op: the row is not rewritten,
# so re-pulling an unchanged feed costs index look-ups, not a new version of every row.
_UPSERT_INDICATORS = f"""  # noqa: S608  (only constant SQL fragments are interpolated)
WITH upserted AS (
    INSERT INTO intel_indicator AS i (
        type, value, status, confidence, severity, tlp, tags, description,
        first_seen_at, last_seen_at, expires_at, created_at, updated_at)
    SELECT s.type, s.value,
           CASE WHEN s.allowlisted THEN 'allowlisted' ELSE 'active' END,
           s.confidence, %(severity)s, %(tlp)s, s.tags, s.description,
           %(now)s, %(now)s, s.expires_at, %(now)s, %(now)s
    FROM intel_stage_unique s
    ORDER BY s.type, s.value
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
INSERT INTO intel_merged (id, created, changed) SELECT id, created, changed FROM upserted
"""
_UPSERT_PROVENANCE = """
WITH reported AS (
    INSERT INTO intel_indicatorsource AS p (
        indicator_id, source_id, first_seen_at, last_seen_at, confidence, reference)
    SELECT i.id, %(source_id)s, %(now)s, %(now)s, s.confidence, s.reference
    FROM intel_stage_unique s JOIN intel_indicator i ON i.type = s.type AND i.value = s.value
    ORDER BY i.id
    ON CONFLICT (indicator_id, source_id) DO UPDATE SET
        last_seen_at = EXCLUDED.last_seen_at,
        confidence = EXCLUDED.confidence,
        reference = EXCLUDED.reference
    WHERE p.last_seen_at < %(seen_before)s OR p.confidence <> EXCLUDED.confidence
    RETURNING p.indicator_id AS id, (xmax = 0) AS new_source
)
INSERT INTO intel_merged AS m (id, created, changed, new_source)
SELECT id, false, false, true FROM reported WHERE new_source
ON CONFLICT (id) DO UPDATE SET new_source = true
"""
_MERGED_ROWS = "SELECT id, created, NOT created AND (changed OR new_source) FROM intel_merged"
_MERGED_SUMMARY = (
    "SELECT count(*) FILTER (WHERE created),"
    " count(*) FILTER (WHERE NOT created AND (changed OR new_source)) FROM intel_merged"
)


def ingest(
    rows: Iterable[ParsedRow | Rejected | Skipped],
    spec: IngestSpec,
    *,
    actor: Any = None,
    collect_ids: bool = False,
) -> IngestResult:
    """Normalise, deduplicate and store `rows` as indicators from `spec.source`.

    Runs in one transaction. Returns the counts; with `collect_ids` also the ids of the
    indicators the batch touched (for callers that show or enqueue them).
    """
    result = IngestResult()
    now = timezone.now()
    tlp = spec.tlp or spec.source.default_tlp or TLP.AMBER
    matcher = AllowlistMatcher.load()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CREATE_STAGE)
        staged = 0
        with cursor.copy(_COPY_STAGE) as copy:
            for staged_row in _staged_rows(rows, spec, result, now, matcher):
                copy.write_row(staged_row)
                staged += 1
        if staged:
            cursor.execute("ANALYZE intel_stage")
            cursor.execute(_DEDUPE)
            params = {
                "now": now,
                "seen_before": now - settings.TDP_SEEN_RESOLUTION,
                "severity": spec.severity,
                "tlp": tlp,
                "source_id": spec.source.pk,
            }
            cursor.execute(_UPSERT_INDICATORS, params)
            cursor.execute(_UPSERT_PROVENANCE, params)
            merged: list[tuple] = []
            if staged <= PER_INDICATOR_AUDIT_LIMIT or collect_ids:
                cursor.execute(_MERGED_ROWS)
                merged = cursor.fetchall()
                result.created = sum(1 for _, created, _ in merged if created)
                result.updated = sum(1 for _, _, updated in merged if updated)
            else:
                cursor.execute(_MERGED_SUMMARY)
                result.created, result.updated = cursor.fetchone()
            # Everything staged that neither created nor changed an indicator, including rows
            # repeated inside the batch, was re-reported unchanged.
            result.unchanged = staged - result.created - result.updated
            if collect_ids:
                cursor.execute(
                    "SELECT i.id FROM intel_stage_unique s JOIN intel_indicator i"
                    " ON i.type = s.type AND i.value = s.value ORDER BY s.line"
                )
                result.indicator_ids = [pk for (pk,) in cursor.fetchall()]
            if staged <= PER_INDICATOR_AUDIT_LIMIT:
                _audit_each(merged, spec, actor)
        audit.record(
            "intel.ingest",
            spec.source,
            actor=actor,
            changes={k: v for k, v in result.as_dict().items() if k != "errors"},
            note=f"{result.received} rows received",
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
