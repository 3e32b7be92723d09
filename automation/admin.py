"""Django admin for automation: HTTP enrichers are configured here (API key write-only, every
change audited); playbooks are managed as files or on the Playbooks page."""

from typing import Any

from django import forms
from django.contrib import admin

from automation.models import HttpEnricher
from tdp.audit import diff, record, snapshot


class HttpEnricherForm(forms.ModelForm):
    """The API key is never shown: leave it blank to keep the stored one."""

    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the current key.",
    )
    clear_api_key = forms.BooleanField(required=False, help_text="Remove the stored key.")

    class Meta:
        model = HttpEnricher
        fields = [
            "name",
            "is_enabled",
            "applies_to",
            "url_template",
            "api_key",
            "clear_api_key",
            "api_key_header",
            "fields",
            "ttl_seconds",
            "timeout_seconds",
            "rate_per_minute",
        ]

    def clean_url_template(self) -> str:
        value = self.cleaned_data["url_template"]
        if "{value" not in value:
            raise forms.ValidationError("The template needs {value} (or {value_b64}).")
        if not value.startswith(("https://", "http://")):
            raise forms.ValidationError("The template is an http(s) URL.")
        return value

    def save(self, commit: bool = True) -> HttpEnricher:
        enricher = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            enricher.api_key = ""
        elif not self.cleaned_data.get("api_key") and enricher.pk:
            enricher.api_key = HttpEnricher.objects.get(pk=enricher.pk).api_key
        if commit:
            enricher.save()
        return enricher


@admin.register(HttpEnricher)
class HttpEnricherAdmin(admin.ModelAdmin):
    """Generic JSON reputation services; the key is write-only and never audited."""

    form = HttpEnricherForm
    list_display = ("name", "is_enabled", "url_template", "rate_per_minute", "has_key")

    @admin.display(boolean=True, description="Key set")
    def has_key(self, obj: HttpEnricher) -> bool:
        return bool(obj.api_key)

    def save_model(self, request: Any, obj: HttpEnricher, form: Any, change: bool) -> None:
        before = snapshot(HttpEnricher.objects.get(pk=obj.pk)) if change else {}
        key_changed = change and HttpEnricher.objects.get(pk=obj.pk).api_key != obj.api_key
        super().save_model(request, obj, form, change)
        changes = diff(before, snapshot(obj))  # snapshot() leaves out fields named like secrets
        if key_changed:
            changes["api_key"] = ["•••", "•••"]
        record(
            "http_enricher.changed" if change else "http_enricher.created",
            obj,
            actor=request.user,
            changes=changes,
        )

    def delete_model(self, request: Any, obj: HttpEnricher) -> None:
        record("http_enricher.deleted", obj, actor=request.user, changes=diff(snapshot(obj), {}))
        super().delete_model(request, obj)
