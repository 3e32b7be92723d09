"""Detection quality per rule, indicator, feed or policy: hits, cases, labels and precision.

The counts come from the rollups for the whole days they hold, plus what the last refresh did
not see: hits newer than its watermark and the partial days at the edges of `since`/`until` are
counted from the hits, and each label written since is counted by its difference with the label
the rollups counted (`CountedLabel`). So a label given a moment ago counts at once, and a read
costs what changed since the refresh, not the size of the tables.

`since` (inclusive) and `until` (exclusive) select hits by creation time; the labels counted
are those of these hits, whenever they were given. Precision is TP / (TP + FP), None without
such labels; the false-positive rate is FP / labelled (all dispositions), None without labels.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.db.models.expressions import RawSQL

from detection.models import Rule
from intel.models import Feed, Indicator
from metrics.models import IndicatorDay, IndicatorWindow, RollupRun, RuleDay, SourceDay
from metrics.rollups import COMMIT_MARGIN, last_run
from metrics.rollups.detection import day_spans, midnight
from metrics.rollups.hits import (
    COUNT_COLUMNS,
    HitSpan,
    label_changes_sql,
    label_delta_sql,
    live_counts,
)

BY_CHOICES = ("rule", "indicator", "feed", "policy")
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
_FAMILY = {"rule": "rule", "policy": "rule", "feed": "source", "indicator": "indicator"}
_SUMS = {name: Sum(name) for name in COUNT_COLUMNS}


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
    spans: list[HitSpan] = field(default_factory=list)  # the hits counted live
    labels_since: datetime | None = None  # labels written after this count by difference

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
    plan = ReadPlan(watermark, first_day, last_day)
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
        corrections = _live(family, plan, with_cases)
        for key, values in _label_changes(family, plan).items():
            _add(corrections.setdefault(key, [0] * len(COUNT_COLUMNS)), values)
        if by == "indicator":
            rows = _indicator_rows(plan, corrections, run=run, user=user, limit=limit)
        else:
            counts = _base_counts(family, plan)
            for key, values in corrections.items():
                _add(counts.setdefault(key, [0] * len(COUNT_COLUMNS)), values)
            rows = _named(by, counts)
    if not with_cases:
        for row in rows:
            row.cases = None
    rows.sort(key=lambda row: (-row.hits, row.key if by != "indicator" else row.ref))
    return rows[:limit]


def _add(total: list[int], values: list[int]) -> None:
    for index, value in enumerate(values):
        total[index] += value


def _base_counts(family: str, plan: ReadPlan) -> dict[Any, list[int]]:
    """Sums per rule or source over the whole days the rollups hold."""
    model, key = (RuleDay, "rule_id") if family == "rule" else (SourceDay, "source_id")
    found = plan.days(model.objects.all()).values(key).annotate(**_SUMS).order_by()
    return {row[key]: [row[c] for c in COUNT_COLUMNS] for row in found}


def _live(family: str, plan: ReadPlan, with_cases: bool) -> dict[Any, list[int]]:
    """Counts per rule, source or indicator of the hits counted live (modes merged)."""
    counts: dict[Any, list[int]] = {}
    for row in live_counts(family, plan.spans, with_cases=with_cases):
        values = list(row[-len(COUNT_COLUMNS) :])
        _add(counts.setdefault(row[0], [0] * len(COUNT_COLUMNS)), values)
    return counts


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


def _indicator_base(run: RollupRun | None, plan: ReadPlan) -> tuple[int | None, list, list]:
    """The cheapest way to the indicator counts of the range's whole days: a window (0: all
    days) with the days to add to it and the days to take out of it, or (None, [], []) to sum
    the range's indicator days. Each day added or taken out costs one day's rows."""
    if run is None or run.window_day is None or not plan.has_whole_days:
        return None, [], []
    last = run.window_day if plan.last_day is None else min(plan.last_day, run.window_day)
    first = plan.first_day
    best: tuple[float, int | None, list, list] = (
        (last - first).days + 1 if first else float("inf"),
        None,
        [],
        [],
    )
    for window in IndicatorWindow.WINDOWS:
        start = run.window_day - timedelta(days=window - 1) if window else None
        if first is None:
            if start is not None:
                continue  # a dated window cannot hold the days before it
            add, remove = [], []
        elif start is None:
            continue  # all days minus every day before the range: never cheaper than a sum
        elif first < start:
            add, remove = _days(first, start - timedelta(days=1)), []
        else:
            add, remove = [], _days(start, first - timedelta(days=1))
        remove += _days(last + timedelta(days=1), run.window_day)
        cost = len(add) + len(remove)
        if cost < best[0] or (cost == best[0] and best[1] is None):
            best = (cost, window, add, remove)
    return best[1], best[2], best[3]


def _days(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last`` (none when ``last`` is earlier)."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _visible_top(ordered: QuerySet, visible: QuerySet, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows of ``ordered`` whose indicator is in ``visible``.

    Visibility is checked on each batch of ids rather than joined into the query: the join
    would make Postgres hash every indicator before it could stop at the first rows.
    """
    rows: list[dict[str, Any]] = []
    offset, batch = 0, limit + 100
    while len(rows) < limit:
        chunk = list(ordered[offset : offset + batch])
        ids = [row["indicator_id"] for row in chunk]
        allowed = set(visible.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
        rows += [row for row in chunk if row["indicator_id"] in allowed]
        if len(chunk) < batch:
            break
        offset += batch
    return rows[:limit]


def _indicator_rows(
    plan: ReadPlan,
    corrections: dict[Any, list[int]],
    *,
    run: RollupRun | None,
    user: Any,
    limit: int,
) -> list[QualityRow]:
    """The ``limit`` indicators with the most hits, with ``corrections`` added.

    The base is a window, adjusted by whole days at its start or end to the range
    (`_indicator_base`), or else the sum of the range's indicator days; its top rows are read
    in order. An indicator outside the base's top can only enter the result if a correction
    adds hits to it (those are looked up one by one) or if one of the top loses hits to a day
    taken out of the window: for each of those, one more row of the base is read.
    """
    visible = Indicator.objects.visible_to(user)
    window, add_days, remove_days = _indicator_base(run, plan)
    if window is None:
        base = plan.days(IndicatorDay.objects.all()).values("indicator_id").annotate(**_SUMS)
    else:
        base = IndicatorWindow.objects.filter(window_days=window).values(
            "indicator_id", *COUNT_COLUMNS
        )
        for sign, days in ((1, add_days), (-1, remove_days)):
            if not days:
                continue
            found = IndicatorDay.objects.filter(day__in=days).values("indicator_id")
            for row in found.annotate(**_SUMS).order_by():
                total = corrections.setdefault(row["indicator_id"], [0] * len(COUNT_COLUMNS))
                _add(total, [sign * row[c] for c in COUNT_COLUMNS])
    shrinking = sum(1 for values in corrections.values() if values[0] < 0)
    ordered = base.order_by("-hits", "indicator_id")
    counts = {
        row["indicator_id"]: [row[c] for c in COUNT_COLUMNS]
        for row in _visible_top(ordered, visible, limit + shrinking)
    }
    for key, values in counts.items():
        _add(values, corrections.get(key, [0] * len(COUNT_COLUMNS)))
    # Indicators outside the base's top: only those whose corrected hits reach the current
    # last place can get in, and only they need a visibility check.
    ranked = sorted(row[0] for row in counts.values())
    last_place = ranked[-limit] if len(ranked) >= limit else 0
    extra = [key for key, values in corrections.items() if key not in counts and values[0] > 0]
    if extra:
        ids = RawSQL("SELECT unnest(%s::bigint[])", (extra,))
        found = {row["indicator_id"]: row for row in base.filter(indicator_id__in=ids).order_by()}
        contenders = {}
        for key in extra:
            row = found.get(key)
            values = [row[c] for c in COUNT_COLUMNS] if row else [0] * len(COUNT_COLUMNS)
            _add(values, corrections[key])
            if values[0] >= last_place:
                contenders[key] = values
        ids = RawSQL("SELECT unnest(%s::bigint[])", (list(contenders),))
        allowed = visible.filter(pk__in=ids).values_list("pk", flat=True)
        counts.update({key: contenders[key] for key in allowed})
    best = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    names = {
        pk: f"{kind}:{value}"
        for pk, kind, value in Indicator.objects.filter(pk__in=[k for k, _ in best]).values_list(
            "pk", "type", "value"
        )
    }
    return [QualityRow(names[key], key, *values) for key, values in best if key in names]
