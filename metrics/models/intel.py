"""Intel rollups: indicators by type and status per day, per-source contribution, feed overlap.

Statuses are a snapshot: the intel refresh (hourly by default) writes today's counts, so the
status history starts when the refresh first ran. New indicators per day (`created`) and new
reports per source per day (`reported`) come from creation times, so they cover the past too.
"""

from django.db import models

from intel.models import IndicatorType, Source


class IndicatorTypeDay(models.Model):
    """Indicators of one type: created that day, and by status as of that day's last refresh."""

    day = models.DateField()
    type = models.CharField(max_length=16, choices=IndicatorType.choices)
    created = models.PositiveIntegerField(default=0)
    has_snapshot = models.BooleanField(
        default=False, help_text="The status counts were taken on this day."
    )
    active = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    revoked = models.PositiveIntegerField(default=0)
    allowlisted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "type"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "type"],
                name="indicatortypeday_uniq",
                violation_error_message="One row per day and type.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.type}: {self.created} new"


class SourceIntelDay(models.Model):
    """One source's intel: new reports that day, and its totals as of that day's last refresh.

    `unique` counts the indicators no other source has reported; `unique_active` those of them
    that are active.
    """

    day = models.DateField()
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    reported = models.PositiveIntegerField(default=0, help_text="First reports that day.")
    has_snapshot = models.BooleanField(default=False)
    indicators = models.PositiveIntegerField(default=0)
    active = models.PositiveIntegerField(default=0)
    unique = models.PositiveIntegerField(default=0)
    unique_active = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "source"],
                name="sourceintelday_uniq",
                violation_error_message="One row per day and source.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} source {self.source_id}: {self.reported} reported"


class SourceOverlap(models.Model):
    """How many indicators two sources both report (one row per ordered pair, a != b)."""

    source_a = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    source_b = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    shared = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["source_a", "source_b"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_a", "source_b"],
                name="sourceoverlap_pair_uniq",
                violation_error_message="One row per pair of sources.",
            )
        ]

    def __str__(self) -> str:
        return f"sources {self.source_a_id} & {self.source_b_id}: {self.shared}"
