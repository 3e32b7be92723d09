"""FilterSets for intel lists, shared by the pages, the exports and the API."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet

from intel.models import (
    TLP,
    AllowlistEntry,
    Indicator,
    IndicatorSource,
    IndicatorType,
    Source,
    Status,
)


class IndicatorFilter(django_filters.FilterSet):
    """Filter indicators by value substring, type, status, source, TLP, tag, confidence, dates."""

    q = django_filters.CharFilter(
        method="search",
        label="Value contains",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "evil.example, 1.2.3.4 …"}),
    )
    # distinct=False: these filter the indicator's own columns, so no row can repeat, and
    # DISTINCT would force a sort of every matching row before the page is cut.
    type = django_filters.MultipleChoiceFilter(choices=IndicatorType.choices, distinct=False)
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, distinct=False, widget=forms.CheckboxSelectMultiple
    )
    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.order_by("name"), method="filter_source", label="Source"
    )
    tlp = django_filters.MultipleChoiceFilter(
        choices=TLP.choices, label="TLP", distinct=False, widget=forms.CheckboxSelectMultiple
    )
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    confidence_min = django_filters.NumberFilter(
        field_name="confidence", lookup_expr="gte", label="Confidence ≥"
    )
    confidence_max = django_filters.NumberFilter(
        field_name="confidence", lookup_expr="lte", label="Confidence ≤"
    )
    seen_after = django_filters.DateFilter(
        field_name="last_seen_at",
        lookup_expr="date__gte",
        label="Seen since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    seen_before = django_filters.DateFilter(
        field_name="last_seen_at",
        lookup_expr="date__lte",
        label="Seen until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Indicator
        fields = ["q", "type", "status", "source", "tlp", "tag"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Case-insensitive substring on the value (served by the trigram index)."""
        value = value.strip()
        return queryset.filter(value__icontains=value) if value else queryset

    def filter_source(self, queryset: QuerySet, name: str, value: Source) -> QuerySet:
        """Indicators that this source reported (EXISTS keeps one row per indicator)."""
        if not value:
            return queryset
        reported = IndicatorSource.objects.filter(indicator=OuterRef("pk"), source=value)
        return queryset.filter(Exists(reported))

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Indicators carrying this tag (tags are stored lower-case)."""
        value = value.strip().lower()
        return queryset.filter(tags__contains=[value]) if value else queryset


class AllowlistEntryFilter(django_filters.FilterSet):
    """Filter the allowlist by kind and value substring."""

    q = django_filters.CharFilter(field_name="value", lookup_expr="icontains", label="Value")
    kind = django_filters.ChoiceFilter(choices=AllowlistEntry.Kind.choices)

    class Meta:
        model = AllowlistEntry
        fields = ["q", "kind"]
