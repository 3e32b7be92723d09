"""Detection quality per rule, indicator, feed or policy: hits, cases, labels and precision.

The counts come from the rollups for the whole days they hold, plus what the last refresh did
not see: hits newer than its watermark and the partial days at the edges of `since`/`until` are
counted from the hits, and each label written since is counted by its difference with the label
the rollups counted (`CountedLabel`). So a label given a moment ago counts at once, and a read
costs what changed since the refresh, not the size of the tables.

Indicator rows (a million indicators: only the top `limit` are returned) read a window's
sorted totals when the range's whole days are exactly a window; any other range sums
indicator days, either all of the range's (a short range) or only those of the indicators
that can reach the top, bounded by the shortest window covering the range (`_range_top`).

`since` (inclusive) and `until` (exclusive) select hits by creation time; the labels counted
are those of these hits, whenever they were given. Precision is TP / (TP + FP), None without
such labels; the false-positive rate is FP / labelled (all dispositions), None without labels.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.db.models.expressions import RawSQL

from detection.models import Rule
from intel.models import Feed, Indicator
from metrics.models import HitDay, IndicatorWindow, RollupRun, RuleDay, SourceDay
from metrics.rollups import COMMIT_MARGIN, last_run
from metrics.rollups.detection import day_spans, midnight
from metrics.rollups.hits import (
    COUNT_COLUMNS,
    HitSpan,
    label_changes_sql,
    label_delta_sql,
    live_counts,
)
from tdp.roles import is_cleared

BY_CHOICES = ("rule", "indicator", "feed", "policy")
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
_FAMILY = {"rule": "rule", "policy": "rule", "feed": "source", "indicator": "indicator"}
_SUMS = {name: Sum(name) for name in COUNT_COLUMNS}
# Indicator ranges that are no window: below DIRECT_ROWS indicator-day rows (the hits of the
# range's whole days bound them), or ROWS_PER_RESULT per row asked for, the range is summed
# whole; above, the window-bounded read is tried, unless it leaves more candidates than
# rows / CANDIDATE_COST (summing one candidate's days costs about as much as summing that many
# rows whole). Measured on the bench data (bench/metrics.py).
DIRECT_ROWS = 40_000
ROWS_PER_RESULT = 50
CANDIDATE_COST = 3


@dataclass
class QualityRow:
    """The counts of one key; `ref` is the rule, indicator or feed id (the policy value)."""

    key: str
    ref: Any = None
    hits: int = 0
    cases: int | None = 0
    labelled: int = 0
    true_positive: int = 0
    false_positive: int = 0

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP), None without TP or FP labels."""
        judged = self.true_positive + self.false_positive
        return self.true_positive / judged if judged else None

    @property
    def false_positive_rate(self) -> float | None:
        """FP / labelled, None without labels."""
        return self.false_positive / self.labelled if self.labelled else None

    def as_api(self) -> dict[str, Any]:
        """The row as `GET /api/v1/metrics/precision` returns it."""
        return {
            "key": self.key,
            "hits": self.hits,
            "labelled": self.labelled,
            "true_positive": self.true_positive,
            "false_positive": self.false_positive,
            "precision": self.precision,
        }

    def as_export(self) -> dict[str, Any]:
        """Every column, as the CSV and JSON exports write it."""
        return {
            **self.as_api(),
            "cases": self.cases,
            "false_positive_rate": self.false_positive_rate,
        }


@dataclass
class ReadPlan:
    """Which whole days to read from the rollups and what to add to them."""

    watermark: int
    first_day: date | None  # first whole day from the rollups (None: from the first)
    last_day: date | None  # last whole day, inclusive (None: to the last)
    spans: list[HitSpan] = field(default_factory=list)  # the hits counted live, newer last
    labels_since: datetime | None = None  # labels written after this count by difference
    first_touched: date | None = None  # the first day the range reaches (whole or partial)

    @property
    def has_whole_days(self) -> bool:
        """False when the range lies within one day (only partial days, counted live)."""
        return self.first_day is None or self.last_day is None or self.first_day <= self.last_day

    def days(self, queryset: QuerySet) -> QuerySet:
        """``queryset`` (of a per-day rollup) limited to the whole days read from rollups."""
        if not self.has_whole_days:
            return queryset.none()
        if self.first_day is not None:
            queryset = queryset.filter(day__gte=self.first_day)
        if self.last_day is not None:
            queryset = queryset.filter(day__lte=self.last_day)
        return queryset


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Read the refresh record and the rollups in one snapshot, so a refresh committing in
    between cannot make a count appear twice or not at all (inside an existing transaction,
    that transaction is used as it is)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # Summing a month of indicator days hashes a few hundred thousand rows.
            cursor.execute("SET LOCAL work_mem = '32MB'")
        yield


