"""Refresh the detection rollups: hit id ranges per day, counts per rule, indicator and source
per day, the per-indicator window totals and the ledger of counted labels.

A recent refresh recounts the hits of the days from the one the previous refresh ran on (so
late hits of today, a hit joining a case later and labels are all seen again), and of older
days that got hits since (a transaction spanning midnight). Labels written since on older days
are not recounted: each adds its difference with the label the rollups counted
(`CountedLabel`). Only changed rows are written, and the windows get the same differences, so
a refresh costs what happened since the last one, not what the tables hold. Only hits up to the
run's watermark id are counted; reads add the newer ones live.
"""

# The SQL here is assembled from this module's constant column lists and table names only;
# every value is a query parameter.
# ruff: noqa: S608

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection

from metrics.models import HitDay, IndicatorWindow
from metrics.rollups.hits import (
    HitSpan,
    family_sql,
    hit_rows_sql,
    label_changes_sql,
    label_delta_sql,
)

_TEMP_TABLES = (
    "metrics_merge",
    "metrics_hit_rows",
    "metrics_new_indicator",
    "metrics_delta_indicator",
    "metrics_delta_window",
    "metrics_label_changes",
)
_TABLES = {
    "rule": ("metrics_ruleday", "day, rule_id, mode"),
    "indicator": ("metrics_indicatorday", "day, indicator_id"),
    "source": ("metrics_sourceday", "day, source_id"),
}
_COUNTS = ("hits", "cases", "labelled", "true_positive", "false_positive")
_COLUMNS = ", ".join(_COUNTS)
_NONZERO = " OR ".join(f"{c} <> 0" for c in _COUNTS)
_NONZERO_SUMS = " OR ".join(f"sum({c}) <> 0" for c in _COUNTS)
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in _COUNTS)


def _rates(tp: str, fp: str, labelled: str) -> tuple[str, str]:
    """SQL for precision and the false-positive rate of the given count expressions."""
    return (
        f"CASE WHEN {tp} + {fp} > 0 THEN ({tp})::float / ({tp} + {fp}) END",
        f"CASE WHEN {labelled} > 0 THEN ({fp})::float / ({labelled}) END",
    )


def _merge(
    cursor: Any, table: str, keys: tuple[str, ...], source: str, *, rates: bool = False
) -> int:
    """Add the counts of query ``source`` (one row per key, differences) to ``table``: update
    the rows that exist, insert the others. (Not INSERT ... ON CONFLICT: Postgres checks the
    proposed row's CHECK constraints first, and a difference may be negative.)"""
    cursor.execute("DROP TABLE IF EXISTS metrics_merge")
    cursor.execute(f"CREATE TEMP TABLE metrics_merge ON COMMIT DROP AS {source}")
    match = " AND ".join(f"t.{k} = m.{k}" for k in keys)
    sets = [f"{c} = t.{c} + m.{c}" for c in _COUNTS]
    columns, values = [*keys, *_COUNTS], [f"m.{c}" for c in (*keys, *_COUNTS)]
    if rates:
        sets += [
            f"{name} = {sql}"
            for name, sql in zip(
                ("precision", "false_positive_rate"),
                _rates(
                    *(f"(t.{c} + m.{c})" for c in ("true_positive", "false_positive", "labelled"))
                ),
                strict=True,
            )
        ]
        columns += ["precision", "false_positive_rate"]
        values += list(_rates("m.true_positive", "m.false_positive", "m.labelled"))
    cursor.execute(f"UPDATE {table} t SET {', '.join(sets)} FROM metrics_merge m WHERE {match}")
    written = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
        f"FROM metrics_merge m WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match})"
    )
    return written + cursor.rowcount


