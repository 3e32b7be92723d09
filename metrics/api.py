"""Metrics REST API: detection precision per rule, indicator, feed or policy.

`GET /api/v1/metrics/precision?by=rule|indicator|feed|policy[&since=ISO&until=ISO][&limit=N]`
returns rows `{"key", "hits", "labelled", "true_positive", "false_positive", "precision"}`,
most hits first. `since` (inclusive) and `until` (exclusive) select hits by creation time, and
the labels counted are those of these hits, including labels given a moment ago. Keys are rule
names, policy labels, feed names or `type:value` of indicators (TLP:RED indicators only for
cleared users). Leads and admins only, like the metrics pages.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.precision import BY_CHOICES, DEFAULT_LIMIT, MAX_LIMIT, quality_rows
from tdp.roles import IsLead


class PrecisionQuerySerializer(serializers.Serializer):
    """The query parameters, validated (errors come back as 400 with the field named)."""

    by = serializers.ChoiceField(choices=BY_CHOICES)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since >= until:
            raise serializers.ValidationError({"until": ["until must be later than since."]})
        return attrs


class PrecisionRowSerializer(serializers.Serializer):
    """One key's counts; precision is TP / (TP + FP), null without such labels."""

    key = serializers.CharField()
    hits = serializers.IntegerField()
    labelled = serializers.IntegerField()
    true_positive = serializers.IntegerField()
    false_positive = serializers.IntegerField()
    precision = serializers.FloatField(allow_null=True)


class PrecisionAPI(APIView):
    """Hits, labels and precision per rule, indicator, feed or policy."""

    permission_classes = [IsLead]

    @extend_schema(
        operation_id="metrics_precision",
        parameters=[
            OpenApiParameter("by", str, enum=list(BY_CHOICES), required=True),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Hits created at or after (ISO 8601; a date means its UTC midnight).",
            ),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Hits created before."),
            OpenApiParameter(
                "limit", int, description=f"At most this many rows (default {DEFAULT_LIMIT})."
            ),
        ],
        responses={200: PrecisionRowSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = PrecisionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = quality_rows(
            params["by"],
            user=request.user,
            since=params.get("since"),
            until=params.get("until"),
            limit=params["limit"],
            with_cases=False,
        )
        return Response([row.as_api() for row in rows])
