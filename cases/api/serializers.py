"""Serializers of the cases API: cases, their hits and labels, label input, errors."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.api.paging import PRIORITY_LABELS
from cases.models import Case, Disposition, HitLabel
from detection.models import Hit, Rule

# --- Serializers ------------------------------------------------------------------------------


@extend_schema_field(
    {"type": "string", "enum": Case.Status.values}, component_name="CaseStatusEnum"
)
class CaseStatusField(serializers.ChoiceField):
    """A case's status, named apart from the other `status` choice sets in the schema."""


class HitIndicatorSerializer(serializers.Serializer):
    """The indicator a hit matched."""

    type = serializers.CharField()
    value = serializers.CharField()


class HitLabelSerializer(serializers.ModelSerializer):
    """A hit's disposition and who gave it."""

    labelled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = HitLabel
        fields = ["disposition", "reason", "note", "labelled_by", "labelled_at"]


class CaseHitSerializer(serializers.ModelSerializer):
    """One hit of a case: the platform event, rule, indicator, where it matched, its label."""

    event = serializers.CharField(source="event_id", help_text="The platform's event id.")
    rule = serializers.CharField(source="rule.name")
    indicator = HitIndicatorSerializer()
    label = HitLabelSerializer(read_only=True, allow_null=True, help_text="null: not labelled.")

    class Meta:
        model = Hit
        fields = ["id", "event", "rule", "indicator", "field", "value", "occurred_at", "label"]


class CaseSerializer(serializers.ModelSerializer):
    """A case as the queue lists it."""

    url = serializers.HyperlinkedIdentityField(view_name="api_case_detail")
    status = CaseStatusField(choices=Case.Status.choices, read_only=True)
    priority = serializers.ChoiceField(
        source="get_priority_display", choices=PRIORITY_LABELS, read_only=True
    )
    policy = serializers.ChoiceField(
        source="policy_label", choices=Rule.PolicyLabel.choices, read_only=True
    )
    rule = serializers.CharField(source="rule.name", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "url",
            "version",
            "status",
            "disposition",
            "reason",
            "note",
            "priority",
            "sla_due_at",
            "policy",
            "rule",
            "assignee",
            "author_id",
            "author_handle",
            "hit_count",
            "created_at",
            "resolved_at",
        ]


class CaseDetailSerializer(CaseSerializer):
    """A case with its hits and their labels."""

    hits = CaseHitSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "hits"]


class CaseConflictSerializer(CaseDetailSerializer):
    """A 409: why the change was refused, and the case as it is now."""

    error = serializers.CharField()
    detail = serializers.CharField()

    class Meta(CaseDetailSerializer.Meta):
        fields = ["error", "detail", *CaseDetailSerializer.Meta.fields]


class LabelInputSerializer(serializers.Serializer):
    """A verdict: a false positive needs a reason code, and some codes need a note."""

    disposition = serializers.ChoiceField(choices=Disposition.choices)
    reason = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text="A reason code."
    )
    note = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(
        min_value=1, help_text="The case version you saw; a stale one is refused with 409."
    )


class CaseErrorSerializer(serializers.Serializer):
    """An error: the message, and DRF's detail (the message, or errors per field)."""

    error = serializers.CharField()
    detail = serializers.JSONField()


ERRORS = {
    400: CaseErrorSerializer,
    401: CaseErrorSerializer,
    403: CaseErrorSerializer,
    404: CaseErrorSerializer,
}
