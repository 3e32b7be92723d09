"""Shared models: the product-wide audit trail and per-user preferences."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse


class AuditEntry(models.Model):
    """One state change anywhere in TDP: who did what to which object, with before/after values.

    Written by `tdp.audit.record` in the same transaction as the change itself. `user_name` is
    copied so the trail survives the user's deletion; `object_repr` likewise survives the object's.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    user_name = models.CharField(max_length=150, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user_name or 'system'} {self.action}"

    def get_absolute_url(self) -> str:
        return reverse("audit_list") + f"?object_id={self.object_id}"


class UserProfile(models.Model):
    """Per-user preferences; its Meta also carries the TLP:RED clearance permission."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    reveal_media_by_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["user_id"]
        permissions = [("view_tlp_red", "Can see TLP:RED intel (cleared)")]

    def __str__(self) -> str:
        return f"profile of {self.user}"
