"""Forms for the tuning pages: report a miss, start a back-test, decide on a suggestion."""

import json
from typing import Any

from django import forms
from django.conf import settings

from detection.forms import RuleForm
from detection.models import Rule
from tuning.backtest import parse_indicator_changes
from tuning.missed import MAX_NOTE
from tuning.models import Action, TuningSuggestion

MAX_CHANGE_LINES = 100_000


class MissedReportForm(forms.Form):
    """An event that should have hit (JSON, as the intake API takes it) and its policy."""

    event = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": '{"id": "e1", "kind": "post", …}'}),
        max_length=256 * 1024,
        label="Event (JSON)",
    )
    policy = forms.ChoiceField(choices=Rule.PolicyLabel.choices)
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why it should have hit.",
    )

    def clean_event(self) -> Any:
        try:
            return json.loads(self.cleaned_data["event"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc.msg}.") from exc


class DraftRuleForm(RuleForm):
    """The rule editor's fields for a draft that is back-tested, never saved: any name goes."""

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()


class BacktestForm(forms.Form):
    """What to back-test: a saved rule or the draft below it, how many days, intel changes."""

    rule = forms.ModelChoiceField(
        queryset=Rule.objects.order_by("name"),
        required=False,
        empty_label="— a draft rule (fill in below) —",
        help_text="A saved rule, enabled or not, live or shadow.",
    )
    days = forms.IntegerField(min_value=1, help_text="Days of stored events to replay.")
    indicators = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "domain,evil.example\n-evil.test"}),
        max_length=16 * 1024 * 1024,
        label="Indicator changes",
        help_text=(
            "Optional, one per line: type,value or a plain value is added to active intel; "
            "a line starting with - removes it."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.TDP_EVENT_RETENTION_DAYS
        self.fields["days"].widget.attrs["max"] = settings.TDP_EVENT_RETENTION_DAYS

    def clean_days(self) -> int:
        days = self.cleaned_data["days"]
        if days > settings.TDP_EVENT_RETENTION_DAYS:
            raise forms.ValidationError(
                f"Events are kept {settings.TDP_EVENT_RETENTION_DAYS} days; replay at most that."
            )
        return days

    def clean_indicators(self) -> str:
        text = self.cleaned_data.get("indicators") or ""
        lines = text.splitlines()
        if len(lines) > MAX_CHANGE_LINES:
            raise forms.ValidationError(f"At most {MAX_CHANGE_LINES:,} lines.")
        changes = parse_indicator_changes(lines)
        if changes.errors:
            raise forms.ValidationError(
                "Some lines are not indicators: " + "; ".join(changes.errors[:5])
            )
        return text


class SuggestionApplyForm(forms.Form):
    """Apply a suggestion: its action (or another allowed for the target) and a note."""

    action = forms.ChoiceField(choices=Action.choices)
    note = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, suggestion: TuningSuggestion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = set(suggestion.allowed_actions)
        self.fields["action"].choices = [c for c in Action.choices if c[0] in allowed]
        self.fields["action"].initial = suggestion.action


class SuggestionDismissForm(forms.Form):
    """Dismiss a suggestion, with a reason."""

    note = forms.CharField(required=False, max_length=2000)
