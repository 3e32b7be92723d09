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
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from automation.models import Trigger
from automation.outbox import emit_many
from intel.allowlist import AllowlistMatcher
from intel.ingest.merge import (
    EXPIRE_MISSING,
    MERGED_ROWS,
    MERGED_SUMMARY,
    TOUCHED_IDS,
    Merger,
)
from intel.ingest.staging import copy_chunks
from intel.ingest.types import MAX_ERROR_SAMPLES, IngestResult, IngestSpec
from intel.models import DEFAULT_TTL_DAYS, TLP, Indicator, Source
from intel.parsers import ParsedRow, Rejected, Skipped
from tdp import audit

__all__ = [
    "CHUNK_ROWS",
    "INGESTED_FIELDS",
    "MAX_ERROR_SAMPLES",
    "IngestResult",
    "IngestSpec",
    "ingest",
    "manual_source",
]

logger = logging.getLogger(__name__)

# Batches up to this size get one audit entry per created/changed indicator; larger imports get
# one summary entry on their source (a million audit rows would drown the trail).
PER_INDICATOR_AUDIT_LIMIT = 1000
# The parsed-row fields ingestion uses; parsers may skip computing the others.
INGESTED_FIELDS = frozenset({"tags", "confidence", "description"})
# Rows per COPY + merge round; two chunks are in memory at most (one staging, one merging).
CHUNK_ROWS = 100_000


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
        merger = Merger(connection.connection, params, collect_ids or spec.snapshot)
        staged = 0
        pending: str | None = None
        try:
            for data, count in copy_chunks(rows, spec, result, matcher, CHUNK_ROWS, params["tlp"]):
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
                merged = merger.fetch(MERGED_ROWS)
                result.created = sum(1 for _, created, _ in merged if created)
                result.updated = sum(1 for _, _, updated in merged if updated)
            else:
                result.created, result.updated = merger.fetch(MERGED_SUMMARY)[0]
            # Everything staged that neither created nor changed an indicator, including rows
            # repeated inside the batch, was re-reported unchanged.
            result.unchanged = staged - result.created - result.updated
            if collect_ids:
                result.indicator_ids = [pk for (pk,) in merger.fetch(TOUCHED_IDS)]
            if staged <= PER_INDICATOR_AUDIT_LIMIT:
                _audit_each(merged, spec, actor)
                # Playbooks and enrichment of new intel; bulk loads past the limit are
                # enriched when their indicators reach a case.
                emit_many(
                    Trigger.INDICATOR_ADDED, "indicator", [pk for pk, new, _ in merged if new]
                )
        if spec.snapshot and (staged or result.rejected == 0):
            # An empty snapshot that was read cleanly really is empty; a file whose every row was
            # rejected is more likely broken than a feed that emptied out, so nothing expires.
            result.expired = merger.execute(EXPIRE_MISSING)
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
