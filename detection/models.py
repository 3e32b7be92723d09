"""Detection models: content events kept for evidence, rules over intel matches, and hits.

A `ContentEvent` is one piece of platform content (a post, a comment, an ad...) as it arrived.
Events live in a table partitioned by day (`received_day`, see migration 0001 and
`detection.retention`): dropping a day's partition is how retention works, so the primary key
and every unique constraint include the day. A `Rule` says which intel matches count, how
severe they are and how they will be grouped into cases. A `Hit` is one (event, rule,
indicator) match, stored at most once however often the event is scanned. A `ScanBatch` is one
request to the intake API (`POST /api/v1/events`): its accepted events wait on it until an RQ
worker scans them.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now
from django.urls import reverse

from intel.models import Indicator, IndicatorType, Severity, Source
from tdp.roles import LEAD, has_role

EVENT_ID_SEQUENCE = "detection_contentevent_id_seq"


class ContentEvent(models.Model):
    """One content event from the platform, kept `TDP_EVENT_RETENTION_DAYS` days.

    `event_id` is the platform's id. It is unique per `received_day` only (a unique index on a
    partitioned table must contain the partition key): storing skips ids already kept in any
    partition, but two workers storing the same new id on either side of midnight UTC could
    both keep it. Hits are unique on the platform id regardless.
    """

    class Kind(models.TextChoices):
        POST = "post", "Post"
        COMMENT = "comment", "Comment"
        PROFILE = "profile", "Profile"
        MESSAGE = "message", "Message"
        LIVE = "live", "Live stream"
        AD = "ad", "Ad"

    pk = models.CompositePrimaryKey("received_day", "id")
    received_day = models.DateField(help_text="UTC day of arrival; the partition key.")
    # Filled from a sequence: an AutoField must be the whole primary key.
    id = models.BigIntegerField(
        db_default=models.Func(models.Value(EVENT_ID_SEQUENCE), function="nextval"),
        editable=False,
    )
    event_id = models.CharField(max_length=200, help_text="The platform's id of the event.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    author_id = models.CharField(max_length=200)
    author_handle = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    payload = models.JSONField(help_text="The whole event as received.")
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-received_day", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["received_day", "event_id"],
                name="contentevent_day_event_uniq",
                violation_error_message="This event is already stored for this day.",
            )
        ]
        # No index on the author: no query reads events by author, and every scan pays for
        # each index on every event it stores (migration 0006 dropped one).
        indexes = [models.Index(fields=["event_id"], name="contentevent_event_id")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class Rule(models.Model):
    """Which intel matches count as hits, how severe they are and how cases will group them.

    Empty filters match everything. A hit counts towards a case once the author has
    `threshold` distinct matching indicators within `window_seconds` (`Hit.is_over_threshold`).
    Shadow rules record hits for measurement without acting on them.
    """

    class Mode(models.TextChoices):
        LIVE = "live", "Live"
        SHADOW = "shadow", "Shadow"

    class PolicyLabel(models.TextChoices):
        SPAM = "spam", "Spam"
        SCAM = "scam", "Scam"
        CSE_HASH_MATCH = "cse_hash_match", "CSE hash match"
        VIOLENT_EXTREMISM = "violent_extremism", "Violent extremism"
        COORDINATED_INAUTHENTIC_BEHAVIOUR = (
            "coordinated_inauthentic_behaviour",
            "Coordinated inauthentic behaviour",
        )
        PHISHING = "phishing", "Phishing"
        MALWARE = "malware", "Malware"
        OTHER = "other", "Other"

    class Grouping(models.TextChoices):
        PER_AUTHOR = "per_author", "Per author"
        PER_INDICATOR = "per_indicator", "Per indicator"
        PER_EVENT = "per_event", "Per event"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    is_enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.LIVE)
    indicator_types = ArrayField(
        models.CharField(max_length=16, choices=IndicatorType.choices),
        default=list,
        blank=True,
        help_text="Empty: every type.",
    )
    tags = ArrayField(
        models.CharField(max_length=64), default=list, blank=True, help_text="Empty: any tag."
    )
    sources = models.ManyToManyField(
        Source, blank=True, related_name="rules", help_text="Empty: any source."
    )
    min_confidence = models.PositiveSmallIntegerField(default=0)
    event_kinds = ArrayField(
        models.CharField(max_length=16, choices=ContentEvent.Kind.choices),
        default=list,
        blank=True,
        help_text="Empty: every kind of event.",
    )
    threshold = models.PositiveIntegerField(
        default=1, help_text="Distinct matching indicators per author within the window."
    )
    window_seconds = models.PositiveIntegerField(default=3600)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    policy_label = models.CharField(
        max_length=40, choices=PolicyLabel.choices, default=PolicyLabel.OTHER
    )
    grouping = models.CharField(
        max_length=16, choices=Grouping.choices, default=Grouping.PER_AUTHOR
    )
    group_window_seconds = models.PositiveIntegerField(default=86400)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gte=1),
                name="rule_threshold_positive",
                violation_error_message="The threshold is at least 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(min_confidence__lte=100),
                name="rule_min_confidence_range",
                violation_error_message="Confidence is 0-100.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("detection:rule_detail", args=[self.pk])


class Hit(models.Model):
    """One indicator matched in one event under one rule; never stored twice.

    The event is referenced by its platform id and day, not a foreign key: foreign keys into a
    partitioned table would block dropping expired partitions. A hit outlives its event's
    partition (the matched value and field stay).
    """

    event_id = models.CharField(max_length=200)
    event_day = models.DateField(help_text="The event's partition day.")
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="hits")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="hits")
    field = models.CharField(max_length=16, help_text="Where in the event: text, urls, media…")
    value = models.TextField(help_text="The observable that matched, canonical.")
    start = models.IntegerField(null=True, blank=True, help_text="Offset in the text.")
    end = models.IntegerField(null=True, blank=True)
    author_id = models.CharField(max_length=200)
    occurred_at = models.DateTimeField()
    mode = models.CharField(max_length=16, choices=Rule.Mode.choices)
    is_over_threshold = models.BooleanField(
        default=True, help_text="The author reached the rule's threshold within its window."
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hits",
        help_text="The case this hit was grouped into (live hits over threshold only).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "rule", "indicator"],
                name="hit_event_rule_indicator_uniq",
                violation_error_message="This event already has a hit for this rule and indicator.",
            )
        ]
        indexes = [
            models.Index(fields=["rule", "author_id", "occurred_at"], name="hit_rule_author_time"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.event_id}: {self.indicator}"


class ScanBatchQuerySet(models.QuerySet):
    """Batches filtered by who may see them."""

    def visible_to(self, user: object) -> "ScanBatchQuerySet":
        """Leads and admins see every batch; anyone else only the batches they submitted."""
        if has_role(user, LEAD):
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(submitted_by=user)


class ScanBatch(models.Model):
    """One intake API request: its accepted events, then the outcome of scanning them.

    The events wait in `events` until the worker's scan stores them as `ContentEvent` rows;
    the list is then emptied (the partitions keep them). `hits` counts the hits this batch
    created, `matches` every rule match found (a rescan finds matches but no new hits).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    received_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scan_batches",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    events = models.PositiveIntegerField(default=0, help_text="Events accepted.")
    rejected = models.PositiveIntegerField(default=0, help_text="Events rejected as invalid.")
    matches = models.PositiveIntegerField(default=0)
    hits = models.PositiveIntegerField(default=0, help_text="New hits stored by this batch.")
    cases = models.PositiveIntegerField(default=0, help_text="New cases opened by this batch.")
    # The part of the three counts above that involves TLP:RED intel (hidden from the
    # submitter unless cleared: a count that moves would tell them a value is on a RED list).
    restricted_matches = models.PositiveIntegerField(default=0)
    restricted_hits = models.PositiveIntegerField(default=0)
    restricted_cases = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first rejections.")
    pending_events = models.JSONField(
        default=list, blank=True, help_text="Accepted events waiting to be scanned."
    )
    error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScanBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"], name="scanbatch_status_enqueued")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="scanbatch_status_valid",
                violation_error_message="Unknown batch status.",
            )
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("api_scan_batch_detail", kwargs={"pk": self.pk})
