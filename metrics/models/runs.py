"""The refresh run log (each run's outcome and the watermark reads rely on) and weekly reports."""

from django.db import models
from django.urls import reverse


class RollupRun(models.Model):
    """One refresh of the rollup tables: what it covered, how it ended.

    `started_at` and `hit_watermark` (the highest hit id when the run started) say what the
    detection rollups hold: hits up to the watermark, with the labels in `CountedLabel`. Reads
    add newer hits and labels live on top (`metrics.precision`).
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        RECENT = "recent", "Recent days"
        FULL = "full", "Full rebuild"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RECENT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    hit_watermark = models.BigIntegerField(default=0)
    days = models.JSONField(default=list, blank=True, help_text="The hit days recomputed.")
    window_day = models.DateField(null=True, blank=True, help_text="'Today' of the windows.")
    intel_refreshed = models.BooleanField(default=False)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows written per table.")
    queue = models.JSONField(
        default=dict, blank=True, help_text="The queue as this run found it (cases.health)."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"], name="rolluprun_status")]

    def __str__(self) -> str:
        return f"rollup {self.kind} {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class WeeklyReport(models.Model):
    """The weekly metrics report for one ISO week (Monday to Monday, UTC), as sent."""

    week_start = models.DateField(unique=True, help_text="The Monday the week starts.")
    week_end = models.DateField(help_text="The Monday after (exclusive).")
    html = models.TextField()
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_to = models.JSONField(default=list, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Weekly report {self.week_start:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("metrics:report_detail", args=[self.pk])

    @property
    def filename(self) -> str:
        """The download's file name."""
        return f"tdp-weekly-{self.week_start:%Y-%m-%d}.html"
