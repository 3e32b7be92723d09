"""State changes of single indicators after ingestion: edit, revoke, reactivate, expire.

Each is a verb-named function with a keyword-only actor, runs in one transaction and writes its
audit entry there. Ingestion itself lives in `intel.ingest`; allowlisting in `intel.allowlist`.
"""

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from intel.allowlist import AllowlistMatcher
from intel.models import Indicator, Status
from tdp import audit

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("confidence", "severity", "tlp", "tags", "description", "expires_at")


@transaction.atomic
def update_indicator(indicator: Indicator, *, actor: Any, **values: Any) -> Indicator:
    """Change an indicator's editable attributes and record what changed."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    before = audit.snapshot(indicator, values.keys())
    for name, value in values.items():
        setattr(indicator, name, value)
    changes = audit.diff(before, audit.snapshot(indicator, values.keys()))
    if changes:
        indicator.save(update_fields=[*values.keys(), "updated_at"])
        audit.record("indicator.update", indicator, actor=actor, changes=changes)
    return indicator


@transaction.atomic
def set_indicator_status(
    indicator: Indicator, status: str, *, actor: Any, reason: str = ""
) -> Indicator:
    """Revoke, reactivate or expire one indicator by hand, with the reason in the audit trail.

    An allowlisted value is never made active: ValueError names the entry that covers it.
    """
    if status not in Status.values:
        raise ValueError(f"unknown status {status!r}")
    previous = indicator.status
    if previous == status:
        return indicator
    if status == Status.ACTIVE:
        hit = AllowlistMatcher.load().match(indicator.type, indicator.value)
        if hit is not None:
            raise ValueError(f"{indicator.value} is allowlisted ({hit.kind} {hit.value})")
    indicator.status = status
    if status == Status.ACTIVE and indicator.expires_at and indicator.expires_at <= timezone.now():
        indicator.expires_at = None
    indicator.save(update_fields=["status", "expires_at", "updated_at"])
    audit.record(
        f"indicator.{status}",
        indicator,
        actor=actor,
        changes={"status": [previous, status]},
        note=reason,
    )
    return indicator


def expire_due_indicators(*, now: datetime | None = None) -> int:
    """Flip active indicators past their expiry to `expired`, with one summary audit entry."""
    now = now or timezone.now()
    with transaction.atomic():
        count = Indicator.objects.due_to_expire(now).update(status=Status.EXPIRED, updated_at=now)
        if count:
            audit.record("intel.expire", None, changes={"expired": count})
    logger.info("expired %s indicators", count)
    return count
