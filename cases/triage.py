"""What analysts and leads do to cases: claim, label, escalate, assign, comment, bulk actions.

Every function here is one audited transaction. Changes that an analyst makes from a page they
loaded earlier carry the case's `version`: when someone else changed the case since, the change
is refused with :class:`Conflict` (holding the newer case) instead of overwriting it. An analyst
may change cases that are unassigned or assigned to them; leads may change any case.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from automation.models import Trigger
from automation.outbox import emit
from cases.models import (
    Case,
    CaseComment,
    Disposition,
    HitLabel,
    Priority,
    QaReview,
    ReasonCode,
    TriageConfig,
    is_system,
)
from detection.models import Hit
from intel.models import IndicatorSource
from tdp.audit import diff, record, record_many, snapshot
from tdp.roles import ANALYST, LEAD, has_role

STATE_FIELDS = (
    "status",
    "disposition",
    "reason",
    "note",
    "priority",
    "assignee_id",
    "qa_status",
)


class Conflict(Exception):
    """The case changed since the caller loaded it; ``case`` is its current state."""

    def __init__(self, case: Case) -> None:
        super().__init__(
            f"Case {case.pk} was changed by someone else (now version {case.version}, "
            f"{case.get_status_display().lower()}"
            + (f", assigned to {case.assignee.get_username()}" if case.assignee else "")
            + "). Your change was not saved; review the case as it is now."
        )
        self.case = case


class TriageError(ValueError):
    """A triage request that cannot be carried out as asked (the message says why)."""


def can_change(user: Any, case: Case) -> bool:
    """Leads (and automation) change any case; analysts the unassigned ones and their own."""
    if is_system(user) or has_role(user, LEAD):
        return True
    return has_role(user, ANALYST) and case.assignee_id in (None, user.pk)


def _lock(case_id: int, user: Any, version: int | None) -> Case:
    """The case, row-locked, after the visibility, version and permission checks."""
    case = (
        Case.objects.visible_to(user)
        .select_for_update(of=("self",))
        .select_related("assignee", "rule")
        .get(pk=case_id)
    )
    if version is not None and case.version != version:
        raise Conflict(case)  # first: the newer state explains why (e.g. claimed by someone)
    if not can_change(user, case):
        if case.assignee is None:
            raise PermissionDenied("Changing cases needs the analyst role.")
        raise PermissionDenied(
            f"Case {case.pk} is assigned to {case.assignee.get_username()}; "
            "only they or a lead can change it."
        )
    return case


def _save(
    case: Case,
    before: dict[str, Any],
    action: str,
    actor: Any,
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> Case:
    """Bump the version, save and write the audit entry with what changed (and ``extra``)."""
    now = timezone.now()
    case.version += 1
    if case.first_touched_at is None and actor is not None:
        case.first_touched_at = now
    case.save()
    changes = {**diff(before, snapshot(case, STATE_FIELDS)), **(extra or {})}
    record(action, case, actor=actor, changes=changes, note=note)
    return case


def check_label(disposition: str, reason: str = "", note: str = "") -> str:
    """Validate a label; returns the reason code to store. A false positive needs an active
    reason code, and codes marked so need a note."""
    if disposition not in Disposition.values:
        raise TriageError(f"disposition must be one of {', '.join(Disposition.values)}")
    if disposition == Disposition.FALSE_POSITIVE and not reason:
        raise TriageError("a false positive needs a reason code")
    if not reason:
        return ""
    code = ReasonCode.objects.filter(code=reason, is_active=True).first()
    if code is None:
        codes = ", ".join(ReasonCode.objects.filter(is_active=True).values_list("code", flat=True))
        raise TriageError(f"unknown reason code {reason!r} (one of: {codes})")
    if code.needs_note and not note.strip():
        raise TriageError(f"the reason {reason!r} needs a note")
    return reason


@transaction.atomic
def claim_next(user: Any) -> Case | None:
    """Assign the most urgent unassigned new case to ``user``; None when there is none.

    ``SKIP LOCKED`` lets concurrent callers pass over a case another one is claiming, so two
    analysts never get the same case and neither waits.
    """
    if is_system(user) or not has_role(user, ANALYST):
        raise PermissionDenied("Claiming cases needs the analyst role.")
    case = (
        Case.objects.visible_to(user)
        .claimable()
        .order_by("priority", "sla_due_at", "id")
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )
    if case is None:
        return None
    before = snapshot(case, STATE_FIELDS)
    case.assignee, case.status = user, Case.Status.IN_REVIEW
    return _save(case, before, "case.claimed", user)


@transaction.atomic
def claim(case_id: int, *, user: Any, version: int | None = None) -> Case:
    """Take one case (unassigned, or a lead taking it over)."""
    case = _lock(case_id, user, version)
    if not case.is_open:
        raise TriageError("a resolved case cannot be claimed")
    before = snapshot(case, STATE_FIELDS)
    case.assignee = user
    if case.status == Case.Status.NEW:
        case.status = Case.Status.IN_REVIEW
    return _save(case, before, "case.claimed", user)


def _label_rows(
    case: Case,
    hits: list[Hit],
    disposition: str,
    reason: str,
    note: str,
    user: Any,
    *,
    from_case: bool,
) -> list[HitLabel]:
    sources: dict[int, list[int]] = defaultdict(list)
    for indicator_id, source_id in IndicatorSource.objects.filter(
        indicator_id__in={hit.indicator_id for hit in hits}
    ).values_list("indicator_id", "source_id"):
        sources[indicator_id].append(source_id)
    now = timezone.now()
    return [
        HitLabel(
            hit=hit,
            case=case,
            disposition=disposition,
            reason=reason,
            note=note,
            from_case=from_case,
            rule_id=hit.rule_id,
            indicator_id=hit.indicator_id,
            indicator_type=hit.indicator.type,
            indicator_value=hit.indicator.value,
            source_ids=sorted(sources[hit.indicator_id]),
            labelled_by=None if is_system(user) else user,
            labelled_at=now,
        )
        for hit in hits
    ]


@transaction.atomic
def label_case(
    case_id: int,
    *,
    user: Any,
    disposition: str,
    reason: str = "",
    note: str = "",
    version: int | None = None,
) -> Case:
    """Resolve the case with a disposition and give its unlabelled hits the same label.

    Hits an analyst labelled one by one keep their own label. A resolved case may be labelled
    again (a correction), which is audited like the first time and corrects the labels its hits
    got from the case's earlier label.
    """
    reason = check_label(disposition, reason, note)
    case = _lock(case_id, user, version)
    before = snapshot(case, STATE_FIELDS)
    now = timezone.now()
    case.status, case.disposition, case.reason, case.note = (
        Case.Status.RESOLVED,
        disposition,
        reason,
        note,
    )
    case.resolved_at = now
    case.resolved_by = None if is_system(user) else user
    if case.assignee_id is None and not is_system(user):
        case.assignee = user
    HitLabel.objects.filter(case=case, from_case=True).update(
        disposition=disposition,
        reason=reason,
        note=note,
        labelled_by=None if is_system(user) else user,
        labelled_at=now,
    )
    unlabelled = list(case.hits.filter(label__isnull=True).select_related("indicator"))
    HitLabel.objects.bulk_create(
        _label_rows(case, unlabelled, disposition, reason, note, user, from_case=True)
    )
    if not is_system(user):
        _maybe_sample_for_qa(case, user)
    emit(Trigger.CASE_LABELLED, "case", case.pk)
    return _save(case, before, "case.labelled", user, note=note)


def _maybe_sample_for_qa(case: Case, user: Any) -> None:
    percent = TriageConfig.load().qa_sample_percent
    if case.qa_status or percent <= 0 or random.random() * 100 >= percent:  # noqa: S311
        return
    QaReview.objects.create(case=case, original_disposition=case.disposition, original_analyst=user)
    case.qa_status = Case.QaStatus.PENDING


@transaction.atomic
def label_hit(
    hit_id: int,
    *,
    user: Any,
    disposition: str,
    reason: str = "",
    note: str = "",
    version: int | None = None,
) -> HitLabel:
    """Label one hit of a case (a case can mix true and false hits); ``version`` is the
    case's. The case stays as it is apart from its version."""
    reason = check_label(disposition, reason, note)
    hit = Hit.objects.select_related("indicator").filter(pk=hit_id).first()
    if hit is None:
        raise Hit.DoesNotExist(f"no hit {hit_id}")
    if hit.case_id is None:
        raise TriageError("this hit is in no case (a shadow or below-threshold hit)")
    case = _lock(hit.case_id, user, version)
    old = HitLabel.objects.filter(hit=hit).first()
    HitLabel.objects.filter(hit=hit).delete()
    (label,) = HitLabel.objects.bulk_create(
        _label_rows(case, [hit], disposition, reason, note, user, from_case=False)
    )
    before = snapshot(case, STATE_FIELDS)
    _save(
        case,
        before,
        "hit.labelled",
        user,
        note=f"hit {hit.pk} ({hit.indicator.type} {hit.indicator.value}) {note}".strip(),
        extra={"hit": [None, hit.pk], "disposition": [old and old.disposition, disposition]},
    )
    return label


