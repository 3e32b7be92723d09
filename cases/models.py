"""Triage models: cases that group hits, labels per hit, comments, reason codes, QA reviews.

A `Case` collects the live hits of one rule that share a grouping key (the author, the indicator
or the event, per `Rule.grouping`) within the rule's group window; `cases.grouping` opens and
fills them as hits are stored. Analysts claim, label and resolve cases (`cases.triage`); every
change bumps `version`, so a stale edit is refused instead of overwriting a newer one. A
`HitLabel` keeps the disposition of one hit with the rule, indicator and sources behind it, so
precision can be computed per rule, indicator and feed. Cases whose hits involve TLP:RED intel
are `is_restricted`: only cleared users see them.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from detection.models import Hit, Rule
from intel.models import Indicator
from tdp.roles import is_cleared


def is_system(actor: object) -> bool:
    """True for automation acting on its own (a playbook's name, or None), not a person."""
    return actor is None or isinstance(actor, str)


class Priority(models.IntegerChoices):
    """P1 is the most urgent."""

    P1 = 1, "P1"
    P2 = 2, "P2"
    P3 = 3, "P3"
    P4 = 4, "P4"


class Disposition(models.TextChoices):
    """The verdict on a case or a hit."""

    TRUE_POSITIVE = "true_positive", "True positive"
    FALSE_POSITIVE = "false_positive", "False positive"
    DUPLICATE = "duplicate", "Duplicate"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class ReasonCode(models.Model):
    """Why a hit or case was a false positive; the list is configured by admins."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=200)
    needs_note = models.BooleanField(
        default=False, help_text="Labelling with this reason requires a note."
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class TriageConfig(models.Model):
    """The one row of triage settings leads can change: SLA hours per priority, QA sampling."""

    sla_hours_p1 = models.PositiveIntegerField(default=4)
    sla_hours_p2 = models.PositiveIntegerField(default=24)
    sla_hours_p3 = models.PositiveIntegerField(default=72)
    sla_hours_p4 = models.PositiveIntegerField(default=168)
    qa_sample_percent = models.PositiveSmallIntegerField(
        default=5, help_text="Share of resolved cases sent to a second review (0-100)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=1),
                name="triageconfig_singleton",
                violation_error_message="There is one triage configuration.",
            ),
            models.CheckConstraint(
                condition=models.Q(qa_sample_percent__lte=100),
                name="triageconfig_qa_percent",
                violation_error_message="The QA sample is 0-100 percent.",
            ),
        ]

    def __str__(self) -> str:
        return "Triage settings"

    @classmethod
    def load(cls) -> "TriageConfig":
        """The configuration row, created with defaults the first time."""
        config, _ = cls.objects.get_or_create(pk=1)
        return config

    def sla_hours(self, priority: int) -> int:
        """Hours to resolve a case of ``priority``."""
        return getattr(self, f"sla_hours_p{priority}")


class CaseQuerySet(models.QuerySet):
    """Cases filtered by who may see them and by where they are in the queue."""

    def visible_to(self, user: object) -> "CaseQuerySet":
        """Cases involving TLP:RED intel are for cleared users only (automation, acting as
        the system, sees every case)."""
        if is_system(user) or is_cleared(user):
            return self
        return self.filter(is_restricted=False)

    def open(self) -> "CaseQuerySet":
        """Cases not resolved yet."""
        return self.exclude(status=Case.Status.RESOLVED)

    def claimable(self) -> "CaseQuerySet":
        """New cases nobody has taken."""
        return self.filter(status=Case.Status.NEW, assignee__isnull=True)

    def sla_breached(self, now: object = None) -> "CaseQuerySet":
        """Open cases past their SLA due time."""
        return self.open().filter(sla_due_at__lt=now or timezone.now())


class Case(models.Model):
    """Hits of one rule grouped for one analyst decision."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_REVIEW = "in_review", "In review"
        ESCALATED = "escalated", "Escalated"
        RESOLVED = "resolved", "Resolved"

    class QaStatus(models.TextChoices):
        NONE = "", "Not sampled"
        PENDING = "pending", "Awaiting second review"
        REVIEWED = "reviewed", "Second-reviewed"

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="cases")
    grouping = models.CharField(max_length=16, choices=Rule.Grouping.choices)
    group_key = models.CharField(
        max_length=200, help_text="The author id, indicator id or event id the hits share."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True)
    reason = models.CharField(max_length=40, blank=True, help_text="A ReasonCode code.")
    note = models.TextField(blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P3)
    sla_due_at = models.DateTimeField()
    policy_label = models.CharField(max_length=40, choices=Rule.PolicyLabel.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    author_id = models.CharField(max_length=200, blank=True)
    author_handle = models.CharField(max_length=200, blank=True)
    hit_count = models.PositiveIntegerField(default=0)
    first_hit_at = models.DateTimeField(help_text="When the earliest grouped content occurred.")
    last_hit_at = models.DateTimeField()
    is_restricted = models.BooleanField(
        default=False, help_text="A hit involves TLP:RED intel: cleared users only."
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    first_touched_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resolved_cases",
    )
    qa_status = models.CharField(
        max_length=16, choices=QaStatus.choices, default=QaStatus.NONE, blank=True
    )
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "sla_due_at", "id"]
        indexes = [
            # "Get next" and the default queue order: the most urgent claimable case first.
            models.Index(
                fields=["priority", "sla_due_at", "id"],
                name="case_claimable",
                condition=models.Q(status="new", assignee__isnull=True),
            ),
            models.Index(fields=["status", "priority", "sla_due_at", "id"], name="case_queue"),
            # The queue's sorts, on open cases (its default) and on all cases: each serves a
            # first page and a keyset page from the index alone (bench/queue.py).
            models.Index(
                fields=["priority", "sla_due_at", "id"],
                name="case_open_priority",
                condition=~models.Q(status="resolved"),
            ),
            models.Index(
                fields=["sla_due_at", "id"],
                name="case_open_sla",
                condition=~models.Q(status="resolved"),
            ),
            models.Index(
                fields=["policy_label", "sla_due_at", "id"],
                name="case_open_policy",
                condition=~models.Q(status="resolved"),
            ),
            models.Index(
                fields=["author_handle", "id"],
                name="case_open_author",
                condition=~models.Q(status="resolved"),
            ),
            models.Index(fields=["priority", "sla_due_at", "id"], name="case_priority"),
            models.Index(fields=["sla_due_at", "id"], name="case_sla"),
            models.Index(fields=["hit_count", "id"], name="case_hit_count"),
            models.Index(fields=["assignee", "status", "priority", "id"], name="case_assignee"),
            models.Index(fields=["rule", "group_key", "status"], name="case_rule_group"),
            models.Index(fields=["author_id"], name="case_author"),
            models.Index(fields=["resolved_at"], name="case_resolved_at"),
            models.Index(fields=["created_at"], name="case_created_at"),
            models.Index(
                fields=["qa_status", "resolved_at"],
                name="case_qa_pending",
                condition=models.Q(qa_status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="resolved", disposition__gt="")
                | (~models.Q(status="resolved") & models.Q(disposition="")),
                name="case_resolved_has_disposition",
                violation_error_message="A resolved case has a disposition, an open one none.",
            )
        ]

    def __str__(self) -> str:
        return f"Case {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("cases:case_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        """Not resolved yet."""
        return self.status != self.Status.RESOLVED

    @property
    def sla_breached(self) -> bool:
        """Open and past its due time."""
        return self.is_open and self.sla_due_at < timezone.now()

    @property
    def age_text(self) -> str:
        """How long ago the case opened, in its largest unit ("3 hours")."""
        return timesince(self.created_at).split(",")[0]

    @property
    def sla_text(self) -> str:
        """Time left to the SLA ("2 hours left"), or how late it is ("5 hours overdue")."""
        if not self.is_open:
            return "—"
        now = timezone.now()
        if self.sla_due_at < now:
            return timesince(self.sla_due_at, now).split(",")[0] + " overdue"
        return timesince(now, self.sla_due_at).split(",")[0] + " left"

    @property
    def title(self) -> str:
        """A one-line summary: rule and what groups the hits."""
        if self.grouping == Rule.Grouping.PER_AUTHOR:
            who = f"@{self.author_handle}" if self.author_handle else self.author_id
            return f"{self.rule.name}: {who}"
        return f"{self.rule.name}: {self.get_grouping_display().lower()} {self.group_key}"

    def indicator_values(self) -> list[str]:
        """The distinct values of the indicators behind this case's hits (for playbooks)."""
        return sorted(set(self.hits.values_list("indicator__value", flat=True).order_by()))


