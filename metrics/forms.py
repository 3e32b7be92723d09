"""The range, bucket and grouping choices of the metrics pages (GET forms)."""

from django import forms

from metrics.periods import BUCKETS, DEFAULT_BUCKET, DEFAULT_RANGE, RANGE_LABELS, Period
from metrics.precision import BY_CHOICES

BY_LABELS = {"rule": "Rule", "policy": "Policy", "feed": "Feed", "indicator": "Indicator"}


class PeriodForm(forms.Form):
    """Which days to show and whether series are per day or per week."""

    range = forms.ChoiceField(
        choices=list(RANGE_LABELS.items()), required=False, initial=DEFAULT_RANGE
    )
    bucket = forms.ChoiceField(
        choices=list(BUCKETS.items()), required=False, initial=DEFAULT_BUCKET, label="Series"
    )

    def period(self) -> Period:
        """The chosen period; anything invalid falls back to the defaults."""
        data = self.cleaned_data if self.is_valid() else {}
        return Period.recent(
            data.get("range") or DEFAULT_RANGE, data.get("bucket") or DEFAULT_BUCKET
        )


class DetectionForm(PeriodForm):
    """The period, what to group by, and optionally one key to chart."""

    by = forms.ChoiceField(
        choices=[(b, BY_LABELS[b]) for b in ("rule", "policy", "feed", "indicator")],
        required=False,
        initial="rule",
        label="Group by",
    )
    key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)

    def grouping(self) -> str:
        """The chosen grouping (rule by default)."""
        value = self.cleaned_data.get("by") if self.is_valid() else ""
        return value if value in BY_CHOICES else "rule"

    def chart_key(self) -> str:
        """The key whose volume to chart ("" for all)."""
        return (self.cleaned_data.get("key") or "") if self.is_valid() else ""