def plan_reads(run: RollupRun | None, since: datetime | None, until: datetime | None) -> ReadPlan:
    """Split [since, until) into whole days the rollups of ``run`` hold and hits to count live."""
    watermark = run.hit_watermark if run else 0
    first_day = last_day = None
    edges: list[tuple[datetime, datetime]] = []
    if since is not None:
        since = since.astimezone(UTC)
        first_day = since.date()
        if since != midnight(first_day):
            first_day += timedelta(days=1)
            edges.append((since, midnight(first_day)))
    if until is not None:
        until = until.astimezone(UTC)
        last_day = until.date() - timedelta(days=1)
        if until != midnight(until.date()):
            edges.append((midnight(until.date()), until))
    edges = [(max(a, since or a), min(b, until or b)) for a, b in edges]
    plan = ReadPlan(watermark, first_day, last_day, first_touched=since and since.date())
    if run is not None:
        plan.labels_since = run.started_at - COMMIT_MARGIN
        for start, end in sorted({(a, b) for a, b in edges if a < b}):
            (bounds,) = day_spans([start.date()], watermark)
            plan.spans.append(HitSpan(start, end, bounds.first_id, bounds.last_id))
    plan.spans.append(HitSpan(since, until, first_id=watermark + 1))
    return plan


def quality_rows(
    by: str,
    *,
    user: Any,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    with_cases: bool = True,
) -> list[QualityRow]:
    """The rows of ``by`` (one of BY_CHOICES) for hits created in [since, until), most hits
    first, at most ``limit``. Indicator rows leave out TLP:RED intel unless ``user`` is
    cleared; the other rows count every hit (they name no intel). Without ``with_cases``
    (the API shows none) hits counted live skip the case lookups and `cases` is None."""
    if by not in BY_CHOICES:
        raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(BY_CHOICES)}")
    family = _FAMILY[by]
    with read_snapshot():
        run = last_run()
        plan = plan_reads(run, since, until)
        corrections, newer = _live(family, plan, with_cases, split=by == "indicator")
        for key, values in _label_changes(family, plan).items():
            _add(corrections.setdefault(key, [0] * len(COUNT_COLUMNS)), values)
        if by == "indicator":
            rows = _indicator_rows(plan, corrections, newer=newer, run=run, user=user, limit=limit)
        else:
            counts = _base_counts(family, plan)
            for key, values in corrections.items():
                _add(counts.setdefault(key, [0] * len(COUNT_COLUMNS)), values)
            rows = _named(by, counts)
    if not with_cases:
        for row in rows:
            row.cases = None
    if by != "indicator":  # indicator rows come sorted, ties by id
        rows.sort(key=lambda row: (-row.hits, row.key))
    return rows[:limit]


def _add(total: list[int], values: list[int]) -> None:
    for index, value in enumerate(values):
        total[index] += value


def _base_counts(family: str, plan: ReadPlan) -> dict[Any, list[int]]:
    """Sums per rule or source over the whole days the rollups hold."""
    model, key = (RuleDay, "rule_id") if family == "rule" else (SourceDay, "source_id")
    found = plan.days(model.objects.all()).values(key).annotate(**_SUMS).order_by()
    return {row[key]: [row[c] for c in COUNT_COLUMNS] for row in found}


def _live(
    family: str, plan: ReadPlan, with_cases: bool, *, split: bool = False
) -> tuple[dict[Any, list[int]], set[Any]]:
    """Counts per rule, source or indicator of the hits counted live (modes merged) and, with
    ``split``, the keys of hits newer than the refresh (the others, of partial days at the
    range's edges, are in the rollups of those days)."""
    counts: dict[Any, list[int]] = {}
    newer: set[Any] = set()
    groups = [plan.spans[:-1], plan.spans[-1:]] if split else [plan.spans]
    for spans in groups:
        for row in live_counts(family, spans, with_cases=with_cases):
            values = list(row[-len(COUNT_COLUMNS) :])
            if row[0] in counts:
                _add(counts[row[0]], values)
            else:
                counts[row[0]] = values
            if split and spans is groups[-1]:
                newer.add(row[0])
    return counts, newer