class HitLabel(models.Model):
    """The disposition of one hit, with the rule, indicator and sources it counts against."""

    hit = models.OneToOneField(
        Hit, on_delete=models.CASCADE, primary_key=True, related_name="label"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="hit_labels")
    disposition = models.CharField(max_length=16, choices=Disposition.choices)
    reason = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    from_case = models.BooleanField(
        default=True, help_text="Given by the case's label (a correction of the case updates it)."
    )
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="hit_labels")
    indicator = models.ForeignKey(
        Indicator, on_delete=models.SET_NULL, null=True, related_name="hit_labels"
    )
    indicator_type = models.CharField(max_length=16)
    indicator_value = models.TextField()
    source_ids = ArrayField(
        models.BigIntegerField(), default=list, help_text="The indicator's sources when labelled."
    )
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    labelled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["rule", "disposition"], name="hitlabel_rule"),
            models.Index(fields=["indicator", "disposition"], name="hitlabel_indicator"),
            models.Index(fields=["labelled_at"], name="hitlabel_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_disposition_display()} on hit {self.hit_id}"


class CaseComment(models.Model):
    """An analyst's note on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=10_000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.case}"


class SavedView(models.Model):
    """A user's named queue filter (the query string of the queue page)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                name="savedview_user_name_uniq",
                violation_error_message="You already have a view with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('cases:queue')}?{self.query}"


class ReviewerPreference(models.Model):
    """How one analyst wants harmful content shown: blurred (default) or revealed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_preference"
    )
    reveal_by_default = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class QaReview(models.Model):
    """A second analyst's independent verdict on a sampled resolved case."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="qa_review")
    original_disposition = models.CharField(max_length=16, choices=Disposition.choices)
    original_analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="qa_reviews",
    )
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True)
    agrees = models.BooleanField(null=True)
    note = models.TextField(blank=True)
    sampled_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sampled_at"]

    def __str__(self) -> str:
        return f"QA of {self.case}"