def midnight(day: date) -> datetime:
    """The UTC start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_spans(days: list[date], watermark: int, newer_than: int | None = None) -> list[HitSpan]:
    """Spans selecting the hits (up to ``watermark``) of whole ``days``: those in the id range
    the last refresh recorded for the day and, with ``newer_than``, any hit above that id
    (days it never saw are scanned by time alone)."""
    bounds = {b.day: b for b in HitDay.objects.filter(day__in=days)}
    spans = []
    for day in sorted(days):
        start, end = midnight(day), midnight(day + timedelta(days=1))
        found = bounds.get(day)
        if found is None:
            spans.append(HitSpan(start, end, None, watermark))
            continue
        spans.append(HitSpan(start, end, found.first_hit_id, min(found.last_hit_id, watermark)))
        if newer_than is not None and newer_than < watermark:
            spans.append(HitSpan(start, end, newer_than + 1, watermark))
    return spans


def first_id_from(day: date, previous_watermark: int) -> int:
    """The lowest hit id that can belong to ``day`` or later: the first ids recorded for those
    days, or any hit the previous refresh did not see."""
    found = HitDay.objects.filter(day__gte=day).order_by("first_hit_id").first()
    first = previous_watermark + 1
    return min(found.first_hit_id, first) if found else first


def new_hit_days(previous_watermark: int, watermark: int) -> list[date]:
    """UTC days of the hits created since the previous refresh (ids above its watermark)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM detection_hit "
            "WHERE id > %s AND id <= %s",
            [previous_watermark, watermark],
        )
        return sorted(row[0] for row in cursor.fetchall())


def refresh_detection(
    *,
    watermark: int,
    previous: Any,
    recount_from: date | None,
    recount_days: list[date],
    today: date,
) -> dict[str, int]:
    """Recount the hits of the days from ``recount_from`` on and of ``recount_days``
    (``recount_from`` None: every day, rebuilding everything) up to ``watermark``, add the
    labels written since ``previous`` (a RollupRun) on other days, and move the windows to
    ``today``."""
    full = recount_from is None
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in _TEMP_TABLES:  # left by an earlier refresh in the same transaction (tests)
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        if full:
            spans = [HitSpan(last_id=watermark)]
            day_filter, day_params = "true", []
        else:
            first_id = first_id_from(recount_from, previous.hit_watermark)
            recent = HitSpan(start=midnight(recount_from), first_id=first_id, last_id=watermark)
            spans = [recent, *day_spans(recount_days, watermark, previous.hit_watermark)]
            day_filter = "(day >= %s OR day = ANY(%s))"
            day_params = [recount_from, list(recount_days)]
        rows_sql, params = hit_rows_sql(spans)
        cursor.execute(f"CREATE TEMP TABLE metrics_hit_rows ON COMMIT DROP AS {rows_sql}", params)
        counts["hits"] = cursor.rowcount
        cursor.execute("ANALYZE metrics_hit_rows")
        cursor.execute(
            "CREATE TEMP TABLE metrics_delta_window (window_days int, indicator_id bigint, "
            f"{', '.join(f'{c} bigint' for c in _COUNTS)}) ON COMMIT DROP"
        )
        if not full:
            _leave_windows(cursor, previous.window_day, today)
        # Rules, sources and day ranges: few rows, replaced whole for the recounted days (the
        # day filter is one of two constant texts; its values are parameters).
        for table in ("metrics_hitday", "metrics_ruleday", "metrics_sourceday"):
            cursor.execute(f"DELETE FROM {table} WHERE {day_filter}", day_params)
        cursor.execute(
            "INSERT INTO metrics_hitday (day, first_hit_id, last_hit_id, hits) "
            "SELECT day, min(id), max(id), count(*) FROM metrics_hit_rows GROUP BY day"
        )
        for family in ("rule", "source"):
            table, keys = _TABLES[family]
            cursor.execute(
                f"INSERT INTO {table} ({keys}, {_COLUMNS}) "
                + family_sql(family, "metrics_hit_rows", per_day=True)
            )
            counts[table.removeprefix("metrics_")] = cursor.rowcount
        counts["indicatorday"] = _recount_indicators(cursor, day_filter, day_params, full)
        counts["countedlabel"] = _count_labels(cursor, full)
        if not full:
            counts["label_changes"] = _add_label_changes(cursor, previous, watermark)
        counts["indicatorwindow"] = _refresh_windows(cursor, today=today, full=full)
    return counts


