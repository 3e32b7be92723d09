"""Forms for triage pages: labels, escalation, assignment, comments, bulk actions, settings."""

from django import forms

from cases.bulk import BULK_ACTIONS, analysts
from cases.models import Disposition, Priority, ReasonCode, TriageConfig


def reason_choices() -> list[tuple[str, str]]:
    """The active false-positive reason codes, in their configured order."""
    return [("", "—")] + [
        (code.code, code.label) for code in ReasonCode.objects.filter(is_active=True)
    ]


class LabelForm(forms.Form):
    """A verdict on a case or a hit, with the version the analyst saw."""

    disposition = forms.ChoiceField(choices=Disposition.choices)
    reason = forms.ChoiceField(choices=(), required=False)
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    version = forms.IntegerField(min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = reason_choices()


class VersionForm(forms.Form):
    """An action that only needs the version the analyst saw (claim, escalate)."""

    version = forms.IntegerField(min_value=1)
    note = forms.CharField(required=False, max_length=5000)


class AssignForm(forms.Form):
    """Give a case to someone, or back to the queue."""

    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="Unassigned")
    version = forms.IntegerField(min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = analysts()


class PriorityForm(forms.Form):
    """Change a case's priority."""

    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)
    version = forms.IntegerField(min_value=1)


class CommentForm(forms.Form):
    """A comment on a case."""

    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)


class BulkForm(forms.Form):
    """One action on the selected cases; `confirmed` is set by the confirmation step."""

    case = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)
    action = forms.ChoiceField(choices=[(a, a) for a in BULK_ACTIONS])
    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="Unassigned")
    reason = forms.ChoiceField(choices=(), required=False)
    note = forms.CharField(required=False, max_length=5000)
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = analysts()
        self.fields["reason"].choices = reason_choices()
        self.fields["case"].choices = (
            [(v, v) for v in self.data.getlist("case") if v.isdigit()] if self.data else []
        )


class SavedViewForm(forms.Form):
    """Save the queue's current filters under a name."""

    name = forms.CharField(max_length=100)
    query = forms.CharField(max_length=2000, required=False)


class QaReviewForm(forms.Form):
    """A second reviewer's independent verdict."""

    disposition = forms.ChoiceField(choices=Disposition.choices)
    note = forms.CharField(required=False, max_length=5000)


class TriageConfigForm(forms.ModelForm):
    """SLA hours per priority and the QA sample (leads)."""

    class Meta:
        model = TriageConfig
        fields = [
            "sla_hours_p1",
            "sla_hours_p2",
            "sla_hours_p3",
            "sla_hours_p4",
            "qa_sample_percent",
        ]
        labels = {
            "sla_hours_p1": "SLA hours P1",
            "sla_hours_p2": "SLA hours P2",
            "sla_hours_p3": "SLA hours P3",
            "sla_hours_p4": "SLA hours P4",
            "qa_sample_percent": "QA sample %",
        }
