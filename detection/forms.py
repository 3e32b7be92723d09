"""Forms for the rule pages: the rule editor, the sample test and the "why not" box."""

from typing import Any

from django import forms

from detection.models import ContentEvent, Rule
from intel.forms import parse_tags
from intel.models import IndicatorType, Severity, Source


class RuleForm(forms.Form):
    """Create or edit a rule. Empty filters accept everything."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    is_enabled = forms.BooleanField(required=False, initial=True, label="Enabled")
    mode = forms.ChoiceField(choices=Rule.Mode.choices, initial=Rule.Mode.LIVE)
    indicator_types = forms.MultipleChoiceField(
        choices=IndicatorType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type.",
    )
    tags = forms.CharField(required=False, help_text="Comma separated; empty: any tag.")
    sources = forms.ModelMultipleChoiceField(
        queryset=Source.objects.order_by("name"),
        required=False,
        help_text="None chosen: any source.",
    )
    min_confidence = forms.IntegerField(min_value=0, max_value=100, initial=0)
    event_kinds = forms.MultipleChoiceField(
        choices=ContentEvent.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind of event.",
    )
    threshold = forms.IntegerField(
        min_value=1, initial=1, help_text="Distinct matching indicators per author."
    )
    window_seconds = forms.IntegerField(min_value=1, initial=3600, label="Window (seconds)")
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    policy_label = forms.ChoiceField(choices=Rule.PolicyLabel.choices, initial="other")
    grouping = forms.ChoiceField(choices=Rule.Grouping.choices, initial="per_author")
    group_window_seconds = forms.IntegerField(
        min_value=1, initial=86400, label="Group window (seconds)"
    )

    def __init__(self, *args: Any, rule: Rule | None = None, **kwargs: Any) -> None:
        self.rule = rule
        super().__init__(*args, **kwargs)

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags") or "")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Rule.objects.filter(name=name)
        if self.rule is not None:
            clash = clash.exclude(pk=self.rule.pk)
        if clash.exists():
            raise forms.ValidationError("Another rule has this name.")
        return name

    def values(self) -> dict[str, Any]:
        """The cleaned form as values for `detection.rules.create_rule` / `update_rule`."""
        return dict(self.cleaned_data)

    @classmethod
    def initial_for(cls, rule: Rule) -> dict[str, Any]:
        """Form initial values from a stored rule."""
        initial = {name: getattr(rule, name) for name in cls.base_fields if name != "sources"}
        initial["tags"] = ", ".join(rule.tags)
        initial["sources"] = list(rule.sources.all())
        return initial


class SampleForm(forms.Form):
    """Events to try a rule on: a JSON array, one JSON object or JSON lines."""

    events = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": '{"id": "e1", "kind": "post", …}'}),
        max_length=1024 * 1024,
        label="Sample events",
    )


class WhyNotForm(forms.Form):
    """One event and one indicator that did not give a hit."""

    event = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": '{"id": "e1", "kind": "post", …}'}),
        max_length=256 * 1024,
        label="Event (JSON)",
    )
    indicator = forms.CharField(
        max_length=2048, help_text="A value, or type:value (e.g. domain:evil.example)"
    )
