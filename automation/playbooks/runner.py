"""Running one playbook for one automation event: conditions, then each action in order.

A run is unique per (playbook, trigger object): running it again — a retried job, a worker
that died, a second drain — finds the run and resumes after its last finished step, so an
action is never done twice. A step is marked `started` (committed) before it acts and `done`
after; a step found `started` was interrupted and is repeated, with the same idempotency key,
so a webhook receiver can drop the repeat. Dry runs record what each step would do.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.utils import timezone

from automation import ratelimit
from automation.models import AutomationEvent, Playbook, PlaybookRun
from automation.playbooks.actions import ACTIONS, ActionError, Target
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
    key = idempotency_key(event)
    run, _ = PlaybookRun.objects.get_or_create(
        playbook=playbook,
        idempotency_key=key,
        defaults={
            "event": event,
            "trigger": event.trigger,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "dry_run": playbook.dry_run,
        },
    )
    if run.status != PlaybookRun.Status.RUNNING:
        return run
    ok, matched = evaluate(playbook.conditions, ctx)
    if not ok:
        _save(run, matched=matched, status=PlaybookRun.Status.SKIPPED, finished_at=timezone.now())
        return run
    run.matched = matched
    steps: list[dict[str, Any]] = list(run.steps)
    run.steps = steps
    target = Target(obj, ctx, actor=f"playbook:{playbook.name}", idempotency_key="")
    for index, action in enumerate(playbook.actions):
        if index >= len(steps):
            steps.append({"index": index, "type": action["type"]})
        step = steps[index]
        if step.get("status") in FINISHED_STEP:
            continue
        target.idempotency_key = f"{key}:{playbook.pk}:{index}"
        if run.dry_run:
            step.update(status="would_run", settings=render(describe(action), ctx))
            continue
        limit = action.get("rate_per_minute")
        if limit and not ratelimit.allow(f"playbook:{playbook.pk}:{index}", limit):
            step.update(status="rate_limited", error=f"over {limit} per minute; not done")
            _save(run)
            continue
        step.update(status="started", started_at=timezone.now().isoformat())
        _save(run, matched=matched)
        started = time.perf_counter()
        try:
            output = ACTIONS[action["type"]](render(action, ctx), target)
        except (ActionError, PermissionDenied, ValueError, ObjectDoesNotExist) as exc:
            step.update(
                status="failed",
                error=str(exc)[:1000],
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            for later in playbook.actions[index + 1 :]:
                steps.append({"index": len(steps), "type": later["type"], "status": "not_run"})
            _save(
                run,
                status=PlaybookRun.Status.FAILED,
                error=str(exc)[:1000],
                finished_at=timezone.now(),
            )
            logger.info("playbook %s run %s failed at step %s: %s", playbook.pk, run.pk, index, exc)
            return run
        step.update(
            status="done",
            output=output,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        fields: dict[str, Any] = {}
        if run.first_action_at is None:
            fields["first_action_at"] = timezone.now()
        _save(run, **fields)
    status = PlaybookRun.Status.DRY_RUN if run.dry_run else PlaybookRun.Status.SUCCESS
    _save(run, matched=matched, status=status, finished_at=timezone.now(), error="")
    return run


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
