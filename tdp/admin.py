"""Django admin registrations for the shared models (read-only audit trail)."""

from django.contrib import admin

from tdp.models import AuditEntry, UserProfile


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail can be read in the admin but never edited."""

    list_display = ("at", "user_name", "action", "content_type", "object_repr")
    list_filter = ("action", "content_type")
    search_fields = ("object_repr", "user_name", "request_id")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


admin.site.register(UserProfile)
