"""The playbook actions: each takes its rendered settings and the run's target, does one thing
through the same service functions people use (so it is audited), and returns what it did.

Actions raise `ActionError` for a failure the run should stop on. Outbound HTTP (webhooks,
takedowns, chat notifications) goes through the SSRF-safe client `tdp.http`, signs the body with
HMAC-SHA256 when a secret is set, carries an `Idempotency-Key` unique to (playbook, trigger,
step) so a receiver can drop a repeat, and retries connection errors and 5xx with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from tdp import http

SYSTEM = "automation"


class ActionError(Exception):
    """The action failed; the message says why (never a secret)."""


@dataclass
class Target:
    """What an action acts on: the trigger's object and its context."""

    obj: Any
    ctx: dict[str, Any]
    actor: str  # the audit trail's name for this playbook
    idempotency_key: str


def _case(target: Target) -> Any:
    from cases.models import Case

    if isinstance(target.obj, Case):
        return target.obj
    raise ActionError("this action needs a case (the trigger has none)")


def _indicators(target: Target) -> list[Any]:
    from intel.models import Indicator

    if isinstance(target.obj, Indicator):
        return [target.obj]
    ids = [i["id"] for i in target.ctx.get("indicators") or []]
    return list(Indicator.objects.filter(pk__in=ids))


def do_enrich(action: dict, target: Target) -> dict[str, Any]:
    from automation.enrichment import enrich_indicator

    done = {}
    for indicator in _indicators(target):
        results = enrich_indicator(indicator, force=bool(action.get("force")))
        done[indicator.value] = sorted(r.provider for r in results)
    return {"enriched": done}


def do_set_priority(action: dict, target: Target) -> dict[str, Any]:
    from cases import triage

    priority = int(str(action["priority"]).upper().removeprefix("P"))
    case = triage.set_priority(_case(target).pk, user=target.actor, priority=priority)
    target.obj = case
    return {"priority": case.get_priority_display()}


def do_assign(action: dict, target: Target) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from cases import triage
    from cases.models import Case

    users = get_user_model().objects.filter(is_active=True)
    if action.get("user"):
        assignee = users.filter(username=action["user"]).first()
        if assignee is None:
            raise ActionError(f"no active user {action['user']!r}")
    else:
        members = list(users.filter(groups__name=action["group"]).order_by("username"))
        if not members:
            raise ActionError(f"nobody is in group {action['group']!r}")
        # Round-robin: the member with the fewest open cases, then alphabetical.
        load = {
            row["assignee"]: row["n"]
            for row in Case.objects.open()
            .filter(assignee__in=members)
            .values("assignee")
            .annotate(n=Count("id"))
        }
        assignee = min(members, key=lambda u: (load.get(u.pk, 0), u.username))
    case = triage.assign(_case(target).pk, user=target.actor, assignee=assignee)
    target.obj = case
    return {"assignee": assignee.get_username()}


def do_tag(action: dict, target: Target) -> dict[str, Any]:
    from cases.models import Case

    tags = sorted({str(t).strip().lower() for t in action["tags"] if str(t).strip()})
    obj = target.obj
    if not isinstance(obj, Case):
        from intel.lifecycle import update_indicator

        for indicator in _indicators(target):
            update_indicator(indicator, actor=target.actor, tags=sorted({*indicator.tags, *tags}))
        return {"indicator_tags": tags}
    output = tag_many([{"tags": tags}], [target])[0]
    if isinstance(output, Exception):
        raise output
    return output


def do_escalate(action: dict, target: Target) -> dict[str, Any]:
    from cases import triage

    case = _case(target)
    if case.status == case.Status.ESCALATED:
        return {"status": "already escalated"}
    target.obj = triage.escalate(case.pk, user=target.actor, note=action.get("note", ""))
    return {"status": target.obj.status}


def do_resolve(action: dict, target: Target) -> dict[str, Any]:
    from cases import triage

    case = triage.label_case(
        _case(target).pk,
        user=target.actor,
        disposition=action["disposition"],
        reason=action.get("reason", ""),
        note=action.get("note", "") or f"auto-resolved by {target.actor}",
    )
    target.obj = case
    return {"status": case.status, "disposition": case.disposition, "reason": case.reason}


