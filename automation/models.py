"""Automation models: enrichment results, admin-configured HTTP enrichers, playbooks, their
runs, and the outbox of automation events waiting to be processed.

An `AutomationEvent` is written in the same transaction as the change that triggers it (a hit,
a case opened or labelled, an indicator added, a feed run failing), so nothing is lost when
Redis is down: workers drain the table (`automation.outbox`). A `PlaybookRun` is unique per
(playbook, event) and records each step as it goes, so a run interrupted by a dead worker
resumes without repeating the steps already done.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import reverse
from django.utils import timezone

from intel.models import Indicator, IndicatorType


class Trigger(models.TextChoices):
    """What starts a playbook."""

    HIT_CREATED = "hit_created", "Hit created"
    CASE_CREATED = "case_created", "Case created"
    CASE_LABELLED = "case_labelled", "Case labelled"
    INDICATOR_ADDED = "indicator_added", "Indicator added"
    FEED_RUN_FAILED = "feed_run_failed", "Feed run failed"


class Enrichment(models.Model):
    """What one enricher said about one indicator, and until when it is fresh."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="enrichments")
    provider = models.CharField(max_length=120, help_text="An enricher's name (`http:<name>`).")
    data = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["provider"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "provider"],
                name="enrichment_indicator_provider_uniq",
                violation_error_message="One result per indicator and provider.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} on {self.indicator_id}"

    @property
    def is_fresh(self) -> bool:
        """Still within its cache TTL."""
        return self.expires_at > timezone.now()


class HttpEnricher(models.Model):
    """A generic JSON-over-HTTP enricher configured by admins (a reputation service, say).

    `url_template` contains `{value}` (URL-quoted) and optionally `{type}`. The API key is
    write-only: it is sent in `api_key_header` and never shown or logged.
    """

    name = models.SlugField(max_length=100, unique=True)
    is_enabled = models.BooleanField(default=True)
    applies_to = ArrayField(
        models.CharField(max_length=16, choices=IndicatorType.choices),
        default=list,
        help_text="Indicator types it enriches.",
    )
    url_template = models.CharField(max_length=500)
    api_key = models.CharField(max_length=500, blank=True)
    api_key_header = models.CharField(max_length=100, default="Authorization", blank=True)
    fields = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text="Dotted paths of the response to keep (empty: the whole response).",
    )
    ttl_seconds = models.PositiveIntegerField(default=86400)
    timeout_seconds = models.FloatField(default=5.0)
    rate_per_minute = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AutomationSettings(models.Model):
    """The global kill switch for playbooks (one row)."""

    playbooks_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "automation settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=1),
                name="automationsettings_singleton",
                violation_error_message="There is one automation settings row.",
            )
        ]

    def __str__(self) -> str:
        return "Automation settings"

    @classmethod
    def load(cls) -> "AutomationSettings":
        """The settings row, created the first time."""
        found, _ = cls.objects.get_or_create(pk=1)
        return found


class Playbook(models.Model):
    """A trigger, conditions and ordered actions (see `automation.playbooks` for the schema)."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    is_enabled = models.BooleanField(default=True)
    dry_run = models.BooleanField(default=False, help_text="Record what would happen; do nothing.")
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list)
    position = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("automation:playbook_detail", args=[self.pk])


class AutomationEvent(models.Model):
    """One trigger waiting to be processed: the outbox row written with the change itself."""

    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    object_type = models.CharField(max_length=32, help_text="case, hit, indicator or feed_run")
    object_id = models.BigIntegerField()
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                name="autoevent_pending",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(fields=["object_type", "object_id"], name="autoevent_object"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger} {self.object_type} {self.object_id}"


class PlaybookRun(models.Model):
    """One playbook run for one automation event, with each step's outcome."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Conditions not met"
        DRY_RUN = "dry_run", "Dry run"

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="runs")
    event = models.ForeignKey(
        AutomationEvent, on_delete=models.SET_NULL, null=True, related_name="runs"
    )
    idempotency_key = models.CharField(max_length=200)
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    dry_run = models.BooleanField(default=False)
    matched = models.JSONField(default=dict, blank=True, help_text="The conditions and values.")
    steps = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    first_action_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "idempotency_key"],
                name="playbookrun_idempotency_uniq",
                violation_error_message="This playbook already ran for this trigger.",
            )
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="playbookrun_object"),
            models.Index(fields=["status", "started_at"], name="playbookrun_status"),
        ]

    def __str__(self) -> str:
        return f"{self.playbook} on {self.object_type} {self.object_id}"

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
