"""Opening cases from hits: group each new live hit into its rule's case, or open one.

A rule groups its hits per author, per indicator or per event (`Rule.grouping`): a hit joins an
open case of the same rule and grouping key whose first hit lies within the rule's group window
of it, otherwise it opens a new case. Shadow hits and hits below their rule's threshold stay out
of cases (a threshold promotion brings them in later).

:func:`group_hits` runs in the scan's transaction. Two scans grouping the same keys are
serialised by one advisory lock per (rule, key), and the open cases are read `FOR UPDATE`, so a
hit never lands in a case that an analyst resolved a moment before, and two workers never open
two cases for one group.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from automation.models import Trigger
from automation.outbox import emit_many
from cases.models import Case, TriageConfig
from cases.priority import hit_priority, sla_due
from detection.models import Hit, Rule
from intel.models import TLP
from tdp.logging import request_id_var
from tdp.models import AuditEntry


@dataclass
class _Row:
    id: int
    rule_id: int
    indicator_id: int
    event_id: str
    author_id: str
    occurred_at: datetime
    grouping: str
    window: timedelta
    policy_label: str
    priority: int
    restricted: bool

    @property
    def key(self) -> str:
        if self.grouping == Rule.Grouping.PER_INDICATOR:
            return str(self.indicator_id)
        if self.grouping == Rule.Grouping.PER_EVENT:
            return self.event_id
        return self.author_id


@dataclass
class _Group:
    case: Case
    rows: list[_Row] = field(default_factory=list)


def _rows(hit_ids: Iterable[int]) -> list[_Row]:
    found = (
        Hit.objects.filter(
            pk__in=list(hit_ids),
            case__isnull=True,
            mode=Rule.Mode.LIVE,
            is_over_threshold=True,
        )
        .order_by("occurred_at", "id")
        .values_list(
            "id",
            "rule_id",
            "indicator_id",
            "event_id",
            "author_id",
            "occurred_at",
            "rule__grouping",
            "rule__group_window_seconds",
            "rule__policy_label",
            "rule__severity",
            "indicator__confidence",
            "indicator__tlp",
        )
    )
    return [
        _Row(
            id_,
            rule_id,
            indicator_id,
            event_id,
            author_id,
            occurred_at,
            grouping,
            timedelta(seconds=window),
            policy,
            hit_priority(severity, confidence),
            tlp == TLP.RED,
        )
        for (
            id_,
            rule_id,
            indicator_id,
            event_id,
            author_id,
            occurred_at,
            grouping,
            window,
            policy,
            severity,
            confidence,
            tlp,
        ) in found
    ]


def _lock_groups(keys: Iterable[tuple[int, str]]) -> None:
    names = [f"case:{rule_id}:{key}" for rule_id, key in sorted(set(keys))]
    with connection.cursor() as cursor:  # one round trip; one order everywhere: no deadlocks
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(name, 0))) FROM"
            " (SELECT name FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, n) ORDER BY n) s",
            [names],
        )


def group_hits(
    hit_ids: Iterable[int], *, handles: Mapping[str, str] | None = None, now: datetime | None = None
) -> list[Case]:
    """Put the given hits (those live, over threshold and not in a case yet) into cases.

    ``handles`` maps author ids to handles for the cases' titles. Returns the cases it opened.
    Call inside the transaction that stored the hits.
    """
    rows = _rows(hit_ids)
    if not rows:
        return []
    now = now or timezone.now()
    handles = handles or {}
    config = TriageConfig.load()
    by_key: dict[tuple[int, str], list[_Row]] = defaultdict(list)
    for row in rows:
        by_key[(row.rule_id, row.key)].append(row)
    _lock_groups(by_key)
    open_cases: dict[tuple[int, str], list[Case]] = defaultdict(list)
    candidates = (
        Case.objects.open()
        .filter(rule_id__in={k[0] for k in by_key}, group_key__in={k[1] for k in by_key})
        .order_by("id")
        .select_for_update()
    )
    for case in candidates:
        open_cases[(case.rule_id, case.group_key)].append(case)

    groups: dict[int, _Group] = {}  # id(case) -> group, new cases have no pk yet
    for (rule_id, key), key_rows in by_key.items():
        cases = open_cases[(rule_id, key)]
        for row in key_rows:
            case = next(
                (c for c in cases if abs(row.occurred_at - c.first_hit_at) <= row.window), None
            )
            if case is None:
                case = Case(
                    rule_id=rule_id,
                    grouping=row.grouping,
                    group_key=key[:200],
                    priority=row.priority,
                    sla_due_at=sla_due(now, row.priority, config),
                    policy_label=row.policy_label,
                    author_id="" if row.grouping == Rule.Grouping.PER_INDICATOR else row.author_id,
                    author_handle=handles.get(row.author_id, "")[:200]
                    if row.grouping != Rule.Grouping.PER_INDICATOR
                    else "",
                    hit_count=0,
                    first_hit_at=row.occurred_at,
                    last_hit_at=row.occurred_at,
                    created_at=now,
                )
                cases.append(case)
            groups.setdefault(id(case), _Group(case)).rows.append(row)

    new_cases = [g.case for g in groups.values() if g.case.pk is None]
    for group in groups.values():
        case = group.case
        case.hit_count += len(group.rows)
        case.first_hit_at = min(case.first_hit_at, *(r.occurred_at for r in group.rows))
        case.last_hit_at = max(case.last_hit_at, *(r.occurred_at for r in group.rows))
        priority = min(case.priority, *(r.priority for r in group.rows))
        if priority < case.priority or case.pk is None:
            case.sla_due_at = min(case.sla_due_at, sla_due(case.created_at, priority, config))
        case.priority = priority
        case.is_restricted = case.is_restricted or any(r.restricted for r in group.rows)
        if case.pk is not None:
            # New evidence: an analyst's label from a page that did not show it is a conflict.
            case.version += 1
    Case.objects.bulk_create(new_cases)
    grown = [g.case for g in groups.values() if g.case not in new_cases]
    if grown:
        Case.objects.bulk_update(
            grown,
            [
                "hit_count",
                "first_hit_at",
                "last_hit_at",
                "priority",
                "sla_due_at",
                "is_restricted",
                "version",
            ],
        )
    hit_ids_col, case_ids_col = [], []
    for group in groups.values():
        for row in group.rows:
            hit_ids_col.append(row.id)
            case_ids_col.append(group.case.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE detection_hit AS h SET case_id = u.case_id"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS u(hit_id, case_id) WHERE h.id = u.hit_id",
            [hit_ids_col, case_ids_col],
        )
    _audit_opened(new_cases)
    emit_many(Trigger.CASE_CREATED, "case", [case.pk for case in new_cases])
    return new_cases


def _audit_opened(cases: list[Case]) -> None:
    """One audit entry per opened case, written in one statement (scans open many at once)."""
    if not cases:
        return
    content_type = ContentType.objects.get_for_model(Case)
    request_id = request_id_var.get()
    AuditEntry.objects.bulk_create(
        AuditEntry(
            user=None,
            user_name="system",
            request_id=request_id,
            action="case.opened",
            content_type=content_type,
            object_id=str(case.pk),
            object_repr=str(case),
            changes={
                "rule": [None, case.rule_id],
                "group_key": [None, case.group_key],
                "priority": [None, case.priority],
                "hits": [None, case.hit_count],
            },
        )
        for case in cases
    )
