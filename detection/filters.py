"""FilterSets for detection lists, shared by the pages and (later) the API."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from detection.models import Rule


class RuleFilter(django_filters.FilterSet):
    """Filter rules by name/description text, mode, enabled and policy label."""

    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or description"}),
    )
    mode = django_filters.ChoiceFilter(choices=Rule.Mode.choices)
    enabled = django_filters.BooleanFilter(field_name="is_enabled", label="Enabled")
    policy = django_filters.ChoiceFilter(
        field_name="policy_label", choices=Rule.PolicyLabel.choices, label="Policy"
    )

    class Meta:
        model = Rule
        fields = ["q", "mode", "enabled", "policy"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Case-insensitive substring of the name or the description."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
