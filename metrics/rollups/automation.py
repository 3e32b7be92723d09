"""Refresh the automation rollups: playbook runs and their steps per start day and outcome.

Recent days are recomputed, plus the days of older runs that finished (or were retried) since
the previous refresh; a full refresh recomputes every day.
"""

from datetime import date, datetime

from django.db import connection

_RUN_DAYS = """
INSERT INTO metrics_playbookday (day, playbook_id, status, runs)
SELECT (started_at AT TIME ZONE 'UTC')::date, playbook_id, status, count(*)
FROM automation_playbookrun r WHERE {where}
GROUP BY 1, 2, 3
"""
_ACTION_DAYS = """
INSERT INTO metrics_actionday (day, playbook_id, action, outcome, steps)
SELECT (r.started_at AT TIME ZONE 'UTC')::date, r.playbook_id,
       left(coalesce(s.step ->> 'type', '?'), 40),
       left(coalesce(s.step ->> 'status', 'pending'), 20), count(*)
FROM automation_playbookrun r CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(r.steps) = 'array' THEN r.steps ELSE '[]'::jsonb END) AS s (step)
WHERE {where}
GROUP BY 1, 2, 3, 4
"""


def changed_run_days(since: datetime) -> list[date]:
    """Start days of runs that finished since ``since`` or are still running."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date FROM automation_playbookrun "
            "WHERE finished_at > %s OR status = 'running'",
            [since],
        )
        return [row[0] for row in cursor.fetchall()]


def refresh_automation(*, recent_from: date | None, changed_days: list[date]) -> dict[str, int]:
    """Recompute the run and action rollups of the days from ``recent_from`` on and of
    ``changed_days`` (``recent_from`` None: every day)."""
    if recent_from is None:
        day_where, run_where, params = "true", "true", []
    else:
        day_where = "(day >= %s OR day = ANY(%s))"
        run_where = (
            "(r.started_at >= %s::date::timestamp AT TIME ZONE 'UTC' "
            "OR (r.started_at AT TIME ZONE 'UTC')::date = ANY(%s))"
        )
        params = [recent_from, list(changed_days)]
    counts = {}
    with connection.cursor() as cursor:
        for table, sql in (("playbookday", _RUN_DAYS), ("actionday", _ACTION_DAYS)):
            # Table names and conditions are constants of this module; values are parameters.
            cursor.execute(f"DELETE FROM metrics_{table} WHERE {day_where}", params)  # noqa: S608
            cursor.execute(sql.format(where=run_where), params)
            counts[table] = cursor.rowcount
    return counts
