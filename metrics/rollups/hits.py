"""The one SQL that turns hits (and their labels) into detection counts, per family of key.

Both the refresh (grouped per UTC day, written to the rollup tables) and the live reads
(`metrics.precision`, grouped per key only) aggregate hits through `family_sql`, so a count
means the same whichever path computed it. Which hits are counted is a `HitSpan` list: each
span is a created-at interval with an id range, because hits are found by id (their primary
key), not by `created_at`, which has no index.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

FAMILIES = ("rule", "indicator", "source")

# One row per hit: its day, keys, whether it opened its case or is its indicator's first hit in
# the case, and its label. One index probe per hit finds the other hits of its case; reads that
# need no case counts (the API) use HIT_ROWS_NO_CASES, which skips it.
HIT_ROWS = """
SELECT h.id, h.created_at, (h.created_at AT TIME ZONE 'UTC')::date AS day, h.rule_id, h.mode,
       h.indicator_id,
       coalesce(c.first_id = h.id, false) AS opens_case,
       coalesce(c.first_of_indicator = h.id, false) AS first_in_case,
       l.disposition, l.source_ids
FROM detection_hit h
LEFT JOIN cases_hitlabel l ON l.hit_id = h.id
LEFT JOIN LATERAL (
    SELECT min(e.id) AS first_id,
           min(e.id) FILTER (WHERE e.indicator_id = h.indicator_id) AS first_of_indicator
    FROM detection_hit e WHERE e.case_id = h.case_id
) c ON h.case_id IS NOT NULL
WHERE {where}
"""

HIT_ROWS_NO_CASES = """
SELECT h.id, h.created_at, (h.created_at AT TIME ZONE 'UTC')::date AS day, h.rule_id, h.mode,
       h.indicator_id, false AS opens_case, false AS first_in_case, l.disposition, l.source_ids
FROM detection_hit h
LEFT JOIN cases_hitlabel l ON l.hit_id = h.id
WHERE {where}
"""

_COUNTS = """count(*) AS hits, count(*) FILTER (WHERE {case_flag}) AS cases,
    count(disposition) AS labelled,
    count(*) FILTER (WHERE disposition = 'true_positive') AS true_positive,
    count(*) FILTER (WHERE disposition = 'false_positive') AS false_positive"""

_CASE_FLAG = {"rule": "opens_case", "indicator": "first_in_case", "source": "opens_case"}
_FAMILY_SQL = {
    "rule": "SELECT {day} rule_id, mode, {counts} FROM {hits} x GROUP BY {day} rule_id, mode",
    "indicator": "SELECT {day} indicator_id, {counts} FROM {hits} x GROUP BY {day} indicator_id",
    # Hits go to the sources that had reported the indicator by then; labels to the sources
    # recorded on the label.
    "source": """
SELECT {day} source_id, sum(hits)::bigint AS hits, sum(cases)::bigint AS cases,
       sum(labelled)::bigint AS labelled, sum(true_positive)::bigint AS true_positive,
       sum(false_positive)::bigint AS false_positive
