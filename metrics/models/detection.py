"""Detection rollups: hits and their labels per UTC day of the hit, by rule, indicator and source.

A hit counts on the day it was created (`Hit.created_at`), and so does its label, whenever the
label was given: a day's row holds the hits of that day and how they have been labelled so far.
Labels given later make their hit's day "dirty"; the next refresh recomputes it, and reads in
between correct it live (`metrics.precision`). The counts are:

- `hits`: every hit (live and shadow);
- `cases`: for rules and sources, the cases opened by one of these hits (a case's first hit);
  for indicators, the cases the indicator is in (counted at its first hit in the case);
- `labelled`: hits with a label of any disposition; `true_positive`, `false_positive`: by
  disposition (duplicates and inconclusive labels are the rest of `labelled`).

A source is credited with a hit when it had reported the hit's indicator by the time of the hit
(`IndicatorSource.first_seen_at`), and with a label when it was among the label's `source_ids`.

Foreign keys here have no database constraint and do nothing on delete: the rows are derived,
deleting intel or rules elsewhere must not pay for them, and a full refresh drops stale rows.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F

from detection.models import Rule
from intel.models import Indicator, Source


class Counts(models.Model):
    """The counts every detection rollup row carries."""

    hits = models.PositiveIntegerField(default=0)
    cases = models.PositiveIntegerField(default=0)
    labelled = models.PositiveIntegerField(default=0)
    true_positive = models.PositiveIntegerField(default=0)
    false_positive = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class HitDay(models.Model):
    """The id range and count of the hits created on one UTC day.

    Hits have no index on `created_at`; their ids grow with it, so a day's hits are found by
    this id range (plus the exact time filter) when a day must be recomputed live.
    """

    day = models.DateField(primary_key=True)
    first_hit_id = models.BigIntegerField()
    last_hit_id = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day}: hits {self.first_hit_id}-{self.last_hit_id}"


class RuleDay(Counts):
    """One rule's hits in one mode (live or shadow) on one day."""

    day = models.DateField()
    rule = models.ForeignKey(
        Rule, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    mode = models.CharField(max_length=16, choices=Rule.Mode.choices)

    class Meta:
        ordering = ["day", "rule"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "rule", "mode"],
                name="ruleday_day_rule_mode_uniq",
                violation_error_message="One row per day, rule and mode.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} rule {self.rule_id} {self.mode}: {self.hits} hits"


class IndicatorDay(Counts):
    """One indicator's hits (under every rule) on one day.

    Keyed by (day, indicator) itself: about as many rows as hits, so no extra id index. The
    one other index, by (indicator, day), carries the counts: summing a few thousand
    indicators over any range of days (`metrics.precision`) reads only the index.
    """

    pk = models.CompositePrimaryKey("day", "indicator")
    day = models.DateField()
    indicator = models.ForeignKey(
        Indicator,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (indicator, day) index serves
        related_name="+",
    )

    class Meta:
        ordering = ["day", "indicator"]
        indexes = [
            models.Index(
                fields=["indicator", "day"],
                include=["hits", "cases", "labelled", "true_positive", "false_positive"],
                name="indicatorday_indicator_sums",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} indicator {self.indicator_id}: {self.hits} hits"


class SourceDay(Counts):
    """The hits and labels credited to one source on one day."""

    day = models.DateField()
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        ordering = ["day", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "source"],
                name="sourceday_day_source_uniq",
                violation_error_message="One row per day and source.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} source {self.source_id}: {self.hits} hits"


class IndicatorWindow(Counts):
    """One indicator's totals over the last `window_days` days (0: all days), kept sorted.

    The indicator table pages through these rows in any column's order, which a sum over
    hundreds of thousands of `IndicatorDay` rows per request could not do quickly; the
    precision API reads the all-days rows. Each refresh adds what changed to them.
    `precision` is TP / (TP + FP) and `false_positive_rate` FP / labelled (None without labels).
    """

    WINDOWS = (7, 30, 90, 0)

    pk = models.CompositePrimaryKey("window_days", "indicator")
    window_days = models.PositiveSmallIntegerField()
    indicator = models.ForeignKey(
        Indicator, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    precision = models.FloatField(null=True)
    false_positive_rate = models.FloatField(null=True)

    class Meta:
        ordering = ["window_days", "-hits", "indicator"]
        # The orders the indicator table pages in (either direction): most hits, cases, labels,
        # TPs or FPs first, worst precision and FP rate first (no labels last).
        indexes = [
            models.Index(fields=["window_days", "-hits", "indicator"], name="indwin_hits"),
            models.Index(fields=["window_days", "-cases", "indicator"], name="indwin_cases"),
            models.Index(fields=["window_days", "-true_positive", "indicator"], name="indwin_tp"),
            models.Index(fields=["window_days", "-labelled", "indicator"], name="indwin_labelled"),
            models.Index(fields=["window_days", "-false_positive", "indicator"], name="indwin_fp"),
            models.Index(
                "window_days",
                F("precision").asc(nulls_last=True),
                "indicator",
                name="indwin_precision",
            ),
            models.Index(
                "window_days",
                F("false_positive_rate").desc(nulls_last=True),
                "indicator",
                name="indwin_fp_rate",
            ),
        ]

    def __str__(self) -> str:
        return f"indicator {self.indicator_id} over {self.window_days or 'all'} days"


class CountedLabel(models.Model):
    """The label of a hit as the rollups counted it (the hit's rows hold this disposition and
    these sources). A label written since is counted by difference with this row, so one
    relabel costs one row, not a recount of its day."""

    hit_id = models.BigIntegerField(primary_key=True)
    disposition = models.CharField(max_length=16)
    source_ids = ArrayField(models.BigIntegerField(), default=list)

    def __str__(self) -> str:
        return f"hit {self.hit_id}: {self.disposition}"
