"""Automation rollups: playbook runs by outcome and their actions by outcome, per start day."""

from django.db import models

from automation.models import Playbook


class PlaybookDay(models.Model):
    """Runs of one playbook started on one day that ended (so far) with one status."""

    day = models.DateField()
    playbook = models.ForeignKey(
        Playbook, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    status = models.CharField(max_length=16)
    runs = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "playbook", "status"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "playbook", "status"],
                name="playbookday_uniq",
                violation_error_message="One row per day, playbook and status.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} playbook {self.playbook_id} {self.status}: {self.runs}"


class ActionDay(models.Model):
    """Steps of one action type in one playbook's runs started on one day, by step outcome."""

    day = models.DateField()
    playbook = models.ForeignKey(
        Playbook, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    action = models.CharField(max_length=40)
    outcome = models.CharField(max_length=20)
    steps = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "playbook", "action", "outcome"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "playbook", "action", "outcome"],
                name="actionday_uniq",
                violation_error_message="One row per day, playbook, action and outcome.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.action} {self.outcome}: {self.steps}"