FROM (
    SELECT {day} p.source_id, count(*) AS hits, count(*) FILTER (WHERE opens_case) AS cases,
           0 AS labelled, 0 AS true_positive, 0 AS false_positive
    FROM {hits} x JOIN intel_indicatorsource p
        ON p.indicator_id = x.indicator_id AND p.first_seen_at <= x.created_at
    GROUP BY {day} p.source_id
    UNION ALL
    SELECT {day} s.source_id, 0, 0, count(*),
           count(*) FILTER (WHERE disposition = 'true_positive'),
           count(*) FILTER (WHERE disposition = 'false_positive')
    FROM {hits} x CROSS JOIN LATERAL unnest(x.source_ids) AS s (source_id)
    WHERE x.disposition IS NOT NULL
    GROUP BY {day} s.source_id
) parts
GROUP BY {day} source_id""",
}

COUNT_COLUMNS = ("hits", "cases", "labelled", "true_positive", "false_positive")


@dataclass(frozen=True)
class HitSpan:
    """Hits created in [start, end) with ids in [first_id, last_id]; None leaves a side open."""

    start: datetime | None = None
    end: datetime | None = None
    first_id: int | None = None
    last_id: int | None = None


def where_spans(spans: list[HitSpan], alias: str = "h") -> tuple[str, list[Any]]:
    """A WHERE condition (and its parameters) selecting the hits of any of ``spans``."""
    if not spans:
        return "false", []
    parts, params = [], []
    for span in spans:
        conds = []
        for column, op, value in (
            ("id", ">=", span.first_id),
            ("id", "<=", span.last_id),
            ("created_at", ">=", span.start),
            ("created_at", "<", span.end),
        ):
            if value is not None:
                conds.append(f"{alias}.{column} {op} %s")
                params.append(value)
        parts.append("(" + (" AND ".join(conds) or "true") + ")")
    return "(" + " OR ".join(parts) + ")", params


def hit_rows_sql(spans: list[HitSpan], *, with_cases: bool = True) -> tuple[str, list[Any]]:
    """The per-hit rows of ``spans`` (see HIT_ROWS) and their parameters; without
    ``with_cases`` the case flags are all false (and cost nothing)."""
    where, params = where_spans(spans)
    return (HIT_ROWS if with_cases else HIT_ROWS_NO_CASES).format(where=where), params


def family_sql(family: str, hits: str, *, per_day: bool) -> str:
    """Counts of ``family`` over the hit rows in table ``hits`` (or a CTE of HIT_ROWS),
    grouped by key, and by day first when ``per_day``."""
    counts = _COUNTS.format(case_flag=_CASE_FLAG[family])
    return _FAMILY_SQL[family].format(day="day," if per_day else "", hits=hits, counts=counts)


def live_counts(family: str, spans: list[HitSpan], *, with_cases: bool = True) -> list[tuple]:
    """Counts of ``family`` per key over the hits of ``spans``, computed now from the hits
    (without ``with_cases``, the case counts are 0)."""
    from django.db import connection

    if not spans:
        return []
    rows_sql, params = hit_rows_sql(spans, with_cases=with_cases)
    with connection.cursor() as cursor:
        sql = f"WITH hit_rows AS ({rows_sql}) {family_sql(family, 'hit_rows', per_day=False)}"
        cursor.execute(sql, params)
        return cursor.fetchall()


# Labels written since a time on hits up to a watermark, beside the label the rollups counted
# for the hit (none: the hit was counted unlabelled). Only real changes are kept.
LABEL_CHANGES = """
SELECT h.id, (h.created_at AT TIME ZONE 'UTC')::date AS day, h.rule_id, h.mode, h.indicator_id,
       l.disposition AS new_disposition, l.source_ids AS new_sources,
       c.disposition AS old_disposition, c.source_ids AS old_sources
FROM cases_hitlabel l
JOIN detection_hit h ON h.id = l.hit_id
LEFT JOIN metrics_countedlabel c ON c.hit_id = l.hit_id
WHERE l.labelled_at > %s AND h.id <= %s {where}
  AND (c.hit_id IS NULL OR c.disposition <> l.disposition OR c.source_ids <> l.source_ids)
"""

_DELTA = """0 AS hits, 0 AS cases,
    sum(1 - (old_disposition IS NOT NULL)::int) AS labelled,
    sum((new_disposition = 'true_positive')::int
        - coalesce((old_disposition = 'true_positive')::int, 0)) AS true_positive,
    sum((new_disposition = 'false_positive')::int
        - coalesce((old_disposition = 'false_positive')::int, 0)) AS false_positive"""
_DELTA_SQL = {
    "rule": "SELECT {day} rule_id, mode, {delta} FROM {changes} x GROUP BY {day} rule_id, mode",
    "indicator": "SELECT {day} indicator_id, {delta} FROM {changes} x GROUP BY {day} indicator_id",
    "source": """
SELECT {day} source_id, 0 AS hits, 0 AS cases, sum(labelled)::bigint AS labelled,
       sum(true_positive)::bigint AS true_positive, sum(false_positive)::bigint AS false_positive
FROM (
    SELECT {day} s.source_id, 1 AS labelled,
           (new_disposition = 'true_positive')::int AS true_positive,
           (new_disposition = 'false_positive')::int AS false_positive
    FROM {changes} x CROSS JOIN LATERAL unnest(x.new_sources) AS s (source_id)
    UNION ALL
    SELECT {day} s.source_id, -1, -(old_disposition = 'true_positive')::int,
           -(old_disposition = 'false_positive')::int
    FROM {changes} x CROSS JOIN LATERAL unnest(x.old_sources) AS s (source_id)
    WHERE x.old_disposition IS NOT NULL
) parts
GROUP BY {day} source_id""",
}


def label_delta_sql(family: str, changes: str, *, per_day: bool) -> str:
    """What the label changes in table ``changes`` (rows of LABEL_CHANGES) add to the counts
    of ``family``, per key (and day first when ``per_day``): one label more or less, and the
    move between dispositions and sources. A changed label's hit is counted already."""
    return _DELTA_SQL[family].format(day="day," if per_day else "", changes=changes, delta=_DELTA)


def label_changes_sql(where: str = "") -> str:
    """LABEL_CHANGES with an extra condition on the hit ``h`` (parameters: since, watermark,
    then those of ``where``)."""
    return LABEL_CHANGES.format(where=f"AND {where}" if where else "")