@transaction.atomic
def escalate(case_id: int, *, user: Any, note: str = "", version: int | None = None) -> Case:
    """Send an open case to the leads."""
    case = _lock(case_id, user, version)
    if not case.is_open:
        raise TriageError("a resolved case cannot be escalated")
    before = snapshot(case, STATE_FIELDS)
    case.status = Case.Status.ESCALATED
    if note and not is_system(user):  # automation's note is in the audit entry
        CaseComment.objects.create(case=case, author=user, body=note)
    return _save(case, before, "case.escalated", user, note=note)


@transaction.atomic
def assign(case_id: int, *, user: Any, assignee: Any, version: int | None = None) -> Case:
    """Give the case to ``assignee`` (None: back to the queue)."""
    case = _lock(case_id, user, version)
    if not case.is_open:
        raise TriageError("a resolved case cannot be reassigned")
    if assignee is not None and not has_role(assignee, ANALYST):
        raise TriageError(f"{assignee.get_username()} is not an analyst")
    before = snapshot(case, STATE_FIELDS)
    case.assignee = assignee
    if assignee is None and case.status == Case.Status.IN_REVIEW:
        case.status = Case.Status.NEW
    elif assignee is not None and case.status == Case.Status.NEW:
        case.status = Case.Status.IN_REVIEW
    return _save(case, before, "case.assigned", user)