def do_add_indicator(action: dict, target: Target) -> dict[str, Any]:
    from intel.ingest import IngestSpec, ingest, manual_source
    from intel.parsers.base import ParsedRow

    source = manual_source(name=action.get("source") or "Playbooks")
    row = ParsedRow(1, str(action["value"]), action.get("indicator_type"), "playbook")
    spec = IngestSpec(
        source=source,
        confidence=int(action.get("confidence", 50)),
        tlp=action.get("tlp", "AMBER"),
        tags=list(action.get("tags") or []),
    )
    result = ingest([row], spec, actor=target.actor)
    if result.rejected:
        raise ActionError(f"indicator rejected: {result.errors[:1]}")
    return {"created": result.created, "updated": result.updated}


def do_expire_indicator(action: dict, target: Target) -> dict[str, Any]:
    from intel.lifecycle import set_indicator_status
    from intel.models import Status

    done = []
    for indicator in _indicators(target):
        if indicator.status == Status.ACTIVE:
            set_indicator_status(
                indicator, Status.EXPIRED, actor=target.actor, reason=action.get("note", "")
            )
            done.append(indicator.value)
    return {"expired": done}


def do_allowlist_indicator(action: dict, target: Target) -> dict[str, Any]:
    from intel.allowlist import add_allowlist_entry

    kinds = {
        "url": "url_prefix",
        "ipv4": "ip",
        "ipv6": "ip",
        "cidr": "ip",
        "md5": "hash",
        "sha1": "hash",
        "sha256": "hash",
        "pdq": "hash",
    }
    done = []
    for indicator in _indicators(target):
        kind = kinds.get(indicator.type, indicator.type)
        if kind not in ("domain", "url_prefix", "ip", "hash", "account", "email"):
            raise ActionError(f"{indicator.type} indicators cannot be allowlisted")
        add_allowlist_entry(
            kind=kind,
            value=indicator.value,
            reason=action.get("reason") or f"allowlisted by {target.actor}",
            actor=target.actor,
        )
        done.append(indicator.value)
    return {"allowlisted": done}


