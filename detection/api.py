"""Detection REST API: the content intake and the status of what it queued.

`POST /api/v1/events` takes up to 10,000 content events (a JSON array, or JSON lines) and
answers 202 with a batch id; an RQ worker scans the batch (`detection.batches`).
`GET /api/v1/events/batches/{id}` shows the batch's status and counts to its submitter and to
leads and admins. Both need the analyst role (`tdp.roles.IsAnalyst`): integration clients use
a token of a user holding it.
"""

import json
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from detection.batches import MAX_EVENTS, submit_batch
from detection.memory import gc_paused
from detection.models import ContentEvent, ScanBatch
from tdp.roles import is_cleared

# 10,000 events of a few KB each; a bigger body is refused before it is read.
MAX_BODY_BYTES = 64 * 1024 * 1024


class JSONLinesParser(BaseParser):
    """One JSON value per line (`application/x-ndjson`, or plain text); blank lines skipped."""

    media_type = "application/x-ndjson"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> list:
        items = []
        for number, line in enumerate(stream.read().decode("utf-8", "replace").splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    raise ParseError(f"line {number} is not JSON: {exc}") from exc
        return items


class TextLinesParser(JSONLinesParser):
    """JSON lines sent as `text/plain`."""

    media_type = "text/plain"


class AuthorSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    handle = serializers.CharField(max_length=200, required=False)


class ContentEventSerializer(serializers.Serializer):
    """A content event as the platform sends it (documentation; `validate_event` checks it)."""

    id = serializers.CharField(max_length=200, help_text="The platform's id (string or integer).")
    kind = serializers.ChoiceField(choices=ContentEvent.Kind.choices)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone.")
    author = AuthorSerializer()
    text = serializers.CharField(required=False)
    urls = serializers.ListField(child=serializers.CharField(), required=False)
    hashtags = serializers.ListField(child=serializers.CharField(), required=False)
    media = serializers.ListField(child=serializers.DictField(), required=False)
    metadata = serializers.DictField(required=False)


class RejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the request (0-based).")
    reason = serializers.CharField()


class BatchAcceptedSerializer(serializers.Serializer):
    """The answer to a post: the batch id, events accepted and rejected, first 20 reasons."""

    batch = serializers.UUIDField(source="pk")
    events = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = RejectionSerializer(many=True)


class ScanBatchSerializer(serializers.ModelSerializer):
    """A batch's status and counts; for users not cleared for TLP:RED, without the matches,
    hits and cases that involve RED intel (pass the request in the context)."""

    def to_representation(self, instance: ScanBatch) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not is_cleared(request.user):
            for name in ("matches", "hits", "cases"):
                data[name] -= getattr(instance, f"restricted_{name}")
        return data

    class Meta:
        model = ScanBatch
        fields = [
            "id",
            "status",
            "received_at",
            "events",
            "rejected",
            "matches",
            "hits",
            "cases",
            "errors",
            "error",
            "started_at",
            "finished_at",
        ]


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()


class EventIntakeAPI(APIView):
    """Queue content events for scanning."""

    # Token first: an anonymous client gets 401 with `WWW-Authenticate: Token`.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    parser_classes = [JSONParser, JSONLinesParser, TextLinesParser]

    @extend_schema(
        summary="Queue content events for scanning",
        description=(
            f"Up to {MAX_EVENTS:,} events as a JSON array, or as JSON lines "
            "(`application/x-ndjson` or `text/plain`, one object per line). Invalid events are "
            "counted in `rejected` (the first 20 with their index and reason); the others are "
            "scanned on a worker: poll the batch for the outcome. Needs the analyst role."
        ),
        request={
            "application/json": ContentEventSerializer(many=True),
            "application/x-ndjson": OpenApiTypes.STR,
            "text/plain": OpenApiTypes.STR,
        },
        responses={
            202: BatchAcceptedSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            413: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Accepted",
                value={
                    "batch": "0b6f6c2e-3c1e-4b7a-9d8e-1f2a3b4c5d6e",
                    "events": 2,
                    "rejected": 1,
                    "errors": [{"index": 1, "reason": "occurred_at has no time zone"}],
                },
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request: Request) -> Response:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            return Response(
                {"error": f"the body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        with gc_paused():  # parsing and validating 10,000 events: see detection.memory
            return self._accept(request)

    def _accept(self, request: Request) -> Response:
        items = request.data
        if not isinstance(items, list):
            return Response(
                {"error": "send a JSON array of events, or JSON lines (one event per line)"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if not items:
            return Response({"error": "no events"}, status=status.HTTP_400_BAD_REQUEST)
        if len(items) > MAX_EVENTS:
            return Response(
                {"error": f"at most {MAX_EVENTS:,} events per request, got {len(items):,}"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        batch = submit_batch(items, actor=request.user)
        return Response(BatchAcceptedSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class ScanBatchDetailAPI(APIView):
    """One batch's status and counts (404 unless you submitted it or are a lead or admin)."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]

    @extend_schema(
        summary="A scan batch's status and counts",
        responses={200: ScanBatchSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, pk: Any) -> Response:
        batch = get_object_or_404(ScanBatch.objects.visible_to(request.user), pk=pk)
        return Response(ScanBatchSerializer(batch, context={"request": request}).data)
