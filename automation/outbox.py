"""The automation outbox: triggers are rows written with the change, drained by RQ workers.

`emit()` inserts an `AutomationEvent` inside the caller's transaction and, once it commits,
asks Redis for a drain job (`kick`). If Redis is unreachable the event simply waits: the
scheduler's minute tick (`tdp/cron.py`) kicks again whenever events are pending, so nothing is
lost. `drain()` claims batches with `FOR UPDATE SKIP LOCKED` (two workers never take the same
event), processes each (enrichment, then the matching playbooks) and marks it processed. An
event claimed by a worker that died is claimed again after `STALE_CLAIM`; playbook runs resume
from their recorded steps (`automation.playbooks.runner`), so nothing is done twice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from automation.models import AutomationEvent, Playbook, Trigger

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = 5
DRAIN_BATCH = 100
DRAIN_SECONDS = 50  # one job drains for at most this long, then hands over to a new job
KICK_KEY = "tdp:automation:kick"

# Triggers whose events are worth writing even without playbooks: they start enrichment.
ENRICHING = {Trigger.CASE_CREATED, Trigger.INDICATOR_ADDED}
_consumers: dict[str, tuple[float, bool]] = {}
CONSUMER_CACHE_SECONDS = 10


def has_consumers(trigger: str) -> bool:
    """Whether an event of ``trigger`` would do anything (cached for a few seconds)."""
    if trigger in ENRICHING and settings.TDP_ENRICH_ON_TRIGGER:
        return True
    cached = _consumers.get(trigger)
    if cached and time.monotonic() - cached[0] < CONSUMER_CACHE_SECONDS:
        return cached[1]
    found = Playbook.objects.filter(trigger=trigger, is_enabled=True).exists()
    _consumers[trigger] = (time.monotonic(), found)
    return found


def forget_consumers() -> None:
    """Drop the cached answers of `has_consumers` (after playbooks change)."""
    _consumers.clear()


def emit(trigger: str, object_type: str, object_id: int, payload: dict | None = None) -> None:
    """Record one trigger in the current transaction; a drain is requested on commit."""
    emit_many(trigger, object_type, [object_id], payload)


def emit_many(
    trigger: str, object_type: str, object_ids: Iterable[int], payload: dict | None = None
) -> int:
    """Record one event per object in one statement; returns how many were written."""
    ids = list(object_ids)
    if not ids or not has_consumers(trigger):
        return 0
    now = timezone.now()
    AutomationEvent.objects.bulk_create(
        [
            AutomationEvent(
                trigger=trigger,
                object_type=object_type,
                object_id=pk,
                payload=payload or {},
                created_at=now,
            )
            for pk in ids
        ]
    )
    transaction.on_commit(kick)
    return len(ids)


def kick(*, force: bool = False) -> bool:
    """Queue a drain job unless one was queued in the last second; False if Redis is down.

    Losing a kick is harmless: the events wait in Postgres for the next one.
    """
    from automation import jobs  # the job module imports this one

    try:
        import django_rq

        queue = django_rq.get_queue("high")
        # The key stands for "a drain is queued and has not started yet": that drain will
        # see this event. The drain deletes it when it starts (see `drain`).
        if not force and not queue.connection.set(KICK_KEY, "1", nx=True, px=60_000):
            return True
        queue.enqueue(jobs.drain_automation, job_timeout=DRAIN_SECONDS * 3)
        return True
    except Exception as exc:  # Redis down or refusing: the cron tick retries
        logger.warning("automation kick failed (%s); events wait in the outbox", type(exc).__name__)
        return False


def pending_count() -> int:
    """Events not processed yet."""
    return AutomationEvent.objects.filter(processed_at__isnull=True).count()


def kick_if_pending() -> bool:
    """The cron tick: queue a drain when events wait (or were claimed by a dead worker)."""
    if AutomationEvent.objects.filter(processed_at__isnull=True).exists():
        return kick(force=True)
    return False


def claim(limit: int = DRAIN_BATCH) -> list[AutomationEvent]:
    """Claim up to ``limit`` pending events (skipping those another worker holds)."""
    stale = timezone.now() - STALE_CLAIM
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE automation_automationevent SET claimed_at = now(), attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM automation_automationevent
                WHERE processed_at IS NULL AND (claimed_at IS NULL OR claimed_at < %s)
                -- Cases and hits first: a feed's thousands of new indicators must not make
                -- the playbooks of a case opened now wait behind their enrichment.
                ORDER BY trigger = 'indicator_added', id LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id
            """,
            [stale, limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return list(AutomationEvent.objects.filter(pk__in=ids).order_by("id"))


def drain(*, limit: int = DRAIN_BATCH, seconds: float = DRAIN_SECONDS) -> int:
    """Process pending events until none are left or ``seconds`` passed; returns how many.

    Each claimed batch is processed set-wise (`automation.processing.process_events`); if that
    fails, its events are processed one by one so only the bad one waits for a retry. When time
    runs out with events still waiting, a new drain job is queued.
    """
    started, done = time.monotonic(), 0
    _clear_kick()  # from now on, a commit queues a new drain (this one may have claimed)
    while events := claim(limit):
        if len(events) == limit:
            kick()  # more may wait: let an idle worker drain beside this one
        _process_batch(events)
        done += len(events)
        if time.monotonic() - started > seconds:
            kick(force=True)
            break
    return done


def _process_batch(events: list[AutomationEvent]) -> None:
    from rq.timeouts import BaseTimeoutException

    from automation.processing import process_event, process_events

    try:
        process_events(events)
    except BaseTimeoutException:
        raise  # the job ran out of time: the events are claimed again after STALE_CLAIM
    except Exception:
        logger.exception("automation batch of %s failed; processing one by one", len(events))
        for event in events:
            _process_one(event, process_event)
    else:
        AutomationEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            processed_at=timezone.now(), error=""
        )


def _clear_kick() -> None:
    import django_rq

    with contextlib.suppress(Exception):  # Redis down: the key expires by itself
        django_rq.get_queue("high").connection.delete(KICK_KEY)


def _process_one(event: AutomationEvent, process: Any) -> None:
    from rq.timeouts import BaseTimeoutException

    try:
        process(event)
    except BaseTimeoutException:
        raise
    except Exception as exc:
        logger.exception("automation event %s failed", event.pk)
        final = event.attempts >= MAX_ATTEMPTS
        AutomationEvent.objects.filter(pk=event.pk).update(
            error=f"{type(exc).__name__}: {exc}"[:1000],
            processed_at=timezone.now() if final else None,
            # Not final: retry after the stale-claim delay (a backoff of minutes).
        )
    else:
        AutomationEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), error="")


def retry_event(event_id: int) -> None:
    """Put a failed event back in the queue (the failed list's retry button)."""
    AutomationEvent.objects.filter(pk=event_id).update(
        processed_at=None, claimed_at=None, attempts=0, error=""
    )
    transaction.on_commit(kick)
