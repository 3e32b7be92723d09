"""Forms for automation pages."""

import json

from django import forms

from automation.playbooks import PlaybookError, validate_playbook


class PlaybookJsonForm(forms.Form):
    """A playbook pasted as JSON (the file schema), validated with its clear errors."""

    definition = forms.CharField(widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}))

    def clean_definition(self) -> dict:
        try:
            data = json.loads(self.cleaned_data["definition"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from exc
        try:
            validate_playbook(data)
        except PlaybookError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data