@transaction.atomic
def set_priority(case_id: int, *, user: Any, priority: int, version: int | None = None) -> Case:
    """Change an open case's priority; its SLA due time follows."""
    from cases.priority import sla_due

    if priority not in Priority.values:
        raise TriageError("priority must be one of 1, 2, 3, 4")
    case = _lock(case_id, user, version)
    if not case.is_open:
        raise TriageError("a resolved case's priority cannot be changed")
    before = snapshot(case, STATE_FIELDS)
    case.priority = priority
    case.sla_due_at = sla_due(case.created_at, priority)
    return _save(case, before, "case.priority_set", user)


@transaction.atomic
def set_priorities(case_ids: list[int], *, user: Any, priority: int) -> dict[int, Case | Exception]:
    """`set_priority` for many cases at once (automation): {case id: the case, or why not}.

    One lock, one UPDATE and one audit INSERT for all; each case is checked as `set_priority`
    checks it, and a case that fails its check is left as it was.
    """
    from cases.priority import sla_due

    if priority not in Priority.values:
        raise TriageError("priority must be one of 1, 2, 3, 4")
    cases = (
        Case.objects.visible_to(user)
        .select_for_update(of=("self",))
        .select_related("assignee", "rule")
        .filter(pk__in=case_ids)
        .order_by("pk")
    )
    config = TriageConfig.load()
    results: dict[int, Case | Exception] = {}
    changed: list[tuple[Case, dict[str, Any]]] = []
    now = timezone.now()
    for case in cases:
        if not can_change(user, case):
            results[case.pk] = PermissionDenied(f"Case {case.pk} cannot be changed by {user}.")
            continue
        if not case.is_open:
            results[case.pk] = TriageError("a resolved case's priority cannot be changed")
            continue
        before = snapshot(case, STATE_FIELDS)
        case.priority = priority
        case.sla_due_at = sla_due(case.created_at, priority, config)
        case.version += 1
        if case.first_touched_at is None and user is not None:
            case.first_touched_at = now
        changed.append((case, before))
        results[case.pk] = case
    for pk in case_ids:
        if pk not in results:
            results[pk] = Case.DoesNotExist(f"case {pk} does not exist")
    if changed:
        with connection.cursor() as cursor:  # pipelined; bulk_update's CASE costs far more
            cursor.executemany(
                "UPDATE cases_case SET priority = %s, sla_due_at = %s, version = %s, "
                "first_touched_at = %s, updated_at = %s WHERE id = %s",
                [
                    (c.priority, c.sla_due_at, c.version, c.first_touched_at, now, c.pk)
                    for c, _ in changed
                ],
            )
        record_many(
            "case.priority_set",
            [(case, diff(before, snapshot(case, STATE_FIELDS))) for case, before in changed],
            actor=user,
        )
    return results


@transaction.atomic
def add_comment(case_id: int, *, user: Any, body: str) -> CaseComment:
    """Add a comment; anyone who may see the case may comment on it."""
    body = body.strip()
    if not body:
        raise TriageError("the comment is empty")
    case = Case.objects.visible_to(user).select_for_update(of=("self",)).get(pk=case_id)
    comment = CaseComment.objects.create(case=case, author=user, body=body)
    record("case.commented", case, actor=user, note=body[:500])
    return comment


@transaction.atomic
def submit_qa_review(case_id: int, *, user: Any, disposition: str, note: str = "") -> QaReview:
    """Record a second reviewer's verdict on a sampled case and whether it agrees."""
    if disposition not in Disposition.values:
        raise TriageError(f"disposition must be one of {', '.join(Disposition.values)}")
    case = Case.objects.visible_to(user).select_for_update(of=("self",)).get(pk=case_id)
    review = QaReview.objects.select_for_update().filter(case=case).first()
    if review is None or review.reviewed_at is not None:
        raise TriageError("this case is not waiting for a second review")
    if review.original_analyst_id == user.pk:
        raise TriageError("the second review must be by someone else")
    review.reviewer, review.disposition, review.note = user, disposition, note
    review.agrees = disposition == review.original_disposition
    review.reviewed_at = timezone.now()
    review.save()
    before = snapshot(case, STATE_FIELDS)
    case.qa_status = Case.QaStatus.REVIEWED
    case.version += 1
    case.save(update_fields=["qa_status", "version", "updated_at"])
    record(
        "case.qa_reviewed",
        case,
        actor=user,
        changes={**diff(before, snapshot(case, STATE_FIELDS)), "agrees": [None, review.agrees]},
        note=note,
    )
    return review
