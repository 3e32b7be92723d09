"""Django admin registrations for the shared models (read-only audit trail)."""

from typing import Any

from django.contrib import admin

from tdp.models import AuditEntry, UserProfile
from tdp.roles import ADMIN, has_role


def _admin_role_only(request: Any) -> bool:
    """The Django admin is for the admin role (model permissions still apply inside it)."""
    return request.user.is_active and request.user.is_staff and has_role(request.user, ADMIN)


admin.site.has_permission = _admin_role_only
admin.site.site_header = "TDP administration"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse only: changes go through the audited pages and jobs, never the admin."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit trail can be read in the admin but never edited."""

    list_display = ("at", "user_name", "action", "content_type", "object_repr")
    list_filter = ("action", "content_type")
    search_fields = ("object_repr", "user_name", "request_id")

    def get_queryset(self, request: Any) -> Any:
        from tdp.audit import visible_entries

        return visible_entries(request.user)


admin.site.register(UserProfile)
