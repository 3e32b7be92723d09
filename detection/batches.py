"""Scan batches: events posted to the intake API, queued, then scanned on an RQ worker.

:func:`submit_batch` validates and stores a request's events on a `ScanBatch` and queues it
once the transaction commits; :func:`run_batch` (the RQ job's one call) claims the batch and
hands its events to :func:`detection.scan.scan_events`, the same path as `scan_content`.
:func:`requeue_stale_batches` (the `rescan_queued_batches` command and a cron tick) queues
again what Redis lost or what a dead worker left running.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import django_rq
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from detection.memory import gc_paused
from detection.models import ScanBatch
from detection.scan import scan_events, validate_event
from tdp import audit

logger = logging.getLogger(__name__)

MAX_EVENTS = 10_000
MAX_ERRORS = 20
# Scan batches have a queue of their own, served by a worker that does not fork per job
# (`rqworker scan --worker-class rq.worker.SimpleWorker`), so its matcher stays built between
# batches instead of being rebuilt from a million indicators for every job.
QUEUE = "scan"
JOB_TIMEOUT = 600  # seconds; 10,000 events scan in a few seconds, the rest is headroom
# A queued batch older than this was probably never queued (Redis down) or lost.
STALE_QUEUED = timedelta(minutes=5)
# A running batch older than this outlived its job's timeout: its worker died.
STALE_RUNNING = timedelta(seconds=JOB_TIMEOUT + 60)


@transaction.atomic
def submit_batch(items: Sequence[object], *, actor: Any) -> ScanBatch:
    """Store the valid events of one request on a new batch and queue its scan after commit.

    Invalid events are counted in `rejected`, the first reasons kept in `errors` with their
    index in ``items``. A batch with nothing valid is finished at once.
    """
    accepted: list[object] = []
    rejected: list[dict[str, Any]] = []
    for index, obj in enumerate(items):
        event, reason = validate_event(obj)
        if event is None:
            rejected.append({"index": index, "reason": reason})
        else:
            accepted.append(obj)
    now = timezone.now()
    batch = ScanBatch.objects.create(
        submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
        events=len(accepted),
        rejected=len(rejected),
        errors=rejected[:MAX_ERRORS],
        pending_events=accepted,
        status=ScanBatch.Status.QUEUED if accepted else ScanBatch.Status.DONE,
        enqueued_at=now if accepted else None,
        finished_at=None if accepted else now,
    )
    audit.record(
        "scan_batch.submit",
        batch,
        actor=actor,
        changes={"events": [None, len(accepted)], "rejected": [None, len(rejected)]},
    )
    if accepted:
        enqueue_batch(batch.pk)
    return batch


def enqueue_batch(batch_id: Any) -> None:
    """Queue the scan of a batch once the surrounding transaction commits.

    When Redis is unreachable the batch stays queued; :func:`requeue_stale_batches` retries.
    """
    from detection.jobs import scan_batch_job

    def send() -> None:
        try:
            django_rq.get_queue(QUEUE).enqueue(
                scan_batch_job, str(batch_id), job_timeout=JOB_TIMEOUT, result_ttl=3600
            )
        except Exception:
            logger.exception("could not enqueue scan batch %s", batch_id)

    transaction.on_commit(send)


def run_batch(batch_id: Any) -> ScanBatch | None:
    """Scan a queued batch (or one a dead worker left running) and record the outcome.

    The batch is claimed with a conditional UPDATE, so a duplicate job is a no-op; a rerun
    after a crash rescans safely because hits are unique per (event, rule, indicator).
    """
    now = timezone.now()
    claimable = Q(status=ScanBatch.Status.QUEUED) | Q(
        status=ScanBatch.Status.RUNNING, started_at__lt=now - STALE_RUNNING
    )
    claimed = ScanBatch.objects.filter(claimable, pk=batch_id).update(
        status=ScanBatch.Status.RUNNING, started_at=now, error=""
    )
    if not claimed:
        logger.info("scan batch %s is gone, running or done", batch_id)
        return None
    with gc_paused():  # decoding and scanning 10,000 events: see detection.memory
        batch = ScanBatch.objects.get(pk=batch_id)
        return _scan_batch(batch)


def _scan_batch(batch: ScanBatch) -> ScanBatch:
    batch_id = batch.pk
    try:
        result = scan_events(batch.pending_events, dry_run=False)
    except Exception as exc:
        logger.exception("scan batch %s failed", batch_id)
        # The details go to the log; the submitter sees the kind of failure, never data values.
        batch.status, batch.error = ScanBatch.Status.FAILED, f"scan failed ({type(exc).__name__})"
    else:
        batch.status, batch.pending_events = ScanBatch.Status.DONE, []  # now in ContentEvent
        batch.matches, batch.hits, batch.cases = len(result.matches), result.hits, result.cases
        batch.restricted_matches = result.restricted_matches
        batch.restricted_hits = result.restricted_hits
        batch.restricted_cases = result.restricted_cases
    batch.finished_at = timezone.now()
    batch.save(
        update_fields=[
            "status",
            "error",
            "pending_events",
            "matches",
            "hits",
            "cases",
            "restricted_matches",
            "restricted_hits",
            "restricted_cases",
            "finished_at",
        ]
    )
    logger.info("scan batch %s %s: %s hits", batch_id, batch.status, batch.hits)
    return batch


def requeue_stale_batches(*, now: Any = None) -> list[str]:
    """Queue again the batches queued over 5 minutes ago, or left running by a dead worker.

    Returns their ids. A batch still in Redis is then queued twice; the claim runs it once.
    """
    now = now or timezone.now()
    stale = ScanBatch.objects.filter(
        Q(status=ScanBatch.Status.QUEUED, enqueued_at__lt=now - STALE_QUEUED)
        | Q(status=ScanBatch.Status.RUNNING, started_at__lt=now - STALE_RUNNING)
    )
    ids = [str(pk) for pk in stale.order_by("received_at").values_list("pk", flat=True)]
    with transaction.atomic():
        # Reset the clock, so the next tick waits another 5 minutes for this attempt.
        ScanBatch.objects.filter(pk__in=ids, status=ScanBatch.Status.QUEUED).update(enqueued_at=now)
        for batch_id in ids:
            enqueue_batch(batch_id)
    if ids:
        logger.info("requeued %s stale scan batches", len(ids))
    return ids
