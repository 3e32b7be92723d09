"""Refresh the rollup tables the metrics pages read: one function, called by the cron job and
by `manage.py refresh_metrics`.

A run holds a session advisory lock, so two refreshes never interleave (the cron
tick skips when one is running; the command waits). Everything a run writes, its `RollupRun`
row included, commits together in one REPEATABLE READ transaction: readers see either the
previous run's tables or this run's, never a mix, and the watermark they read matches the rows.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from metrics.models import RollupRun
from metrics.rollups.automation import changed_run_days, refresh_automation
from metrics.rollups.detection import new_hit_days, refresh_detection
from metrics.rollups.intel import refresh_intel
from metrics.rollups.operations import queue_snapshot, refresh_operations

logger = logging.getLogger(__name__)

LOCK_KEY = 7_460_281_001  # the advisory lock key of the metrics refresh
# Labels and runs written this long before a refresh started may still have been uncommitted
# when it read: the next refresh (and reads in between) treat them as new.
COMMIT_MARGIN = timedelta(minutes=2)


class RefreshBusy(Exception):
    """Another refresh holds the lock."""


def last_run() -> RollupRun | None:
    """The latest successful refresh, or None before the first one."""
    return RollupRun.objects.filter(status=RollupRun.Status.SUCCESS).order_by("-started_at").first()


def refresh(*, full: bool = False, days: int | None = None, wait: bool = True) -> RollupRun:
    """Bring the rollups up to date and return the run's record.

    Recounts the last ``days`` days (default `TDP_METRICS_REFRESH_DAYS`) and adds what changed
    on older days (labels, late hits, finished runs); ``full`` (or no earlier run, or the last
    full rebuild being older than `TDP_METRICS_FULL_REFRESH_HOURS`) rebuilds everything. With
    ``wait`` False, raises RefreshBusy instead of waiting for a refresh already running.
    """
    with _refresh_lock(wait):
        previous = last_run()
        full = full or previous is None or _full_is_due()
        run = RollupRun.objects.create(
            kind=RollupRun.Kind.FULL if full else RollupRun.Kind.RECENT, started_at=timezone.now()
        )
        clock = time.perf_counter()
        outermost = not connection.in_atomic_block  # inside a caller's transaction (tests)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    if outermost:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    # Refreshes sort and hash hundreds of thousands of rows at times.
                    cursor.execute("SET LOCAL work_mem = '64MB'")
                    cursor.execute("SELECT coalesce(max(id), 0) FROM detection_hit")
                    watermark = cursor.fetchone()[0]
                _run(run, previous=None if full else previous, days=days, watermark=watermark)
        except Exception as exc:
            RollupRun.objects.filter(pk=run.pk).update(
                status=RollupRun.Status.FAILED,
                finished_at=timezone.now(),
                duration_ms=round((time.perf_counter() - clock) * 1000),
                error=str(exc)[:2000],
            )
            logger.exception("metrics refresh %s failed", run.pk)
            raise
    run.refresh_from_db()
    if full and outermost:
        _vacuum_rebuilt()
    logger.info("metrics refresh %s (%s) took %s ms", run.pk, run.kind, run.duration_ms)
    return run


def _vacuum_rebuilt() -> None:
    """Vacuum the indicator rollups a full refresh rewrote (after its commit: VACUUM cannot run
    in a transaction). Reads sum indicator days from an index alone (`metrics.precision`),
    which needs the pages marked all-visible; autovacuum would get there, later. The refresh
    is committed by now: a VACUUM that fails (a timeout, a cancel) is logged, not raised."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) metrics_indicatorday, metrics_indicatorwindow")
    except DatabaseError:
        logger.warning("vacuum after the full metrics refresh failed", exc_info=True)


@contextmanager
def _refresh_lock(wait: bool) -> Iterator[None]:
    """Hold the refresh's session advisory lock (taken before the refresh's transaction, so its
    snapshot starts after the previous refresh committed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {'pg_advisory_lock' if wait else 'pg_try_advisory_lock'}(%s)", [LOCK_KEY]
        )
        if not wait and cursor.fetchone()[0] is False:
            raise RefreshBusy("another metrics refresh is running")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _full_is_due() -> bool:
    hours = settings.TDP_METRICS_FULL_REFRESH_HOURS
    if hours <= 0:
        return False
    recent = RollupRun.objects.filter(
        status=RollupRun.Status.SUCCESS,
        kind=RollupRun.Kind.FULL,
        started_at__gte=timezone.now() - timedelta(hours=hours),
    )
    return not recent.exists()


def _run(run: RollupRun, *, previous: RollupRun | None, days: int | None, watermark: int) -> None:
    """Refresh every family inside the caller's transaction and mark ``run`` a success."""
    clock = time.perf_counter()
    today = run.started_at.astimezone(UTC).date()
    if previous is None:
        recount_from, recount_days, run_days = None, [], []
    else:
        keep = days if days is not None else settings.TDP_METRICS_REFRESH_DAYS
        previous_day = previous.started_at.astimezone(UTC).date()
        recount_from = min(today - timedelta(days=max(keep, 1) - 1), previous_day)
        late = new_hit_days(previous.hit_watermark, watermark)
        recount_days = [day for day in late if day < recount_from]
        since = previous.started_at - COMMIT_MARGIN
        run_days = [day for day in changed_run_days(since) if day < recount_from]
    counts = refresh_detection(
        watermark=watermark,
        previous=previous,
        recount_from=recount_from,
        recount_days=recount_days,
        today=today,
    )
    counts.update(refresh_operations(today=today))
    counts.update(refresh_automation(recent_from=recount_from, changed_days=run_days))
    if previous is None:  # the planner's row estimates of the rebuilt tables
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE metrics_indicatorday, metrics_indicatorwindow, metrics_countedlabel"
            )
    intel_due = previous is None or not _intel_is_fresh()
    if intel_due:
        counts.update(refresh_intel(today=today))
    RollupRun.objects.filter(pk=run.pk).update(
        status=RollupRun.Status.SUCCESS,
        finished_at=timezone.now(),
        duration_ms=round((time.perf_counter() - clock) * 1000),
        hit_watermark=watermark,
        days=[
            "all" if recount_from is None else f"{recount_from.isoformat()}…",
            *(day.isoformat() for day in recount_days),
        ],
        window_day=today,
        intel_refreshed=intel_due,
        counts=counts,
        queue=queue_snapshot(),
    )


def _intel_is_fresh() -> bool:
    minutes = settings.TDP_METRICS_INTEL_REFRESH_MINUTES
    return RollupRun.objects.filter(
        status=RollupRun.Status.SUCCESS,
        intel_refreshed=True,
        started_at__gte=timezone.now() - timedelta(minutes=minutes),
    ).exists()
