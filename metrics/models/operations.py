"""Operations rollups: the case queue per day and each analyst's work per day.

`CaseDay` is rebuilt whole on every refresh (a correction moves a case's resolution to the
day it was corrected, so old days change); the queue at the end of a day is derived from the
cases' open and resolve times.
"""

from django.conf import settings
from django.db import models


class CaseDay(models.Model):
    """Cases opened and resolved on one day, and the queue as it stood at the day's end.

    `auto_resolved` are cases resolved by automation (no resolving person); `resolved_late`
    those resolved after their SLA due time. `open_at_end` and `past_sla_at_end` describe the
    queue at midnight ending the day, `open_age_hours_at_end` the mean age of its open cases.
    The histograms count durations in log buckets (`metrics.operations.BUCKETS_PER_DOUBLING`)
    so medians and p90s over any days are read without scanning the cases: time to first
    touch of the cases opened that day, time to resolve and people's handling time (first
    touch to resolution) of the cases resolved that day.
    """

    day = models.DateField(primary_key=True)
    opened = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    auto_resolved = models.PositiveIntegerField(default=0)
    resolved_late = models.PositiveIntegerField(default=0)
    open_at_end = models.PositiveIntegerField(default=0)
    past_sla_at_end = models.PositiveIntegerField(default=0)
    open_age_hours_at_end = models.FloatField(default=0)
    first_touch_hist = models.JSONField(default=dict, blank=True)
    resolve_hist = models.JSONField(default=dict, blank=True)
    handle_hist = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.opened} opened, {self.resolved} resolved"


class AnalystDay(models.Model):
    """One analyst's resolutions on one day, and the second reviews of their cases that day.

    `handle_seconds` sums first touch to resolution over the cases resolved; `qa_reviewed` and
    `qa_agreed` count QA reviews (by review day) of cases this analyst had resolved.
    """

    day = models.DateField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    resolved = models.PositiveIntegerField(default=0)
    true_positive = models.PositiveIntegerField(default=0)
    false_positive = models.PositiveIntegerField(default=0)
    handle_seconds = models.FloatField(default=0)
    handled = models.PositiveIntegerField(default=0, help_text="Resolved cases with a first touch.")
    qa_reviewed = models.PositiveIntegerField(default=0)
    qa_agreed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user"],
                name="analystday_uniq",
                violation_error_message="One row per day and analyst.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_id}: {self.resolved} resolved"
