"""Queue health and QA numbers for leads: open work by priority and policy, age, SLA breaches,
each analyst's workload and throughput, and second-review agreement per analyst and per rule.

Every figure is one aggregate query over indexed columns, so the page stays quick on a queue of
hundreds of thousands of cases.
"""

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from cases.models import Case, Priority, QaReview
from detection.models import Rule

AGE_BUCKETS = [
    ("Under 1 hour", timedelta(hours=1)),
    ("1-4 hours", timedelta(hours=4)),
    ("4-24 hours", timedelta(days=1)),
    ("1-7 days", timedelta(days=7)),
]


def open_by_priority_and_policy(cases: Any) -> dict[str, Any]:
    """A matrix of open cases: one row per policy, one column per priority, with totals."""
    counts = cases.open().order_by().values("policy_label", "priority").annotate(n=Count("id"))
    labels = dict(Rule.PolicyLabel.choices)
    rows: dict[str, dict[int, int]] = {}
    for row in counts:
        rows.setdefault(row["policy_label"], {})[row["priority"]] = row["n"]
    priorities = [p for p, _ in Priority.choices]
    table = [
        {
            "policy": labels.get(policy, policy),
            "cells": [cells.get(p, 0) for p in priorities],
            "total": sum(cells.values()),
        }
        for policy, cells in sorted(rows.items())
    ]
    totals = [sum(r["cells"][i] for r in table) for i in range(len(priorities))]
    return {"priorities": [label for _, label in Priority.choices], "rows": table, "totals": totals}


def age_distribution(cases: Any, now: Any = None) -> list[tuple[str, int]]:
    """Open cases by how long they have waited."""
    now = now or timezone.now()
    aggregates: dict[str, Any] = {}
    lower = timedelta(0)
    for index, (_label, upper) in enumerate(AGE_BUCKETS):
        aggregates[f"b{index}"] = Count(
            "id", filter=Q(created_at__gt=now - upper, created_at__lte=now - lower)
        )
        lower = upper
    aggregates["older"] = Count("id", filter=Q(created_at__lte=now - lower))
    found = cases.open().order_by().aggregate(**aggregates)
    buckets = [(label, found[f"b{i}"]) for i, (label, _) in enumerate(AGE_BUCKETS)]
    return [*buckets, ("Over 7 days", found["older"])]


def sla_summary(cases: Any, now: Any = None) -> dict[str, int]:
    """Open cases, those past their SLA, and cases resolved late today."""
    now = now or timezone.now()
    return cases.order_by().aggregate(
        open=Count("id", filter=~Q(status=Case.Status.RESOLVED)),
        breached=Count("id", filter=~Q(status=Case.Status.RESOLVED) & Q(sla_due_at__lt=now)),
        escalated=Count("id", filter=Q(status=Case.Status.ESCALATED)),
        unassigned=Count("id", filter=Q(status=Case.Status.NEW, assignee__isnull=True)),
    )


def analyst_workload(cases: Any, now: Any = None) -> list[dict[str, Any]]:
    """Per analyst: open cases assigned, resolved today and in the last 7 days, SLA breaches."""
    now = now or timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = now - timedelta(days=7)
    open_q = ~Q(status=Case.Status.RESOLVED)
    assigned = (
        cases.filter(Q(assignee__isnull=False) & open_q)
        .order_by()
        .values("assignee__username")
        .annotate(
            open=Count("id"),
            breached=Count("id", filter=Q(sla_due_at__lt=now)),
        )
    )
    resolved = (
        cases.filter(resolved_by__isnull=False, resolved_at__gte=week)
        .order_by()
        .values("resolved_by__username")
        .annotate(week=Count("id"), today=Count("id", filter=Q(resolved_at__gte=today)))
    )
    people: dict[str, dict[str, Any]] = {}
    for row in assigned:
        people.setdefault(row["assignee__username"], {}).update(
            open=row["open"], breached=row["breached"]
        )
    for row in resolved:
        people.setdefault(row["resolved_by__username"], {}).update(
            today=row["today"], week=row["week"]
        )
    return [
        {"username": name, **{k: counts.get(k, 0) for k in ("open", "breached", "today", "week")}}
        for name, counts in sorted(people.items())
    ]


def qa_agreement() -> dict[str, list[dict[str, Any]]]:
    """Second-review agreement rate per original analyst and per rule."""
    reviewed = QaReview.objects.filter(reviewed_at__isnull=False).order_by()

    def rows(key: str) -> list[dict[str, Any]]:
        found = reviewed.values(key).annotate(
            reviews=Count("pk"), agreed=Count("pk", filter=Q(agrees=True))
        )
        return sorted(
            (
                {
                    "key": row[key] or "—",
                    "reviews": row["reviews"],
                    "agreed": row["agreed"],
                    "rate": row["agreed"] / row["reviews"] if row["reviews"] else None,
                }
                for row in found
            ),
            key=lambda r: str(r["key"]),
        )

    return {"analysts": rows("original_analyst__username"), "rules": rows("case__rule__name")}