def signature(secret: str, body: bytes) -> str:
    """The `X-TDP-Signature` header value: ``sha256=<hex HMAC of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(
    url: str,
    payload: Any,
    *,
    secret: str = "",
    headers: dict[str, str] | None = None,
    idempotency_key: str = "",
    method: str = "POST",
    retries: int = 3,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Send ``payload`` as JSON with signature and idempotency headers, retrying connection
    errors and 5xx with exponential backoff; returns status, attempts and a response excerpt."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    sent_headers = {"Content-Type": "application/json", **(headers or {})}
    if idempotency_key:
        sent_headers["Idempotency-Key"] = idempotency_key
    if secret:
        sent_headers["X-TDP-Signature"] = signature(secret, body)
    sent_headers["X-TDP-Timestamp"] = timezone.now().isoformat()
    timeout = timeout or settings.TDP_WEBHOOK_TIMEOUT
    last = ""
    for attempt in range(1, retries + 2):
        try:
            response = http.request(
                method, url, headers=sent_headers, body=body, timeout=timeout, max_bytes=256 * 1024
            )
        except http.BlockedAddressError as exc:
            raise ActionError(str(exc)) from exc
        except http.TransportError as exc:
            last = str(exc)
        else:
            if response.status < 500 and response.status != 429:
                if response.status >= 400:
                    raise ActionError(f"{url_host(url)} answered {response.status}")
                return {
                    "status": response.status,
                    "attempts": attempt,
                    "response": response.body[:500].decode("utf-8", "replace"),
                }
            last = f"{url_host(url)} answered {response.status}"
        if attempt <= retries:
            time.sleep(min(settings.TDP_WEBHOOK_BACKOFF * 2 ** (attempt - 1), 30))
    raise ActionError(f"{last} (after {retries + 1} attempts)")


def url_host(url: str) -> str:
    """The host of a URL, for messages (never the path or query, which may carry tokens)."""
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "the server"


def do_webhook(action: dict, target: Target) -> dict[str, Any]:
    payload = action.get("body")
    if payload is None:
        payload = {"case": target.ctx.get("case"), "indicators": target.ctx.get("indicators")}
    return post_json(
        action["url"],
        payload,
        secret=action.get("secret", ""),
        headers=action.get("headers"),
        idempotency_key=target.idempotency_key,
        retries=action.get("retries", 3),
        timeout=action.get("timeout"),
    )


def do_takedown(action: dict, target: Target) -> dict[str, Any]:
    return post_json(
        action["url"],
        action.get("body") or {},
        secret=action.get("secret", ""),
        headers=action.get("headers"),
        idempotency_key=target.idempotency_key,
        method=action.get("method", "POST"),
        retries=action.get("retries", 3),
        timeout=action.get("timeout"),
    )


def do_notify(action: dict, target: Target) -> dict[str, Any]:
    subject = str(action.get("subject") or "TDP notification")
    body = str(action.get("body") or "")
    if action["channel"] == "email":
        to = action["to"] if isinstance(action["to"], list) else [action["to"]]
        sent = send_mail(subject, body, None, [str(t) for t in to], fail_silently=False)
        return {"emailed": sent}
    return post_json(
        action["url"],
        {"text": f"{subject}\n{body}".strip()},
        idempotency_key=target.idempotency_key,
        retries=action.get("retries", 3),
        secret=action.get("secret", ""),
    )


def set_priority_many(actions: list[dict], targets: list[Target]) -> list[Any]:
    """`do_set_priority` for a batch of case targets: one lock, UPDATE and audit INSERT."""
    from cases import triage

    outputs: list[Any] = [None] * len(targets)
    by_priority: dict[int, list[int]] = {}
    for index, action in enumerate(actions):
        try:
            priority = int(str(action["priority"]).upper().removeprefix("P"))
        except ValueError as exc:
            outputs[index] = exc
            continue
        by_priority.setdefault(priority, []).append(index)
    actor = targets[0].actor
    for priority, indexes in by_priority.items():
        try:
            done = triage.set_priorities(
                [targets[i].obj.pk for i in indexes], user=actor, priority=priority
            )
        except triage.TriageError as exc:
            for i in indexes:
                outputs[i] = exc
            continue
        for i in indexes:
            result = done[targets[i].obj.pk]
            if isinstance(result, Exception):
                outputs[i] = result
            else:
                targets[i].obj = result
                outputs[i] = {"priority": result.get_priority_display()}
    return outputs


def tag_many(actions: list[dict], targets: list[Target]) -> list[Any]:
    """`do_tag` for a batch of case targets: the cases locked and read afresh (a batch's
    contexts may hold older copies of one case), one UPDATE per changed case, pipelined, in
    id order, and one audit INSERT."""
    from django.db import connection

    from cases.models import Case
    from tdp.audit import record_many

    cases = (
        Case.objects.select_for_update(of=("self",))
        .filter(pk__in={target.obj.pk for target in targets})
        .order_by("pk")
        .in_bulk()
    )
    outputs: list[Any] = []
    changed: list[tuple[Case, dict[str, Any]]] = []
    for action, target in zip(actions, targets, strict=True):
        case = cases.get(target.obj.pk)
        if case is None:
            outputs.append(Case.DoesNotExist(f"case {target.obj.pk} does not exist"))
            continue
        tags = {str(t).strip().lower() for t in action["tags"] if str(t).strip()}
        before = list(case.tags)
        case.tags = sorted({*case.tags, *tags})
        if case.tags != before:
            changed.append((case, {"tags": [before, case.tags]}))
        target.obj.tags = list(case.tags)
        outputs.append({"tags": list(case.tags)})
    if changed:
        latest = {case.pk: case for case, _ in changed}
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE cases_case SET tags = %s, updated_at = now() WHERE id = %s",
                [(latest[pk].tags, pk) for pk in sorted(latest)],
            )
        record_many("case.tagged", changed, actor=targets[0].actor)
    return outputs


ACTIONS = {
    "enrich": do_enrich,
    "set_priority": do_set_priority,
    "assign": do_assign,
    "tag": do_tag,
    "escalate": do_escalate,
    "resolve": do_resolve,
    "add_indicator": do_add_indicator,
    "expire_indicator": do_expire_indicator,
    "allowlist_indicator": do_allowlist_indicator,
    "webhook": do_webhook,
    "takedown": do_takedown,
    "notify": do_notify,
}

# Set-wise versions, used when every target of a batch step is a case: (rendered actions,
# targets) -> one output or exception per target, in order.
BATCH_ACTIONS = {
    "set_priority": set_priority_many,
    "tag": tag_many,
}