def _recount_indicators(cursor: Any, day_filter: str, day_params: list, full: bool) -> int:
    """Replace the recounted days' indicator rows, writing only the rows that changed, and
    keep each change (new minus old) for the windows."""
    cursor.execute(
        "CREATE TEMP TABLE metrics_new_indicator ON COMMIT DROP AS "
        + family_sql("indicator", "metrics_hit_rows", per_day=True)
    )
    if full:
        cursor.execute("DELETE FROM metrics_indicatorday")
        cursor.execute(
            f"INSERT INTO metrics_indicatorday (day, indicator_id, {_COLUMNS}) "
            f"SELECT day, indicator_id, {_COLUMNS} FROM metrics_new_indicator"
        )
        return cursor.rowcount
    differences = ", ".join(f"coalesce(n.{c}, 0) - coalesce(o.{c}, 0) AS {c}" for c in _COUNTS)
    cursor.execute(
        f"""
        CREATE TEMP TABLE metrics_delta_indicator ON COMMIT DROP AS
        SELECT * FROM (
            SELECT coalesce(n.day, o.day) AS day,
                   coalesce(n.indicator_id, o.indicator_id) AS indicator_id, {differences}
            FROM metrics_new_indicator n
            FULL JOIN (SELECT * FROM metrics_indicatorday WHERE {day_filter}) o
                ON o.day = n.day AND o.indicator_id = n.indicator_id
        ) d
        WHERE {_NONZERO}
        """,
        day_params,
    )
    return _apply_indicator_deltas(cursor)


def _apply_indicator_deltas(cursor: Any) -> int:
    """Add metrics_delta_indicator to the indicator days and drop the rows it empties."""
    written = _merge(
        cursor,
        "metrics_indicatorday",
        ("day", "indicator_id"),
        f"SELECT day, indicator_id, {_SUMS} FROM metrics_delta_indicator "
        f"GROUP BY day, indicator_id HAVING {_NONZERO_SUMS}",
    )
    cursor.execute(
        "DELETE FROM metrics_indicatorday t USING metrics_delta_indicator d "
        "WHERE t.day = d.day AND t.indicator_id = d.indicator_id AND t.hits = 0"
    )
    return written


def _count_labels(cursor: Any, full: bool) -> int:
    """Record the labels just counted with the recounted hits (and forget hits counted
    unlabelled)."""
    if full:
        cursor.execute("DELETE FROM metrics_countedlabel")
    else:
        cursor.execute(
            "DELETE FROM metrics_countedlabel c USING metrics_hit_rows h "
            "WHERE c.hit_id = h.id AND h.disposition IS NULL"
        )
    cursor.execute(
        "INSERT INTO metrics_countedlabel (hit_id, disposition, source_ids) "
        "SELECT id, disposition, coalesce(source_ids, '{}') FROM metrics_hit_rows "
        "WHERE disposition IS NOT NULL "
        "ON CONFLICT (hit_id) DO UPDATE SET disposition = EXCLUDED.disposition, "
        "source_ids = EXCLUDED.source_ids "
        "WHERE (metrics_countedlabel.disposition, metrics_countedlabel.source_ids) "
        "IS DISTINCT FROM (EXCLUDED.disposition, EXCLUDED.source_ids)"
    )
    return cursor.rowcount


