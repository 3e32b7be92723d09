"""Django admin for triage: reason codes are configured here (audited); cases are read-only."""

from typing import Any

from django.contrib import admin

from cases.models import Case, ReasonCode
from tdp.admin import ReadOnlyAdmin
from tdp.audit import diff, record, snapshot


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    """The false-positive reason codes analysts pick from; every change is audited."""

    list_display = ("code", "label", "needs_note", "is_active", "position")
    list_editable = ("is_active", "position")

    def save_model(self, request: Any, obj: ReasonCode, form: Any, change: bool) -> None:
        before = snapshot(ReasonCode.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        action = "reason_code.changed" if change else "reason_code.created"
        record(action, obj, actor=request.user, changes=diff(before, snapshot(obj)))

    def delete_model(self, request: Any, obj: ReasonCode) -> None:
        record("reason_code.deleted", obj, actor=request.user, changes=diff(snapshot(obj), {}))
        super().delete_model(request, obj)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # labels refer to codes: deactivate a code instead


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Cases can be browsed in the admin; triage happens on the case pages (audited)."""

    list_display = ("id", "rule", "status", "priority", "assignee", "created_at")
    list_filter = ("status", "priority")
    show_full_result_count = False

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).visible_to(request.user)
