"""Refresh the operations rollups, whole each time: the queue per day and analysts per day.

Both read every case once (a correction moves a resolution to the day it was corrected, so
any past day can change). The queue at a day's end is exact: cases opened by then minus those
resolved by then, and the same for SLA due times; the mean age comes from the sums of the
open cases' creation times.
"""

from datetime import date

from django.db import connection

from cases import health
from cases.models import Case

BUCKETS_PER_DOUBLING = 4

_CASE_DAYS = """
INSERT INTO metrics_caseday (day, opened, resolved, auto_resolved, resolved_late, open_at_end,
    past_sla_at_end, open_age_hours_at_end, first_touch_hist, resolve_hist, handle_hist)
WITH events AS (
    SELECT e.day, sum(e.opened) AS opened, sum(e.opened_epoch) AS opened_epoch,
           sum(e.resolved) AS resolved, sum(e.resolved_epoch) AS resolved_epoch,
           sum(e.auto) AS auto, sum(e.late) AS late, sum(e.due) AS due,
           sum(e.due_resolved) AS due_resolved
    FROM cases_case c
    CROSS JOIN LATERAL (VALUES
        ((c.created_at AT TIME ZONE 'UTC')::date, 1, date_part('epoch', c.created_at),
         0, 0, 0, 0, 0, 0),
        ((c.resolved_at AT TIME ZONE 'UTC')::date, 0, 0, 1, date_part('epoch', c.created_at),
         (c.resolved_by_id IS NULL)::int, (c.resolved_at > c.sla_due_at)::int, 0, 0),
        ((c.sla_due_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 0, 0, 1, 0),
        (greatest((c.sla_due_at AT TIME ZONE 'UTC')::date,
                  (c.resolved_at AT TIME ZONE 'UTC')::date),
         0, 0, 0, 0, 0, 0, 0, (c.resolved_at IS NOT NULL)::int)
    ) AS e (day, opened, opened_epoch, resolved, resolved_epoch, auto, late, due, due_resolved)
    WHERE e.day IS NOT NULL
    GROUP BY e.day
),
days AS (
    SELECT generate_series(min(day), %(today)s::date, interval '1 day')::date AS day FROM events
),
running AS (
    SELECT d.day, coalesce(e.opened, 0) AS opened, coalesce(e.resolved, 0) AS resolved,
           coalesce(e.auto, 0) AS auto, coalesce(e.late, 0) AS late,
           sum(coalesce(e.opened, 0) - coalesce(e.resolved, 0)) OVER w AS open_at_end,
           sum(coalesce(e.due, 0) - coalesce(e.due_resolved, 0)) OVER w AS past_sla,
           sum(coalesce(e.opened_epoch, 0) - coalesce(e.resolved_epoch, 0)) OVER w AS open_epochs
    FROM days d LEFT JOIN events e ON e.day = d.day
    WINDOW w AS (ORDER BY d.day)
)
SELECT day, opened, resolved, auto, late, open_at_end, past_sla,
       CASE WHEN open_at_end > 0
            THEN (date_part('epoch', (day + 1)::timestamp AT TIME ZONE 'UTC')
                  - open_epochs / open_at_end) / 3600
            ELSE 0 END,
       '{}', '{}', '{}'
FROM running
"""

_ANALYST_DAYS = """
INSERT INTO metrics_analystday (day, user_id, resolved, true_positive, false_positive,
    handle_seconds, handled, qa_reviewed, qa_agreed)
SELECT day, user_id, sum(resolved), sum(tp), sum(fp), sum(handle), sum(handled), sum(qa),
       sum(agreed)
FROM (
    SELECT (resolved_at AT TIME ZONE 'UTC')::date AS day, resolved_by_id AS user_id,
           1 AS resolved, (disposition = 'true_positive')::int AS tp,
           (disposition = 'false_positive')::int AS fp,
           coalesce(greatest(date_part('epoch', resolved_at - first_touched_at), 0), 0)
               AS handle,
           (first_touched_at IS NOT NULL)::int AS handled, 0 AS qa, 0 AS agreed
    FROM cases_case
    WHERE resolved_by_id IS NOT NULL AND resolved_at IS NOT NULL
    UNION ALL
    SELECT (reviewed_at AT TIME ZONE 'UTC')::date, original_analyst_id, 0, 0, 0, 0, 0, 1,
           (agrees IS TRUE)::int
    FROM cases_qareview
    WHERE reviewed_at IS NOT NULL AND original_analyst_id IS NOT NULL
) work
GROUP BY day, user_id
"""


# Durations in log buckets: bucket b holds [2^(b/4), 2^((b+1)/4)) seconds (under 1.19 s: 0).
_HISTOGRAMS = """
UPDATE metrics_caseday d
SET first_touch_hist = coalesce(h.first_touch, '{}'), resolve_hist = coalesce(h.resolve, '{}'),
    handle_hist = coalesce(h.handle, '{}')
FROM (
    SELECT day, jsonb_object_agg(bucket, n) FILTER (WHERE kind = 'first_touch') AS first_touch,
           jsonb_object_agg(bucket, n) FILTER (WHERE kind = 'resolve') AS resolve,
           jsonb_object_agg(bucket, n) FILTER (WHERE kind = 'handle') AS handle
    FROM (
        SELECT day, kind,
               floor(%(per_doubling)s * ln(greatest(seconds, 1.0)) / ln(2))::int::text AS bucket,
               count(*) AS n
        FROM cases_case c
        CROSS JOIN LATERAL (VALUES
            ((c.created_at AT TIME ZONE 'UTC')::date, 'first_touch',
             date_part('epoch', c.first_touched_at - c.created_at)),
            ((c.resolved_at AT TIME ZONE 'UTC')::date, 'resolve',
             date_part('epoch', c.resolved_at - c.created_at)),
            ((c.resolved_at AT TIME ZONE 'UTC')::date,
             CASE WHEN c.resolved_by_id IS NOT NULL THEN 'handle' END,
             date_part('epoch', c.resolved_at - c.first_touched_at))
        ) AS t (day, kind, seconds)
        WHERE t.seconds IS NOT NULL AND t.kind IS NOT NULL
        GROUP BY 1, 2, 3
    ) buckets
    GROUP BY day
) h
WHERE d.day = h.day
"""


def queue_snapshot() -> dict:
    """The queue as it is now (`cases.health`), for the pages to show without counting it."""
    cases = Case.objects.all()
    return {**health.sla_summary(cases), "ages": health.age_distribution(cases)}


def refresh_operations(*, today: date) -> dict[str, int]:
    """Rebuild the queue and analyst rollups from the cases and QA reviews."""
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM metrics_caseday")
        cursor.execute(_CASE_DAYS, {"today": today})
        counts["caseday"] = cursor.rowcount
        cursor.execute(_HISTOGRAMS, {"per_doubling": BUCKETS_PER_DOUBLING})
        cursor.execute("DELETE FROM metrics_analystday")
        cursor.execute(_ANALYST_DAYS)
        counts["analystday"] = cursor.rowcount
    return counts
