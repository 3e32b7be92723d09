"""Tuning REST API: report missed detections, and the misses per policy for dashboards.

`POST /api/v1/missed` takes ``{"event": {...content event...}, "policy": label, "note": text}``
(the event as the intake API takes it, checked by `detection.scan.validate_event`) and answers
201 with the report and the existing intel that would have caught it. `GET
/api/v1/metrics/missed` lists the misses of the last ``days`` days per policy, each with that
intel (`tuning.missed.would_catch`: any status, TLP:RED only for cleared users). Both need the
analyst role.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from detection.api import ContentEventSerializer, ErrorSerializer
from detection.models import Rule
from tuning.missed import (
    MAX_NOTE,
    Catch,
    MissedReportError,
    misses_per_policy,
    report_miss,
    would_catch,
)
from tuning.models import MissedReport

MAX_DAYS = 365
MAX_LIMIT = 1000


class MissedReportInSerializer(serializers.Serializer):
    """What a client posts; the event itself is checked by `validate_event`."""

    event = serializers.JSONField(help_text="The content event that should have hit.")
    policy = serializers.ChoiceField(choices=Rule.PolicyLabel.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE)


class MissedReportRequestSerializer(MissedReportInSerializer):
    """The request body as documented (the event's fields spelled out)."""

    event = ContentEventSerializer()


class CatchSerializer(serializers.Serializer):
    """An existing indicator matching the missed event, whatever its status."""

    indicator = serializers.IntegerField(help_text="The indicator's id.")
    type = serializers.CharField()
    value = serializers.CharField()
    status = serializers.CharField(help_text="active, expired, revoked or allowlisted")
    tlp = serializers.CharField()
    confidence = serializers.IntegerField()
    field = serializers.CharField(help_text="Where in the event: text, urls, author, media…")
    observable = serializers.CharField(help_text="What the event said there.")


class MissedReportSerializer(serializers.Serializer):
    """A missed detection and the intel that would have caught it."""

    id = serializers.IntegerField()
    event_id = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    policy = serializers.CharField()
    note = serializers.CharField()
    reported_by = serializers.CharField(help_text="Username; empty when the user was deleted.")
    created_at = serializers.DateTimeField()
    would_catch = CatchSerializer(many=True)


class PolicyMissesSerializer(serializers.Serializer):
    """The misses of one policy in the period, newest first."""

    policy = serializers.CharField()
    label = serializers.CharField()
    misses = serializers.IntegerField(help_text="Misses reported in the period.")
    caught = serializers.IntegerField(
        help_text="Of those, misses that existing intel (active or not) matches."
    )
    reports = MissedReportSerializer(many=True, help_text="The newest `limit` misses.")


class MissedMetricsSerializer(serializers.Serializer):
    """Misses per policy, most misses first."""

    days = serializers.IntegerField()
    policies = PolicyMissesSerializer(many=True)


def _report_data(report: MissedReport, catches: list[Catch]) -> dict[str, Any]:
    return {
        "id": report.pk,
        "event_id": report.event_id,
        "occurred_at": report.occurred_at,
        "policy": report.policy,
        "note": report.note,
        "reported_by": report.reported_by.get_username() if report.reported_by else "",
        "created_at": report.created_at,
        "would_catch": [catch.as_dict() for catch in catches],
    }


_EXAMPLE_REPORT = {
    "id": 7,
    "event_id": "post-991",
    "occurred_at": "2026-11-25T12:00:00Z",
    "policy": "phishing",
    "note": "Credential phishing page, still up.",
    "reported_by": "ana",
    "created_at": "2026-11-25T12:30:00Z",
    "would_catch": [
        {
            "indicator": 42,
            "type": "domain",
            "value": "evil.example",
            "status": "expired",
            "tlp": "AMBER",
            "confidence": 80,
            "field": "urls",
            "observable": "https://login.evil.example/x",
        }
    ],
}


class MissedReportCreateAPI(APIView):
    """Record a false negative."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]

    @extend_schema(
        summary="Report a missed detection",
        description=(
            "An event that should have hit, with the policy it violates and a note. The event "
            "is checked like the intake API's (`POST /api/v1/events`); the answer lists the "
            "existing intel — active, expired, revoked or allowlisted — that matches it. "
            "Needs the analyst role."
        ),
        request=MissedReportRequestSerializer,
        responses={201: MissedReportSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Recorded", value=_EXAMPLE_REPORT, response_only=True, status_codes=["201"]
            )
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = MissedReportInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        try:
            report = report_miss(
                data["event"], policy=data["policy"], note=data.get("note", ""), actor=request.user
            )
        except MissedReportError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = _report_data(report, would_catch(report, viewer=request.user))
        return Response(MissedReportSerializer(body).data, status=status.HTTP_201_CREATED)


def _int_param(request: Request, name: str, default: int, top: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= top:
        raise ValidationError({name: f"a whole number from 1 to {top}"})
    return int(raw)


class MissedMetricsAPI(APIView):
    """Misses per policy with the intel that would have caught each."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]

    @extend_schema(
        summary="Missed detections per policy",
        description=(
            "Misses reported in the last `days` days, per policy (most misses first): how "
            "many, how many existing intel matches, and the newest `limit` of them with that "
            "intel. Indicators marked TLP:RED are only listed for cleared users. Needs the "
            "analyst role."
        ),
        parameters=[
            OpenApiParameter("days", OpenApiTypes.INT, description="1-365, default 30"),
            OpenApiParameter(
                "policy", OpenApiTypes.STR, enum=Rule.PolicyLabel.values, description="One policy"
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="Reports per policy, 1-1000, default 100"
            ),
        ],
        responses={200: MissedMetricsSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        days = _int_param(request, "days", 30, MAX_DAYS)
        limit = _int_param(request, "limit", 100, MAX_LIMIT)
        policy = request.query_params.get("policy") or None
        if policy is not None and policy not in Rule.PolicyLabel.values:
            raise ValidationError({"policy": f"one of {', '.join(Rule.PolicyLabel.values)}"})
        groups = misses_per_policy(viewer=request.user, days=days, policy=policy)
        body = {
            "days": days,
            "policies": [
                {
                    "policy": group.policy,
                    "label": group.label,
                    "misses": group.count,
                    "caught": group.caught,
                    "reports": [
                        _report_data(report, group.catches[report.pk])
                        for report in group.reports[:limit]
                    ],
                }
                for group in groups
            ],
        }
        return Response(MissedMetricsSerializer(body).data)
