"""Tuning models: false-positive suggestions, missed-detection reports and back-test runs.

A `TuningSuggestion` says "this indicator, rule or feed is mostly false positives: do this about
it"; `tuning.suggestions` creates them from hit labels and applies or dismisses them (audited).
A `MissedReport` is an analyst's false negative: an event that should have hit under a policy;
which intel would have caught it is computed when it is read (`tuning.missed`), so it reflects
intel as it is now, expired, revoked and allowlisted indicators included. A `BacktestRun` is one
back-test started from the back-test page: a saved or draft rule replayed over the stored events
of the last N days (`tuning.backtest`), with its result.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from detection.models import Rule
from intel.models import TLP, Indicator
from tdp.roles import LEAD, has_role, is_cleared


class TargetKind(models.TextChoices):
    """What a suggestion is about."""

    INDICATOR = "indicator", "Indicator"
    RULE = "rule", "Rule"
    FEED = "feed", "Feed"


class Action(models.TextChoices):
    """What a suggestion proposes; each kind of target has its own actions (`ACTIONS`)."""

    EXPIRE = "expire", "Expire the indicator"
    ALLOWLIST = "allowlist", "Allowlist the value"
    LOWER_CONFIDENCE = "lower_confidence", "Lower the indicator's confidence"
    DISABLE_RULE = "disable_rule", "Disable the rule"
    SHADOW_RULE = "shadow_rule", "Narrow the rule: shadow mode"
    MUTE_FEED = "mute_feed", "Mute the feed (disable its pulls)"


ACTIONS: dict[str, tuple[str, ...]] = {
    TargetKind.INDICATOR: (Action.EXPIRE, Action.ALLOWLIST, Action.LOWER_CONFIDENCE),
    TargetKind.RULE: (Action.DISABLE_RULE, Action.SHADOW_RULE),
    TargetKind.FEED: (Action.MUTE_FEED,),
}


class TuningSuggestionQuerySet(models.QuerySet):
    """Suggestions filtered by who may see them."""

    def visible_to(self, user: object) -> "TuningSuggestionQuerySet":
        """Suggestions about TLP:RED indicators are for cleared users only."""
        if is_cleared(user):
            return self
        red = Indicator.objects.filter(tlp=TLP.RED).values("pk")
        return self.exclude(target_kind=TargetKind.INDICATOR, target_id__in=red)

    def open(self) -> "TuningSuggestionQuerySet":
        """Suggestions nobody has decided on yet."""
        return self.filter(status=TuningSuggestion.Status.OPEN)


class TuningSuggestion(models.Model):
    """An indicator, rule or feed whose labelled hits are mostly false positives, and what to do.

    `labels` counts the true- and false-positive labels on its hits (duplicates and inconclusive
    ones do not count), `fp_rate` is false positives / labels. A target has at most one open
    suggestion; after one is decided, a new one appears only once `TDP_TUNING_MIN_LABELS` more
    labels have come in.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPLIED = "applied", "Applied"
        DISMISSED = "dismissed", "Dismissed"

    target_kind = models.CharField(max_length=16, choices=TargetKind.choices)
    target_id = models.BigIntegerField()
    target_repr = models.CharField(
        max_length=300, help_text="The target as it was named at the last refresh."
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    params = models.JSONField(
        default=dict, blank=True, help_text="The action's values, e.g. the new confidence."
    )
    fp_rate = models.FloatField()
    labels = models.PositiveIntegerField()
    false_positives = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    applied_action = models.CharField(max_length=32, choices=Action.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tuning_decisions",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TuningSuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["-fp_rate", "-labels", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target_kind", "target_id"],
                condition=Q(status="open"),
                name="tuningsuggestion_one_open_per_target",
                violation_error_message="This target already has an open suggestion.",
            ),
            models.CheckConstraint(
                condition=Q(fp_rate__gte=0) & Q(fp_rate__lte=1),
                name="tuningsuggestion_fp_rate_range",
                violation_error_message="A false-positive rate is 0-1.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "target_kind"], name="tuningsuggestion_status"),
            models.Index(fields=["target_kind", "target_id"], name="tuningsuggestion_target"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.target_repr}"

    def get_absolute_url(self) -> str:
        return reverse("tuning:suggestion_list") + f"#suggestion-{self.pk}"

    @property
    def target_url(self) -> str:
        """The target's own page."""
        names = {
            TargetKind.INDICATOR: "intel:indicator_detail",
            TargetKind.RULE: "detection:rule_detail",
            TargetKind.FEED: "intel:feed_detail",
        }
        return reverse(names[self.target_kind], args=[self.target_id])

    @property
    def allowed_actions(self) -> tuple[str, ...]:
        """The actions that may be applied to this kind of target."""
        return ACTIONS[self.target_kind]

    @property
    def action_choices(self) -> list[tuple[str, str]]:
        """``(value, label)`` of the allowed actions, the suggested one first."""
        labels = dict(Action.choices)
        ordered = [self.action, *(a for a in self.allowed_actions if a != self.action)]
        return [(action, labels[action]) for action in ordered]


class MissedReport(models.Model):
    """A false negative: an event that should have hit under `policy`, filed by an analyst.

    `event` is the content event as validated by `detection.scan.validate_event` (so the
    matcher reads it exactly as it reads the stream).
    """

    event = models.JSONField(help_text="The content event that should have hit.")
    event_id = models.CharField(max_length=200, help_text="The platform's id of the event.")
    occurred_at = models.DateTimeField()
    policy = models.CharField(max_length=40, choices=Rule.PolicyLabel.choices)
    note = models.TextField(blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="missed_reports",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["policy", "-created_at"], name="missedreport_policy"),
            models.Index(fields=["created_at"], name="missedreport_created"),
        ]

    def __str__(self) -> str:
        return f"Missed {self.get_policy_display()}: {self.event_id}"

    def get_absolute_url(self) -> str:
        return reverse("tuning:missed_detail", args=[self.pk])


class BacktestRunQuerySet(models.QuerySet):
    """Back-test runs filtered by who may see them (the back-test page is for leads)."""

    def visible_to(self, user: object) -> "BacktestRunQuerySet":
        """Leads see every run: the results only show intel through `visible_to` anyway."""
        return self if has_role(user, LEAD) else self.none()


class BacktestRun(models.Model):
    """One back-test started from the page: what was replayed, and what it would have done.

    The rule is either a saved one (`rule`) or a draft (`draft`: the rule editor's values,
    sources as ids). `indicators` is the pasted indicator change (see `tuning.backtest.changes`).
    `result` holds the counts of `BacktestResult.as_dict()`. Nothing but this row is written.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(
        Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="backtest_runs"
    )
    rule_name = models.CharField(max_length=200, help_text="The rule's or the draft's name.")
    draft = models.JSONField(default=dict, blank=True, help_text="A draft rule's values.")
    days = models.PositiveSmallIntegerField()
    indicators = models.TextField(blank=True, help_text="Indicator changes, one per line.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backtest_runs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = BacktestRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days__gte=1),
                name="backtestrun_days_positive",
                violation_error_message="A back-test replays at least one day.",
            )
        ]

    def __str__(self) -> str:
        return f"back-test {self.pk} of {self.rule_name}"

    def get_absolute_url(self) -> str:
        return reverse("tuning:backtest_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        """Done or failed: the page stops polling."""
        return self.status in (self.Status.DONE, self.Status.FAILED)
