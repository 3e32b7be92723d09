"""Running one playbook for one automation event: conditions, then each action in order.

A run is unique per (playbook, trigger object): running it again — a retried job, a worker
that died, a second drain — finds the run and resumes after its last finished step, so an
action is never done twice. A step is marked `started` (committed) before it acts and `done`
after; a step found `started` was interrupted and is repeated, with the same idempotency key,
so a webhook receiver can drop the repeat. Dry runs record what each step would do.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from automation import ratelimit
from automation.models import AutomationEvent, Playbook, PlaybookRun
from automation.playbooks.actions import ACTIONS, BATCH_ACTIONS, ActionError, Target
from automation.playbooks.conditions import evaluate
from automation.playbooks.context import render

logger = logging.getLogger(__name__)

FINISHED_STEP = {"done", "would_run", "rate_limited"}
SECRET_KEYS = {"secret"}


def idempotency_key(event: AutomationEvent) -> str:
    """One key per trigger and object: a playbook acts once per case created, and so on."""
    return f"{event.trigger}:{event.object_type}:{event.object_id}"


def _save(run: PlaybookRun, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(run, name, value)
    PlaybookRun.objects.filter(pk=run.pk).update(steps=run.steps, **fields)


def describe(action: dict[str, Any]) -> dict[str, Any]:
    """An action's settings with secrets masked (the `secret`, and every header value: headers
    carry credentials such as Authorization), for dry runs, pages and the audit trail."""
    shown = {k: ("•••" if k in SECRET_KEYS and v else v) for k, v in action.items()}
    if isinstance(shown.get("headers"), dict):
        shown["headers"] = {name: "•••" for name in shown["headers"]}
    return shown


def run_playbook(
    playbook: Playbook, event: AutomationEvent, ctx: dict[str, Any], obj: Any
) -> PlaybookRun:
    """Run (or resume) ``playbook`` for ``event``; returns its run record."""
    return run_playbooks(playbook, [(event, ctx, obj)])[0]


def run_playbooks(
    playbook: Playbook, items: list[tuple[AutomationEvent, dict[str, Any], Any]]
) -> list[PlaybookRun]:
    """Run (or resume) ``playbook`` for each (event, context, object); returns their runs.

    The batch moves step by step: step N of every run, then step N+1. A database-only action
    and its `done` commit together for the whole batch (nothing half-done survives a crash);
    an outbound one (webhook, takedown, notify) is marked `started` and committed first, then
    sent for every run at once through a thread pool.
    """
    runs = _get_or_create_runs(playbook, items)
    going: list[_Going] = []
    settle: list[PlaybookRun] = []
    seen: set[int] = set()
    for (event, ctx, obj), run in zip(items, runs, strict=True):
        # Two events of one trigger object (a case labelled twice) share one run: it acts once.
        if run.status != PlaybookRun.Status.RUNNING or run.pk in seen:
            continue
        seen.add(run.pk)
        ok, matched = evaluate(playbook.conditions, ctx)
        run.matched = matched
        if not ok:
            run.status, run.finished_at = PlaybookRun.Status.SKIPPED, timezone.now()
            settle.append(run)
            continue
        run.steps = list(run.steps)
        target = Target(obj, ctx, actor=f"playbook:{playbook.name}", idempotency_key="")
        going.append(_Going(run, target, idempotency_key(event)))
    _save_runs(settle)
    actions, index = playbook.actions, 0
    while index < len(actions) and going:
        touched = [item.run for item in going]
        kind = actions[index]["type"]
        if kind in OUTBOUND or kind in UNTRANSACTED:
            if kind in OUTBOUND and not _still_enabled(playbook):
                for item in going:
                    _step(item.run, index, kind)
                    _fail(playbook, index, item, ActionError(KILLED), 0.0)
                _save_runs(touched)
                return runs
            todo = _due(playbook, index, going)
            if kind in OUTBOUND:
                unexpected = _send(playbook, index, actions[index], todo)
            else:
                unexpected = None
                for item in todo:
                    _act(playbook, index, actions[index], item)
            index += 1
            going = _running(going, finished=index == len(actions) and unexpected is None)
            _save_runs(touched)
            if unexpected is not None:
                raise unexpected
            continue
        with transaction.atomic():  # consecutive database-only steps commit with their `done`
            while index < len(actions) and _transacted(actions[index]["type"]):
                _act_all(playbook, index, actions[index], _due(playbook, index, going))
                index += 1
                going = _running(going, finished=index == len(actions))
            _save_runs(touched)
    return runs


# Actions that talk to the outside world: marked `started` (committed) before they act, so a
# repeat after a crash is known to be one and carries the same idempotency key.
OUTBOUND = {"webhook", "takedown", "notify"}
# Steps that may wait on other services (enrichers over HTTP, reverse DNS) but are safe to
# repeat: run outside any transaction, so case locks are never held while they wait.
UNTRANSACTED = {"enrich"}
KILLED = "stopped before an outbound step: the playbook or the global kill switch is off"


def _transacted(kind: str) -> bool:
    return kind not in OUTBOUND and kind not in UNTRANSACTED


def _still_enabled(playbook: Playbook) -> bool:
    """The kill switches, read again before anything leaves (a batch can take a while)."""
    from automation.models import AutomationSettings

    if not AutomationSettings.load().playbooks_enabled:
        return False
    return Playbook.objects.filter(pk=playbook.pk, is_enabled=True).exists()


FAILURES = (ActionError, PermissionDenied, ValueError, ObjectDoesNotExist)


@dataclass
class _Going:
    """A run in progress within a batch, with what its actions act on."""

    run: PlaybookRun
    target: Target
    key: str

    @property
    def ctx(self) -> dict[str, Any]:
        return self.target.ctx


def _get_or_create_runs(
    playbook: Playbook, items: list[tuple[AutomationEvent, dict[str, Any], Any]]
) -> list[PlaybookRun]:
    """One run per item, the existing one when the playbook already ran for its trigger."""
    fresh = [
        PlaybookRun(
            playbook=playbook,
            idempotency_key=idempotency_key(event),
            event=event,
            trigger=event.trigger,
            object_type=event.object_type,
            object_id=event.object_id,
            dry_run=playbook.dry_run,
        )
        for event, _, _ in items
    ]
    PlaybookRun.objects.bulk_create(fresh, ignore_conflicts=True)
    found = {
        run.idempotency_key: run
        for run in PlaybookRun.objects.filter(
            playbook=playbook, idempotency_key__in=[run.idempotency_key for run in fresh]
        )
    }
    return [found[run.idempotency_key] for run in fresh]


def _save_runs(runs: list[PlaybookRun]) -> None:
    """Write the runs' progress: one UPDATE each, pipelined (far cheaper than `bulk_update`'s
    CASE per field over JSON columns)."""
    if not runs:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE automation_playbookrun SET steps = %s::jsonb, status = %s, "
            "matched = %s::jsonb, error = %s, finished_at = %s, first_action_at = %s "
            "WHERE id = %s",
            [
                (
                    json.dumps(run.steps, cls=DjangoJSONEncoder),
                    run.status,
                    json.dumps(run.matched, cls=DjangoJSONEncoder),
                    run.error,
                    run.finished_at,
                    run.first_action_at,
                    run.pk,
                )
                for run in runs
            ],
        )


def _act(playbook: Playbook, index: int, action: dict[str, Any], item: _Going) -> None:
    """Do one step of one run (a database-only one in the batch's transaction, in a savepoint)."""
    started = time.perf_counter()
    item.run.steps[index].update(started_at=timezone.now().isoformat())
    try:
        with transaction.atomic():
            output = ACTIONS[action["type"]](render(action, item.ctx), item.target)
    except FAILURES as exc:
        _fail(playbook, index, item, exc, _ms_since(started))
    else:
        _done(item, index, output, _ms_since(started))


def _due(playbook: Playbook, index: int, going: list[_Going]) -> list[_Going]:
    """The runs that must do step ``index`` now; the others' step is recorded as finished
    already, would-run (dry runs) or rate-limited."""
    action = playbook.actions[index]
    todo = []
    for item in going:
        steps = item.run.steps
        _step(item.run, index, action["type"])
        if steps[index].get("status") in FINISHED_STEP:
            continue
        item.target.idempotency_key = f"{item.key}:{playbook.pk}:{index}"
        if item.run.dry_run:
            steps[index].update(status="would_run", settings=render(describe(action), item.ctx))
            continue
        limit = action.get("rate_per_minute")
        if limit and not ratelimit.allow(f"playbook:{playbook.pk}:{index}", limit):
            steps[index].update(status="rate_limited", error=f"over {limit} per minute; not done")
            continue
        todo.append(item)
    return todo


def _step(run: PlaybookRun, index: int, kind: str) -> dict[str, Any]:
    """Step ``index`` of ``run``'s record, added when the run reaches it for the first time."""
    if index >= len(run.steps):
        run.steps.append({"index": index, "type": kind})
    return run.steps[index]


def _running(going: list[_Going], *, finished: bool) -> list[_Going]:
    """The runs still going; when the last step is behind them, they are marked finished."""
    going = [item for item in going if item.run.status == PlaybookRun.Status.RUNNING]
    if finished:
        for item in going:
            run = item.run
            run.status = PlaybookRun.Status.DRY_RUN if run.dry_run else PlaybookRun.Status.SUCCESS
            run.finished_at, run.error = timezone.now(), ""
    return going


def _act_all(playbook: Playbook, index: int, action: dict[str, Any], todo: list[_Going]) -> None:
    """One database-only step for ``todo``: set-wise when the action has a batch version."""
    if action["type"] in BATCH_ACTIONS and _all_cases(todo):
        _act_many(playbook, index, action, todo)
    else:
        for item in todo:
            _act(playbook, index, action, item)


def _all_cases(items: list[_Going]) -> bool:
    from cases.models import Case

    return bool(items) and all(isinstance(item.target.obj, Case) for item in items)


def _act_many(playbook: Playbook, index: int, action: dict[str, Any], todo: list[_Going]) -> None:
    """One database-only step for the whole batch through its set-wise version."""
    started = time.perf_counter()
    now = timezone.now().isoformat()
    for item in todo:
        item.run.steps[index].update(started_at=now)
    rendered = [render(action, item.ctx) for item in todo]
    with transaction.atomic():
        outputs = BATCH_ACTIONS[action["type"]](rendered, [item.target for item in todo])
    duration_ms = _ms_since(started)
    for item, output in zip(todo, outputs, strict=True):
        item.run.steps[index]["batch_size"] = len(todo)  # the duration is the whole batch's
        if isinstance(output, FAILURES):
            _fail(playbook, index, item, output, duration_ms)
        elif isinstance(output, Exception):
            raise output
        else:
            _done(item, index, output, duration_ms)


def _send(
    playbook: Playbook, index: int, action: dict[str, Any], todo: list[_Going]
) -> Exception | None:
    """Do one outbound step for every run of ``todo``: mark started (committed), send in
    parallel, record the outcomes (the caller saves them). Returns an unexpected error to
    raise once they are saved."""
    if not todo:
        return None
    now = timezone.now().isoformat()
    for item in todo:
        item.run.steps[index].update(status="started", started_at=now)
    _save_runs([item.run for item in todo])  # committed before anything leaves

    def call(item: _Going) -> tuple[_Going, Any, float]:
        started = time.perf_counter()
        try:
            output = ACTIONS[action["type"]](render(action, item.ctx), item.target)
        except Exception as exc:
            output = exc
        return item, output, _ms_since(started)

    unexpected: Exception | None = None
    recorded: list[PlaybookRun] = []

    def record(item: _Going, output: Any, duration_ms: float) -> None:
        nonlocal unexpected
        if isinstance(output, FAILURES):
            _fail(playbook, index, item, output, duration_ms)
        elif isinstance(output, Exception):
            unexpected = unexpected or output  # stays `started`: the event is retried
        else:
            _done(item, index, output, duration_ms)
        recorded.append(item.run)
        if len(recorded) >= SEND_SAVE_EVERY:  # a job killed mid-batch keeps what was sent
            _save_runs(recorded)
            recorded.clear()

    workers = max(1, min(settings.TDP_AUTOMATION_HTTP_CONCURRENCY, len(todo)))
    if workers == 1:
        for item in todo:
            record(*call(item))
    else:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="playbook")
        try:
            for future in as_completed([pool.submit(call, item) for item in todo]):
                record(*future.result())
        finally:
            # On a job timeout, do not wait for the sends still queued: they stay `started`.
            pool.shutdown(wait=False, cancel_futures=True)
    return unexpected


