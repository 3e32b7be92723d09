"""Bulk actions on many cases at once (assign, label false positive, resolve as duplicate),
and who cases can be given to. Each case is changed through `cases.triage`, in its own
transaction, so one case that cannot change never blocks the others."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

from cases.models import Case, Disposition
from cases.triage import TriageError, assign, check_label, label_case

BULK_ACTIONS = ("assign", "false_positive", "duplicate")


@dataclass
class BulkResult:
    """What a bulk action did: the cases changed and those skipped with why."""

    changed: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def bulk_action(
    case_ids: Iterable[int],
    *,
    user: Any,
    action: str,
    assignee: Any = None,
    reason: str = "",
    note: str = "",
) -> BulkResult:
    """Apply one action to many cases: ``assign`` (to ``assignee``, None to unassign),
    ``false_positive`` (resolve with ``reason``) or ``duplicate`` (resolve as duplicate).

    Each case is its own transaction; cases the user may not change, or that are already
    resolved, are skipped and reported.
    """
    if action not in BULK_ACTIONS:
        raise TriageError(f"unknown bulk action {action!r}")
    if action == "false_positive":
        check_label(Disposition.FALSE_POSITIVE, reason, note)
    result = BulkResult()
    for case_id in sorted(set(case_ids)):
        try:
            with transaction.atomic():
                current = Case.objects.visible_to(user).filter(pk=case_id).first()
                if current is None:
                    raise TriageError("not found")
                if action != "assign" and not current.is_open:
                    raise TriageError("already resolved")
                if action == "assign":
                    assign(case_id, user=user, assignee=assignee)
                else:
                    disposition = (
                        Disposition.FALSE_POSITIVE
                        if action == "false_positive"
                        else Disposition.DUPLICATE
                    )
                    label_case(
                        case_id, user=user, disposition=disposition, reason=reason, note=note
                    )
        except (PermissionDenied, TriageError) as exc:
            result.skipped.append((case_id, str(exc)))
        else:
            result.changed.append(case_id)
    return result


def analysts() -> Any:
    """Active users who can be given cases, by username."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=["analyst", "lead", "admin"])
        .distinct()
        .order_by("username")
    )
