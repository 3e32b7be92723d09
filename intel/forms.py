"""Forms for adding and editing intel: one indicator, a pasted text, an uploaded file."""

from typing import Any

from django import forms

from intel.models import TLP, AllowlistEntry, Feed, IndicatorType, Severity
from intel.normalize import MAX_LENGTH, NormalizationError, normalize

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

    value = forms.CharField(
        max_length=MAX_LENGTH, widget=forms.TextInput(attrs={"autofocus": True})
    )
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
    # A datetime-local input only shows a value in ISO form (with the "T"); in Django's default
    # "Y-m-d H:i:s" the browser shows it empty and saving the form would drop the expiry.
    expires_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M:%S"),
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


# The parser options the feed form edits (import_feeds files may set the others too).
FEED_PARSER_FIELDS = (
    "value_column",
    "type_column",
    "delimiter",
    "comment_prefix",
    "json_list_path",
)


class FeedForm(forms.Form):
    """Configure a feed. Credentials are write-only: left empty, the stored secret is kept."""

    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Feed.Kind.choices)
    url = forms.CharField(
        max_length=2000, required=False, help_text="HTTP(S) feed URL, or the TAXII collection URL"
    )
    file = forms.FileField(required=False, help_text="For an uploaded-file feed")
    format = forms.ChoiceField(choices=FORMAT_CHOICES, initial="auto")
    value_column = forms.CharField(required=False, help_text="CSV column / JSON key of the value")
    type_column = forms.CharField(required=False)
    delimiter = forms.CharField(required=False, max_length=1)
    comment_prefix = forms.CharField(required=False, max_length=4, initial="#")
    json_list_path = forms.CharField(required=False, help_text="e.g. data.items or deny")
    default_type = forms.ChoiceField(
        choices=[("", "Detect per row"), *IndicatorType.choices], required=False, label="Type"
    )
    confidence = forms.IntegerField(min_value=0, max_value=100, initial=50)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    tlp = forms.ChoiceField(choices=TLP.choices, initial=TLP.AMBER, label="TLP")
    tags = forms.CharField(required=False, help_text="Comma separated")
    ttl_days = forms.IntegerField(min_value=1, required=False, label="Expiry (days)")
    mode = forms.ChoiceField(choices=Feed.Mode.choices, initial=Feed.Mode.INCREMENTAL)
    schedule = forms.CharField(initial="every 1h", help_text="every 15m · every 6h · cron")
    enabled = forms.BooleanField(required=False, initial=True)
    auth_kind = forms.ChoiceField(choices=Feed.AuthKind.choices, label="Authentication")
    auth_header = forms.CharField(required=False, label="Header name", help_text="e.g. Auth-Key")
    auth_username = forms.CharField(required=False, label="Username")
    auth_secret = forms.CharField(
        required=False,
        label="Token / password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the stored one.",
    )

    def config(self) -> dict[str, Any]:
        """The form as a feed description for `intel.feed_config.clean_feed_config`."""
        data = self.cleaned_data
        parser = {key: data[key] for key in FEED_PARSER_FIELDS if data.get(key)}
        defaults: dict[str, Any] = {
            "confidence": data["confidence"],
            "severity": data["severity"],
            "tlp": data["tlp"],
            "tags": parse_tags(data.get("tags") or ""),
        }
        if data.get("default_type"):
            defaults["type"] = data["default_type"]
        if data.get("ttl_days"):
            defaults["ttl_days"] = data["ttl_days"]
        config: dict[str, Any] = {
            "name": data["name"],
            "kind": data["kind"],
            "url": data.get("url") or "",
            "format": data["format"],
            "parser": parser,
            "defaults": defaults,
            "mode": data["mode"],
            "schedule": data["schedule"],
            "enabled": data["enabled"],
        }
        if data["auth_kind"] == Feed.AuthKind.HEADER:
            config["auth"] = {"header": data.get("auth_header") or "Authorization"}
            if data.get("auth_secret"):
                config["auth"]["token"] = data["auth_secret"]
        elif data["auth_kind"] == Feed.AuthKind.BASIC:
            config["auth"] = {"username": data.get("auth_username") or ""}
            if data.get("auth_secret"):
                config["auth"]["password"] = data["auth_secret"]
        return config

    @classmethod
    def initial_for(cls, feed: Feed) -> dict[str, Any]:
        """Form initial values from a stored feed (never the secret)."""
        return {
            "name": feed.name,
            "kind": feed.kind,
            "url": feed.url,
            "format": feed.format,
            **{key: feed.parser.get(key, "") for key in FEED_PARSER_FIELDS},
            "default_type": feed.default_type,
            "confidence": feed.confidence,
            "severity": feed.severity,
            "tlp": feed.tlp,
            "tags": ", ".join(feed.tags),
            "ttl_days": feed.ttl_days,
            "mode": feed.mode,
            "schedule": feed.schedule,
            "enabled": feed.enabled,
            "auth_kind": feed.auth_kind,
            "auth_header": feed.auth_header,
            "auth_username": feed.auth_username,
        }
