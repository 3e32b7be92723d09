"""The queue's filters, shared by the queue page and the cases API.

`status` defaults to open cases; `assignee` takes `me`, `none`, `any` or a username; `age` and
`sla` narrow to old or overdue cases. Values are validated: an unknown value is an error, never
silently dropped (which would widen the list).
"""

from datetime import timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from cases.models import Case, Priority
from detection.models import Rule

STATUS_CHOICES = [("open", "Open"), *Case.Status.choices, ("all", "All")]
ASSIGNEE_CHOICES = [("any", "Anyone"), ("me", "Me"), ("none", "Unassigned")]
AGE_CHOICES = [
    ("1h", "Under an hour"),
    ("24h", "Under a day"),
    ("old", "Over a day"),
    ("week", "Over a week"),
]


class CaseFilter(django_filters.FilterSet):
    """Filter cases by status, priority, policy, rule, assignee, SLA breach and age."""

    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", empty_label="Open (default)"
    )
    priority = django_filters.TypedChoiceFilter(choices=Priority.choices, coerce=int)
    policy = django_filters.ChoiceFilter(
        field_name="policy_label", choices=Rule.PolicyLabel.choices, label="Policy"
    )
    rule = django_filters.ModelChoiceFilter(queryset=Rule.objects.all())
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        label="Assignee",
        widget=forms.Select(choices=ASSIGNEE_CHOICES),
    )
    sla = django_filters.BooleanFilter(
        method="filter_sla",
        label="SLA breached",
        widget=forms.Select(choices=[("", "Any"), ("true", "Breached"), ("false", "Within SLA")]),
    )
    age = django_filters.ChoiceFilter(choices=AGE_CHOICES, method="filter_age", label="Age")

    class Meta:
        model = Case
        fields = ["status", "priority", "policy", "rule", "assignee", "sla", "age"]

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        self.form.fields["rule"].widget.attrs["class"] = "rule-select"

    @property
    def qs(self) -> QuerySet:
        """Open cases unless a status was asked for (the filter method is skipped when empty)."""
        queryset = super().qs
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.open()
        return queryset

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "open":
            return queryset.open()
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if value in ("", "any"):
            return queryset
        if value == "me":
            return queryset.filter(assignee=self.request.user if self.request else None)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__username=value)

    def filter_sla(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(sla_due_at__lt=timezone.now()) & ~Q(status=Case.Status.RESOLVED)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_age(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        now = timezone.now()
        if value == "1h":
            return queryset.filter(created_at__gte=now - timedelta(hours=1))
        if value == "24h":
            return queryset.filter(created_at__gte=now - timedelta(days=1))
        if value == "old":
            return queryset.filter(created_at__lt=now - timedelta(days=1))
        if value == "week":
            return queryset.filter(created_at__lt=now - timedelta(days=7))
        return queryset
