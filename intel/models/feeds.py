"""Feed models: an admin-configured source of intel pulled on a schedule, and its run history.

A `Feed` says where intel comes from (an HTTP(S) URL, a TAXII 2.1 collection or an uploaded
file), how to read it (format and parser options), what to stamp on its indicators (defaults),
whether indicators that vanish from it expire (`snapshot`) or age out (`incremental`), and when
to pull it. Its credentials are write-only: stored for the puller, never shown again. Each pull,
whatever its outcome, is one `FeedRun` row.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import reverse

from intel.models.indicators import TLP, IndicatorType, Severity, Source


class Feed(models.Model):
    """A configured intel feed."""

    class Kind(models.TextChoices):
        HTTP = "http", "HTTP(S) URL"
        TAXII = "taxii", "TAXII 2.1 collection"
        FILE = "file", "Uploaded file"

    class Mode(models.TextChoices):
        SNAPSHOT = "snapshot", "Snapshot: indicators missing from a pull expire"
        INCREMENTAL = "incremental", "Incremental: indicators age out by their TTL"

    class AuthKind(models.TextChoices):
        NONE = "none", "None"
        HEADER = "header", "Header token"
        BASIC = "basic", "Basic auth (TAXII too)"

    name = models.CharField(max_length=200, unique=True)
    source = models.OneToOneField(Source, on_delete=models.PROTECT, related_name="feed")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.HTTP)
    url = models.URLField(max_length=2000, blank=True, help_text="Feed URL or TAXII collection URL")
    file = models.FileField(upload_to="feeds/", blank=True)
    format = models.CharField(max_length=16, default="auto")
    parser = models.JSONField(default=dict, blank=True, help_text="Parser options")
    default_type = models.CharField(
        max_length=16, choices=IndicatorType.choices, blank=True, help_text="Force this type"
    )
    confidence = models.PositiveSmallIntegerField(default=50)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    tlp = models.CharField(max_length=16, choices=TLP.choices, default=TLP.AMBER)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    ttl_days = models.PositiveIntegerField(null=True, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.INCREMENTAL)
    schedule = models.CharField(
        max_length=100,
        default="every 1h",
        help_text='"every 15m", "every 6h", or a cron expression',
    )
    enabled = models.BooleanField(default=True)
    auth_kind = models.CharField(max_length=16, choices=AuthKind.choices, default=AuthKind.NONE)
    auth_header = models.CharField(max_length=100, blank=True, help_text="Header name for a token")
    auth_username = models.CharField(max_length=200, blank=True)
    # Write-only: never rendered in pages, exports or logs (forms show only whether one is set).
    auth_secret = models.TextField(blank=True)
    # Conditional GET and TAXII paging state, kept between pulls.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    taxii_added_after = models.CharField(max_length=64, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    indicator_count = models.PositiveIntegerField(default=0, help_text="As of the last pull")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("intel:feed_detail", args=[self.pk])

    @property
    def has_secret(self) -> bool:
        return bool(self.auth_secret)


class FeedRun(models.Model):
    """One pull of a feed: when, how it ended, how much came in, and the first errors."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        PARTIAL = "partial", "Partial (some rows rejected)"
        FAILED = "failed", "Failed"
        UNCHANGED = "unchanged", "Unchanged (skipped)"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        COMMAND = "command", "Command line"

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.BigIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="Rejected row samples")
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feed_runs",
    )

    COUNT_FIELDS = ("received", "created", "updated", "unchanged", "rejected", "skipped", "expired")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["feed", "-started_at"], name="feedrun_feed_started_idx")]
        constraints = [
            # The database refuses a second concurrent run of one feed, whatever the callers do.
            models.UniqueConstraint(
                fields=["feed"],
                condition=models.Q(status="running"),
                name="feedrun_one_running_per_feed",
                violation_error_message="This feed is already being pulled.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.feed} run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("intel:feed_detail", args=[self.feed_id]) + f"#run-{self.pk}"

    def as_dict(self) -> dict:
        """The run as `pull_feed` prints it: status and the counts."""
        return {
            "feed": self.feed.name,
            "run": self.pk,
            "status": str(self.status),
            **{name: getattr(self, name) for name in self.COUNT_FIELDS},
            "bytes": self.bytes,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "errors": self.errors,
        }