def _add_label_changes(cursor: Any, previous: Any, watermark: int) -> int:
    """Add the labels written since ``previous`` on hits that were not recounted."""
    from metrics.rollups import COMMIT_MARGIN

    where = "NOT EXISTS (SELECT 1 FROM metrics_hit_rows r WHERE r.id = h.id)"
    cursor.execute("CREATE INDEX ON metrics_hit_rows (id)")
    cursor.execute(
        "CREATE TEMP TABLE metrics_label_changes ON COMMIT DROP AS " + label_changes_sql(where),
        [previous.started_at - COMMIT_MARGIN, watermark],
    )
    changed = cursor.rowcount
    if not changed:
        return 0
    for family in ("rule", "source"):
        table, keys = _TABLES[family]
        _merge(
            cursor,
            table,
            tuple(keys.split(", ")),
            label_delta_sql(family, "metrics_label_changes", per_day=True),
        )
    cursor.execute(
        f"INSERT INTO metrics_delta_indicator (day, indicator_id, {_COLUMNS}) "
        + label_delta_sql("indicator", "metrics_label_changes", per_day=True)
    )
    _merge(
        cursor,
        "metrics_indicatorday",
        ("day", "indicator_id"),
        label_delta_sql("indicator", "metrics_label_changes", per_day=True),
    )
    cursor.execute(
        "INSERT INTO metrics_countedlabel (hit_id, disposition, source_ids) "
        "SELECT id, new_disposition, new_sources FROM metrics_label_changes "
        "ON CONFLICT (hit_id) DO UPDATE SET disposition = EXCLUDED.disposition, "
        "source_ids = EXCLUDED.source_ids"
    )
    return changed


def _leave_windows(cursor: Any, window_day: date | None, today: date) -> None:
    """Queue the subtraction of the days that left each window since ``window_day`` (their
    rows as the windows hold them: before this refresh changes any)."""
    if window_day is None or window_day >= today:
        return
    for days in (w for w in IndicatorWindow.WINDOWS if w):
        cursor.execute(
            f"INSERT INTO metrics_delta_window (window_days, indicator_id, {_COLUMNS}) "
            f"SELECT %s, indicator_id, {', '.join(f'-{c}' for c in _COUNTS)} "
            "FROM metrics_indicatorday WHERE day > %s::date - %s AND day <= %s::date - %s",
            [days, window_day, days, today, days],
        )


_WINDOW_FULL = f"""
INSERT INTO metrics_indicatorwindow (window_days, indicator_id, {_COLUMNS}, precision,
    false_positive_rate)
SELECT w.days, d.indicator_id, {_SUMS},
    {", ".join(_rates("sum(d.true_positive)", "sum(d.false_positive)", "sum(d.labelled)"))}
FROM metrics_indicatorday d CROSS JOIN unnest(%(windows)s::int[]) AS w (days)
WHERE w.days = 0 OR d.day > %(today)s::date - w.days
GROUP BY w.days, d.indicator_id
"""


def _refresh_windows(cursor: Any, *, today: date, full: bool) -> int:
    """Rebuild the windows (``full``), or add the queued changes to them."""
    params = {"windows": list(IndicatorWindow.WINDOWS), "today": today}
    if full:
        cursor.execute("DELETE FROM metrics_indicatorwindow")
        cursor.execute(_WINDOW_FULL, params)
        return cursor.rowcount
    cursor.execute(
        f"INSERT INTO metrics_delta_window (window_days, indicator_id, {_COLUMNS}) "
        f"SELECT w.days, d.indicator_id, {_COLUMNS} FROM metrics_delta_indicator d "
        "CROSS JOIN unnest(%(windows)s::int[]) AS w (days) "
        "WHERE w.days = 0 OR d.day > %(today)s::date - w.days",
        params,
    )
    written = _merge(
        cursor,
        "metrics_indicatorwindow",
        ("window_days", "indicator_id"),
        f"SELECT window_days, indicator_id, {_SUMS} FROM metrics_delta_window "
        f"GROUP BY window_days, indicator_id HAVING {_NONZERO_SUMS}",
        rates=True,
    )
    cursor.execute(
        "DELETE FROM metrics_indicatorwindow t USING metrics_delta_window d "
        "WHERE t.window_days = d.window_days AND t.indicator_id = d.indicator_id AND t.hits = 0"
    )
    return written
