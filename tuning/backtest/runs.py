"""Back-test runs started from the page: record, run inline or on RQ, store the result.

:func:`start_backtest` records a `BacktestRun` (audited) and runs it at once, in the request's
process, when it is small (:func:`is_small`: few stored events and little active intel),
otherwise queues :func:`tuning.jobs.run_backtest_job` on the default queue after the
transaction commits.
:func:`run_backtest_run` claims a queued run with a conditional UPDATE (two workers never run
it twice) and calls :func:`tuning.backtest.run_backtest`, the same function the `backtest`
command calls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from detection.models import Rule
from detection.rules import draft_rule
from intel.models import Indicator, Source
from tdp import audit
from tuning.backtest import estimate_events, parse_indicator_changes, run_backtest
from tuning.models import BacktestRun

logger = logging.getLogger(__name__)

QUEUE = "default"


def _jsonable_draft(values: Mapping[str, Any]) -> dict[str, Any]:
    """Rule editor values as JSON: sources by id."""
    draft = {key: value for key, value in values.items() if key != "sources"}
    draft["sources"] = sorted(source.pk for source in values.get("sources") or [])
    return draft


def start_backtest(
    *,
    rule: Rule | None,
    draft: Mapping[str, Any] | None,
    days: int,
    indicators: str,
    actor: Any,
) -> BacktestRun:
    """Record a back-test of ``rule`` (or of the ``draft`` rule values) and run or queue it."""
    if (rule is None) == (draft is None):
        raise ValueError("back-test either a saved rule or a draft")
    with transaction.atomic():
        run = BacktestRun.objects.create(
            rule=rule,
            rule_name=rule.name if rule is not None else str(draft.get("name") or "Draft"),
            draft={} if draft is None else _jsonable_draft(draft),
            days=days,
            indicators=indicators,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit.record(
            "tuning.backtest.start",
            run,
            actor=actor,
            changes={"rule": [None, run.rule_name], "days": [None, days]},
        )
        inline = is_small(days)
        if not inline:
            enqueue_backtest(run)
    if inline:
        # In this process, without forking: a web worker is no place for a process pool.
        run = run_backtest_run(run.pk, workers=1)
    return run


def is_small(days: int) -> bool:
    """Whether a back-test of ``days`` may run within a request: at most
    `TDP_BACKTEST_INLINE_EVENTS` stored events and `TDP_BACKTEST_INLINE_INDICATORS` active
    indicators (building the matcher over a million takes seconds)."""
    if estimate_events(days) > settings.TDP_BACKTEST_INLINE_EVENTS:
        return False
    limit = settings.TDP_BACKTEST_INLINE_INDICATORS
    return Indicator.objects.active().order_by()[: limit + 1].count() <= limit


def enqueue_backtest(run: BacktestRun) -> None:
    """Queue the run on the default queue once the surrounding transaction commits."""

    def send() -> None:
        try:
            django_rq.get_queue(QUEUE).enqueue(
                "tuning.jobs.run_backtest_job",  # by name: tuning.jobs imports this module
                run.pk,
                job_timeout=settings.TDP_BACKTEST_JOB_TIMEOUT,
                result_ttl=86400,
            )
        except Exception:
            # Redis is down: the run stays queued; starting it again from the page retries.
            logger.exception("could not enqueue back-test %s", run.pk)

    transaction.on_commit(send)


def run_backtest_run(run_id: int, *, workers: int | None = None) -> BacktestRun:
    """Run one queued back-test and store its result (a no-op when it was claimed already);
    ``workers`` as for :func:`tuning.backtest.run_backtest`."""
    claimed = BacktestRun.objects.filter(pk=run_id, status=BacktestRun.Status.QUEUED).update(
        status=BacktestRun.Status.RUNNING, started_at=timezone.now()
    )
    run = BacktestRun.objects.select_related("rule").get(pk=run_id)
    if not claimed:
        logger.info("back-test %s already running or finished", run_id)
        return run
    try:
        changes = parse_indicator_changes(run.indicators.splitlines())
        result = run_backtest(_rule_of(run), days=run.days, changes=changes, workers=workers)
    except Exception as exc:
        logger.exception("back-test %s failed", run.pk)
        run.status, run.error = BacktestRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        run.status = BacktestRun.Status.DONE
        run.result = {
            **result.as_dict(),
            "rejected_lines": changes.rejected,
            "line_errors": changes.errors,
        }
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "result", "error", "finished_at"])
    return run


def _rule_of(run: BacktestRun) -> Any:
    """The rule a run replays: the saved one with its sources, or the draft."""
    if run.rule_id is not None:
        return Rule.objects.prefetch_related("sources").get(pk=run.rule_id)
    if not run.draft:
        raise ValueError("the back-tested rule was deleted")
    values = dict(run.draft)
    values["sources"] = list(Source.objects.filter(pk__in=values.get("sources") or []))
    return draft_rule(values)
