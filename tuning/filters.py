"""FilterSets for the tuning lists, shared by the pages and the API."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from detection.models import Rule
from tuning.models import Action, MissedReport, TargetKind, TuningSuggestion


class TuningSuggestionFilter(django_filters.FilterSet):
    """Filter suggestions by status (open by default on the page), target kind and action."""

    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Target"}),
    )
    status = django_filters.ChoiceFilter(choices=TuningSuggestion.Status.choices)
    kind = django_filters.ChoiceFilter(
        field_name="target_kind", choices=TargetKind.choices, label="Kind"
    )
    action = django_filters.ChoiceFilter(choices=Action.choices)

    class Meta:
        model = TuningSuggestion
        fields = ["q", "status", "kind", "action"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Case-insensitive substring of the target's name."""
        value = value.strip()
        return queryset.filter(target_repr__icontains=value) if value else queryset


class MissedReportFilter(django_filters.FilterSet):
    """Filter missed reports by event id or note text, and policy."""

    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Event id or note"}),
    )
    policy = django_filters.ChoiceFilter(choices=Rule.PolicyLabel.choices)

    class Meta:
        model = MissedReport
        fields = ["q", "policy"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The exact event id, or a substring of the note."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(event_id=value) | Q(note__icontains=value))
