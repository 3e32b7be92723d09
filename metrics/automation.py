"""Automation metrics for the pages: playbook runs by outcome, actions by outcome, failures,
cases auto-resolved and the analyst time that saved.

Time saved is the cases automation resolved in the period times the median time people took
to handle a case (first touch to resolution) in the same period.
"""

from typing import Any

from django.db.models import Sum

from automation.models import Playbook, PlaybookRun
from metrics.models import ActionDay, CaseDay, PlaybookDay
from metrics.operations import percentiles
from metrics.periods import Period, day_series

RUN_STATUSES = tuple(PlaybookRun.Status.values)


def run_series(period: Period) -> tuple[list, dict[str, list[float]]]:
    """Runs per bucket, one series per status."""
    per_day: dict[Any, dict[str, Any]] = {}
    rows = (
        period.filter_days(PlaybookDay.objects.all())
        .values("day", "status")
        .annotate(n=Sum("runs"))
    )
    for row in rows.order_by():
        point = per_day.setdefault(
            row["day"], {"day": row["day"], **dict.fromkeys(RUN_STATUSES, 0)}
        )
        if row["status"] in point:
            point[row["status"]] = row["n"]
    return day_series(sorted(per_day.values(), key=lambda r: r["day"]), period, RUN_STATUSES)


def playbook_rows(period: Period) -> list[dict[str, Any]]:
    """Per playbook: runs by status and the failure rate of the runs that acted."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        period.filter_days(PlaybookDay.objects.all())
        .values("playbook_id", "status")
        .annotate(n=Sum("runs"))
    )
    for row in rows.order_by():
        counts.setdefault(row["playbook_id"], {})[row["status"]] = row["n"]
    result = []
    for playbook in Playbook.objects.filter(pk__in=counts):
        found = counts[playbook.pk]
        acted = found.get("success", 0) + found.get("failed", 0)
        result.append(
            {
                "playbook": playbook,
                "runs": sum(found.values()),
                **{status: found.get(status, 0) for status in RUN_STATUSES},
                "failure_rate": found.get("failed", 0) / acted if acted else None,
            }
        )
    return sorted(result, key=lambda r: (-r["runs"], r["playbook"].name))


def action_rows(period: Period) -> dict[str, Any]:
    """Action steps by type (rows) and outcome (columns)."""
    found = (
        period.filter_days(ActionDay.objects.all())
        .values("action", "outcome")
        .annotate(n=Sum("steps"))
        .order_by()
    )
    outcomes = sorted({row["outcome"] for row in found})
    table: dict[str, dict[str, int]] = {}
    for row in found:
        table.setdefault(row["action"], {})[row["outcome"]] = row["n"]
    return {
        "outcomes": outcomes,
        "rows": [
            {
                "action": action,
                "cells": [cells.get(o, 0) for o in outcomes],
                "total": sum(cells.values()),
            }
            for action, cells in sorted(table.items())
        ],
    }


def time_saved(period: Period) -> dict[str, Any]:
    """Cases auto-resolved in the period times the median handling time of people's cases."""
    auto = period.filter_days(CaseDay.objects.all()).aggregate(n=Sum("auto_resolved"))["n"] or 0
    median = percentiles(period, "handle_hist")["median"]
    return {
        "auto_resolved": auto,
        "median_handle_seconds": median,
        "saved_hours": auto * median / 3600 if median is not None else None,
    }


def failure_count(period: Period) -> int:
    """Failed runs started in the period."""
    rows = period.filter_days(PlaybookDay.objects.filter(status=PlaybookRun.Status.FAILED))
    return rows.aggregate(n=Sum("runs"))["n"] or 0