def _label_changes(family: str, plan: ReadPlan) -> dict[Any, list[int]]:
    """What labels written since the refresh change in the whole days' counts, per key."""
    if plan.labels_since is None or not plan.has_whole_days:
        return {}
    where, params = [], [plan.labels_since, plan.watermark]
    if plan.first_day is not None:
        where.append("h.created_at >= %s")
        params.append(midnight(plan.first_day))
    if plan.last_day is not None:
        where.append("h.created_at < %s")
        params.append(midnight(plan.last_day + timedelta(days=1)))
    changes = label_changes_sql(" AND ".join(where))
    sql = f"WITH changes AS ({changes}) {label_delta_sql(family, 'changes', per_day=False)}"
    counts: dict[Any, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            values = [int(v) for v in row[-len(COUNT_COLUMNS) :]]
            _add(counts.setdefault(row[0], [0] * len(COUNT_COLUMNS)), values)
    return counts


def _named(by: str, counts: dict[Any, list[int]]) -> list[QualityRow]:
    """Rows named after their rule, policy or feed (sources that are no feed are left out)."""
    rows: dict[Any, QualityRow] = {}
    if by == "feed":
        names = dict(Feed.objects.filter(source_id__in=counts).values_list("source_id", "name"))
        pairs = [(names[s], s, values) for s, values in counts.items() if s in names]
    else:
        rules = Rule.objects.filter(pk__in=counts).values_list("pk", "name", "policy_label")
        names = {pk: (policy if by == "policy" else name) for pk, name, policy in rules}
        pairs = [(names[r], r, values) for r, values in counts.items() if r in names]
    for name, ref, values in pairs:
        row = rows.setdefault(name, QualityRow(key=name, ref=name if by == "policy" else ref))
        for column, value in zip(COUNT_COLUMNS, values, strict=True):
            setattr(row, column, getattr(row, column) + value)
    return list(rows.values())


def _matching_window(run: RollupRun | None, plan: ReadPlan) -> int | None:
    """The window (0: all days) holding exactly the range's whole days, None when none does."""
    if run is None or run.window_day is None or not plan.has_whole_days:
        return None
    if plan.last_day is not None and plan.last_day < run.window_day:
        return None
    for window in IndicatorWindow.WINDOWS:
        start = run.window_day - timedelta(days=window - 1) if window else None
        if plan.first_day == start:
            return window
    return None


def _covering_window(run: RollupRun, plan: ReadPlan) -> int:
    """The shortest window (0: all days) whose days include every day the range reaches, so
    that an indicator's total in that window bounds its hits in the range up to the refresh.
    (A dated window has no end: it holds every day from its first.)"""
    if plan.first_touched is None:
        return 0
    for window in (w for w in sorted(IndicatorWindow.WINDOWS) if w):
        if run.window_day - timedelta(days=window - 1) <= plan.first_touched:
            return window
    return 0


def _visible_top(ordered: QuerySet, visible: QuerySet, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows of ``ordered`` whose indicator is in ``visible``.

    Visibility is checked on each batch of ids rather than joined into the query: the join
    would make Postgres hash every indicator before it could stop at the first rows.
    """
    rows: list[dict[str, Any]] = []
    offset, batch = 0, limit + 100
    while len(rows) < limit:
        chunk = list(ordered[offset : offset + batch])
        allowed = _allowed([row["indicator_id"] for row in chunk], visible)
        rows += [row for row in chunk if row["indicator_id"] in allowed]
        if len(chunk) < batch:
            break
        offset += batch
    return rows[:limit]


def _id_array(ids: Iterable[int]) -> str:
    """``ids`` as a Postgres array literal, to pass as one parameter cast to ``bigint[]``
    (the client-side binding renders a list element by element: slow for thousands)."""
    return "{" + ",".join(str(int(pk)) for pk in ids) + "}"


def _allowed(ids: list[int], visible: QuerySet) -> set[int]:
    """Those of ``ids`` whose indicator is in ``visible`` (indicators a user may see)."""
    if not ids:
        return set()
    found = visible.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (_id_array(ids),)))
    return set(found.values_list("pk", flat=True))


def _zero() -> list[int]:
    """Zero counts."""
    return [0] * len(COUNT_COLUMNS)


def _indicator_rows(
    plan: ReadPlan,
    corrections: dict[Any, list[int]],
    *,
    newer: set[int],
    run: RollupRun | None,
    user: Any,
    limit: int,
) -> list[QualityRow]:
    """The ``limit`` indicators visible to ``user`` with the most hits, with ``corrections``
    (what the refresh did not count: newer hits, partial days, fresh labels) added; ``newer``
    are the indicators with hits newer than the refresh.

    A range whose whole days are exactly a window reads that window's sorted rows
    (`_window_top`); any other range sums its indicator days (`_range_top`).
    """
    window = _matching_window(run, plan)
    if window is not None:
        counts = _window_top(window, corrections, user=user, limit=limit)
    else:
        counts = _range_top(plan, corrections, newer=newer, run=run, user=user, limit=limit)
    best = sorted(
        ((key, values) for key, values in counts.items() if values[0] > 0),
        key=lambda item: (-item[1][0], item[0]),
    )[:limit]
    ids = RawSQL("SELECT unnest(%s::bigint[])", (_id_array(k for k, _ in best),))
    found = Indicator.objects.filter(pk__in=ids).values_list("pk", "type", "value")
    names = {pk: f"{kind}:{value}" for pk, kind, value in found}
    return [QualityRow(names[key], key, *values) for key, values in best if key in names]


def _window_top(
    window: int, corrections: dict[Any, list[int]], *, user: Any, limit: int
) -> dict[int, list[int]]:
    """The window's top rows in order, with ``corrections`` added. An indicator outside the
    top can only enter the result if a correction adds hits to it (those are looked up)."""
    base = IndicatorWindow.objects.filter(window_days=window).values("indicator_id", *COUNT_COLUMNS)
    visible = Indicator.objects.visible_to(user)
    shrinking = sum(1 for values in corrections.values() if values[0] < 0)
    ordered = base.order_by("-hits", "indicator_id")
    counts = {
        row["indicator_id"]: [row[c] for c in COUNT_COLUMNS]
        for row in _visible_top(ordered, visible, limit + shrinking)
    }
    for key, values in counts.items():
        _add(values, corrections.get(key, _zero()))
    # Indicators outside the top: only those whose corrected hits reach the current last place
    # can get in, and only they need a visibility check.
    ranked = sorted(row[0] for row in counts.values())
    last_place = ranked[-limit] if len(ranked) >= limit else 0
    extra = [key for key, values in corrections.items() if key not in counts and values[0] > 0]
    if extra:
        ids = RawSQL("SELECT unnest(%s::bigint[])", (_id_array(extra),))
        found = {row["indicator_id"]: row for row in base.filter(indicator_id__in=ids).order_by()}
        contenders = {}
        for key in extra:
            row = found.get(key)
            values = [row[c] for c in COUNT_COLUMNS] if row else _zero()
            _add(values, corrections[key])
            if values[0] >= last_place:
                contenders[key] = values
        counts.update({key: contenders[key] for key in _allowed(list(contenders), visible)})
    return counts


def _range_top(
    plan: ReadPlan,
    corrections: dict[Any, list[int]],
    *,
    newer: set[int],
    run: RollupRun | None,
    user: Any,
    limit: int,
) -> dict[int, list[int]]:
    """Counts of at least the ``limit`` visible indicators with the most hits over a range that
    is no window: its indicator days summed, plus ``corrections``.

    A short range (few day rows, or not many per row asked for) is summed whole in SQL
    (`_summed_top`). A longer one is
    bounded by the shortest window covering every day it reaches (an indicator's window total
    is at least its hits in the range up to the refresh, partial days included): the range's
    exact counts of the window's top 2 x ``limit`` indicators give a threshold, the
    ``limit``-th best of them; only the indicators whose window total reaches it, and those
    with hits newer than the refresh, can be in the result, and only theirs are summed
    (`_day_sums`, one index range each). When that leaves more candidates than summing the
    range costs, the range is summed whole after all.
    """
    if run is None or run.window_day is None or not plan.has_whole_days:
        # No rollups (or only partial days): every hit counted is in the corrections.
        live = [key for key, values in corrections.items() if values[0] > 0]
        visible = Indicator.objects.visible_to(user)
        return {key: corrections[key] for key in _allowed(live, visible)}
    rows = _range_rows(plan)
    if rows <= max(DIRECT_ROWS, limit * ROWS_PER_RESULT):
        return _summed_top(plan, corrections, user=user, limit=limit)
    window = _covering_window(run, plan)
    base = IndicatorWindow.objects.filter(window_days=window)
    visible = Indicator.objects.visible_to(user)
    ordered = base.values("indicator_id").order_by("-hits", "indicator_id")
    sample = [row["indicator_id"] for row in _visible_top(ordered, visible, 2 * limit)]
    counts = _day_sums(plan, sample)
    for key in sample:
        values = counts.setdefault(key, _zero())
        if key in corrections:
            _add(values, corrections[key])
    if len(sample) == 2 * limit:
        threshold = sorted((values[0] for values in counts.values()), reverse=True)[limit - 1]
        if threshold <= 0:
            return _summed_top(plan, corrections, user=user, limit=limit)
        cap = max(rows // CANDIDATE_COST, 4 * limit)
        found = base.filter(hits__gte=threshold).values_list("indicator_id", flat=True)
        candidates = list(found.order_by("-hits", "indicator_id")[: cap + 1])
        if len(candidates) > cap:
            return _summed_top(plan, corrections, user=user, limit=limit)
    else:  # the window holds fewer indicators than the sample: every one is in it
        candidates = []
    others = sorted({*candidates, *newer} - counts.keys())
    if not is_cleared(user):
        allowed = _allowed(others, visible)
        others = [key for key in others if key in allowed]
    found_sums = _day_sums(plan, others)
    for key in others:
        values = found_sums.get(key) or _zero()
        if key in corrections:
            _add(values, corrections[key])
        counts[key] = values
    return counts


def _range_rows(plan: ReadPlan) -> int:
    """A bound on the indicator-day rows of the range's whole days: their hits."""
    total = plan.days(HitDay.objects.all()).aggregate(total=Sum("hits"))["total"]
    return total or 0


def _day_conditions(plan: ReadPlan) -> tuple[list[str], list[Any]]:
    """SQL conditions (and parameters) on `day` selecting the range's whole days."""
    where, params = [], []
    if plan.first_day is not None:
        where.append("day >= %s")
        params.append(plan.first_day)
    if plan.last_day is not None:
        where.append("day <= %s")
        params.append(plan.last_day)
    return where, params


_SUM_COLUMNS = ", ".join(f"sum({c})::bigint" for c in COUNT_COLUMNS)


def _day_sums(plan: ReadPlan, ids: list[int]) -> dict[int, list[int]]:
    """The counts of indicators ``ids`` summed over the range's whole days (indicators without
    hits in them are left out).

    One index-only range scan per indicator (the covering `indicatorday_indicator_sums`),
    forced by the lateral aggregate: given the ids as an array, the planner would rather scan
    every row of the days and filter, several times slower on dense days.
    """
    if not ids:
        return {}
    where, params = _day_conditions(plan)
    sums = ", ".join(f"sum(d.{c})::bigint AS {c}" for c in COUNT_COLUMNS)
    names = ", ".join(f"s.{c}" for c in COUNT_COLUMNS)
    sql = (
        f"SELECT i.id, {names} FROM unnest(%s::bigint[]) AS i (id) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {sums} FROM metrics_indicatorday d "
        f"WHERE {' AND '.join(['d.indicator_id = i.id', *where])}) s "
        "WHERE s.hits IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_id_array(ids), *params])
        return {row[0]: list(row[1:]) for row in cursor.fetchall()}


def _summed_top(
    plan: ReadPlan, corrections: dict[Any, list[int]], *, user: Any, limit: int
) -> dict[int, list[int]]:
    """The ``limit`` visible indicators with the most hits: every indicator day of the range
    summed with the corrections' hits in one statement (read in batches until enough are
    visible), then those indicators' other counts (`_day_sums`). Summing the hits alone
    costs about two thirds of summing every count."""
    where, params = _day_conditions(plan)
    keys = list(corrections)
    hits = [_id_array(keys), _id_array(corrections[k][0] for k in keys)]
    # The corrections are joined to the sums, not summed with the rows: the planner cannot
    # tell how many keys the union would have and picks a slower parallel sort-and-group.
    total = "coalesce(d.hits, 0) + coalesce(c.hits, 0)"
    sql = (
        "SELECT coalesce(d.indicator_id, c.id) FROM ("  # noqa: S608
        "SELECT indicator_id, sum(hits) AS hits FROM metrics_indicatorday "
        f"WHERE {' AND '.join(where) or 'true'} GROUP BY indicator_id"
        ") d FULL JOIN unnest(%s::bigint[], %s::int[]) AS c (id, hits) ON c.id = d.indicator_id "
        f"WHERE {total} > 0 ORDER BY {total} DESC, 1 LIMIT %s OFFSET %s"
    )
    visible = Indicator.objects.visible_to(user)
    top: list[int] = []
    offset, batch = 0, limit + 100
    with connection.cursor() as cursor:
        while len(top) < limit:
            cursor.execute(sql, [*params, *hits, batch, offset])
            chunk = [row[0] for row in cursor.fetchall()]
            allowed = set(chunk) if is_cleared(user) else _allowed(chunk, visible)
            top += [key for key in chunk if key in allowed]
            if len(chunk) < batch:
                break
            offset += batch
    counts = _day_sums(plan, top)
    for key in top:
        values = counts.setdefault(key, _zero())
        if key in corrections:
            _add(values, corrections[key])
    return counts
