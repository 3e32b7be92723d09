"""FilterSets for the shared models (the audit trail)."""

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet

from tdp.models import AuditEntry


class AuditEntryFilter(django_filters.FilterSet):
    """Filter the audit trail by free text, user, action, object type/id and date range."""

    q = django_filters.CharFilter(method="search", label="Search")
    user_name = django_filters.CharFilter(lookup_expr="iexact", label="User")
    action = django_filters.CharFilter(lookup_expr="istartswith")
    content_type = django_filters.ModelChoiceFilter(
        queryset=ContentType.objects.order_by("app_label", "model"), label="Object type"
    )
    object_id = django_filters.CharFilter()
    since = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = AuditEntry
        fields = ["q", "user_name", "action", "content_type", "object_id", "since", "until"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Match the object's name, the user or the action."""
        return queryset.filter(
            Q(object_repr__icontains=value)
            | Q(user_name__iexact=value)
            | Q(action__icontains=value)
        )
