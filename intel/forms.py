"""Forms for adding and editing intel: one indicator, a pasted text, an uploaded file."""

from typing import Any

from django import forms

from intel.models import TLP, AllowlistEntry, IndicatorType, Severity
from intel.normalize import NormalizationError, normalize

FORMAT_CHOICES = [
    ("auto", "Detect automatically"),
    ("csv", "CSV"),
    ("txt", "Plain text / list"),
    ("json", "JSON"),
    ("jsonl", "JSON lines"),
    ("stix", "STIX 2.1 bundle"),
    ("misp", "MISP event"),
]


def parse_tags(text: str) -> list[str]:
    """Split a comma-separated tag field into clean lower-case tags."""
    return sorted({tag.strip().lower()[:64] for tag in text.split(",") if tag.strip()})


class IntelDefaultsForm(forms.Form):
    """What a person says about the intel they add: source, confidence, TLP, tags, expiry."""

    source = forms.CharField(
        max_length=200,
        required=False,
        help_text="Where this came from (report, partner, ticket). Default: Manual entry.",
    )
    confidence = forms.IntegerField(min_value=0, max_value=100, initial=70)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    tlp = forms.ChoiceField(choices=TLP.choices, initial=TLP.AMBER, label="TLP")
    tags = forms.CharField(required=False, help_text="Comma separated")
    ttl_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        label="Expires after (days)",
        help_text="Empty: the default for each type.",
    )

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags") or "")


class IndicatorForm(IntelDefaultsForm):
    """Add one indicator; its type is detected when not chosen."""

    value = forms.CharField(max_length=8192, widget=forms.TextInput(attrs={"autofocus": True}))
    type = forms.ChoiceField(
        choices=[("", "Detect automatically"), *IndicatorType.choices], required=False
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    field_order = ["value", "type"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        value = cleaned.get("value")
        if value:
            try:
                cleaned["normalized_type"], cleaned["normalized_value"] = normalize(
                    value, cleaned.get("type") or None
                )
            except NormalizationError as exc:
                self.add_error("value", exc.reason)
        return cleaned


class PasteForm(IntelDefaultsForm):
    """Free text (a report, an email, a chat log; defanged or not) to extract indicators from."""

    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "placeholder": "Paste a report, email or list…"}),
        max_length=5 * 1024 * 1024,
    )
    field_order = ["text"]


class PasteCommitForm(IntelDefaultsForm):
    """The chosen extracted indicators as `type|value` pairs, with the defaults to store them."""

    selected = forms.MultipleChoiceField(
        required=True, error_messages={"required": "Choose at least one indicator to add."}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any posted value is a candidate; each is re-normalised on commit, never trusted.
        posted = self.data.getlist("selected") if hasattr(self.data, "getlist") else []
        self.fields["selected"].choices = [(item, item) for item in posted]

    def clean_selected(self) -> list[tuple[str, str]]:
        pairs = []
        for item in self.cleaned_data["selected"]:
            indicator_type, _, value = item.partition("|")
            if indicator_type not in IndicatorType.values or not value:
                raise forms.ValidationError(f"Not an indicator: {item[:100]}")
            pairs.append((indicator_type, value))
        return pairs


class UploadForm(IntelDefaultsForm):
    """A file of intel: CSV, list, JSON, JSON lines, STIX 2.1 or MISP; gzip accepted."""

    file = forms.FileField()
    format = forms.ChoiceField(choices=FORMAT_CHOICES, initial="auto")
    type = forms.ChoiceField(
        choices=[("", "Detect per row"), *IndicatorType.choices],
        required=False,
        help_text="Force every value to this type (e.g. PDQ, which looks like SHA-256).",
    )
    value_column = forms.CharField(required=False, help_text="CSV/JSON: column or field name")
    field_order = ["file", "format", "type", "value_column"]


class IndicatorEditForm(forms.Form):
    """Edit an indicator's attributes (its type and value never change)."""

    confidence = forms.IntegerField(min_value=0, max_value=100)
    severity = forms.ChoiceField(choices=Severity.choices)
    tlp = forms.ChoiceField(choices=TLP.choices, label="TLP")
    tags = forms.CharField(required=False, help_text="Comma separated")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags") or "")


class StatusForm(forms.Form):
    """Revoke or reactivate an indicator, with a reason for the audit trail."""

    status = forms.ChoiceField(choices=[("revoked", "Revoke"), ("active", "Reactivate")])
    reason = forms.CharField(max_length=500)


class AllowlistEntryForm(forms.Form):
    """Add a value to the allowlist."""

    kind = forms.ChoiceField(choices=AllowlistEntry.Kind.choices)
    value = forms.CharField(max_length=2048)
    reason = forms.CharField(max_length=500)