SEND_SAVE_EVERY = 20


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _done(item: _Going, index: int, output: Any, duration_ms: float) -> None:
    item.run.steps[index].update(status="done", output=output, duration_ms=duration_ms)
    if item.run.first_action_at is None:
        item.run.first_action_at = timezone.now()


def _fail(playbook: Playbook, index: int, item: _Going, exc: Exception, duration_ms: float) -> None:
    run = item.run
    run.steps[index].update(
        status="failed",
        error=str(exc)[:1000],
        duration_ms=duration_ms,
    )
    for later in playbook.actions[index + 1 :]:
        run.steps.append({"index": len(run.steps), "type": later["type"], "status": "not_run"})
    run.status, run.error, run.finished_at = (
        PlaybookRun.Status.FAILED,
        str(exc)[:1000],
        timezone.now(),
    )
    logger.info("playbook %s run %s failed at step %s: %s", playbook.pk, run.pk, index, exc)


def retry_run(run: PlaybookRun) -> PlaybookRun:
    """Run a failed run again from its failed step (the failed list's retry button)."""
    if run.status != PlaybookRun.Status.FAILED or run.event_id is None:
        return run
    run.steps = [s for s in run.steps if s.get("status") != "not_run"]
    for step in run.steps:
        if step.get("status") == "failed":
            step["status"] = "retry"
    _save(run, status=PlaybookRun.Status.RUNNING, error="", finished_at=None)
    from automation.outbox import retry_event

    retry_event(run.event_id)
    return run
