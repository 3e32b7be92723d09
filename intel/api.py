"""Intel REST API: list/search indicators (same filters and TLP rules as the page), add them.

`GET /api/v1/indicators` takes the IndicatorFilter parameters (`q`, `type`, `status`, `source`,
`tlp`, `tag`, `confidence_min`, …) and pages with an opaque cursor; `POST` adds one indicator or
a list through the one ingestion path; `GET /api/v1/indicators/{id}` shows one with its sources.
"""

from typing import Any

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from intel.filters import IndicatorFilter
from intel.imports import get_or_create_source
from intel.ingest import IngestSpec, ingest, manual_source
from intel.models import TLP, Indicator, IndicatorSource, IndicatorType, Severity, Source
from intel.normalize import MAX_LENGTH
from intel.parsers import ParsedRow


class ProvenanceSerializer(serializers.ModelSerializer):
    """One source's report of an indicator."""

    source = serializers.CharField(source="source.name")

    class Meta:
        model = IndicatorSource
        fields = ["source", "confidence", "reference", "first_seen_at", "last_seen_at"]


class IndicatorSerializer(serializers.ModelSerializer):
    """An indicator as the API shows it; `sources` names the sources that reported it."""

    sources = serializers.SerializerMethodField()

    class Meta:
        model = Indicator
        fields = [
            "id",
            "type",
            "value",
            "status",
            "confidence",
            "severity",
            "tlp",
            "tags",
            "description",
            "sources",
            "first_seen_at",
            "last_seen_at",
            "expires_at",
        ]

    def get_sources(self, obj: Indicator) -> list[str]:
        return sorted(p.source.name for p in obj.provenance.all())


class IndicatorDetailSerializer(IndicatorSerializer):
    """An indicator with its full provenance."""

    provenance = ProvenanceSerializer(many=True, read_only=True)

    class Meta(IndicatorSerializer.Meta):
        fields = [*IndicatorSerializer.Meta.fields, "provenance"]


class IndicatorInputSerializer(serializers.Serializer):
    """One indicator to add; `type` is detected when omitted."""

    value = serializers.CharField(max_length=MAX_LENGTH)
    type = serializers.ChoiceField(choices=IndicatorType.choices, required=False)
    source = serializers.CharField(max_length=200, required=False)
    confidence = serializers.IntegerField(min_value=0, max_value=100, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), default=list)
    ttl_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)


class IndicatorCursorPagination(CursorPagination):
    """Stable, fast paging deep into millions of rows."""

    page_size = 100
    max_page_size = 1000
    page_size_query_param = "limit"
    ordering = "-id"


class IndicatorListAPI(generics.ListCreateAPIView):
    """List/search indicators, or add some (a single object or a list of up to 10,000)."""

    serializer_class = IndicatorSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = IndicatorFilter
    pagination_class = IndicatorCursorPagination

    def get_queryset(self) -> Any:
        return Indicator.objects.visible_to(self.request.user).prefetch_related(
            "provenance__source"
        )

    @extend_schema(request=IndicatorInputSerializer(many=True), responses={201: dict})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        many = isinstance(request.data, list)
        if many and len(request.data) > 10_000:
            return Response(
                {"error": "at most 10,000 indicators per request"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        payload = IndicatorInputSerializer(data=request.data, many=many)
        payload.is_valid(raise_exception=True)
        items = payload.validated_data if many else [payload.validated_data]
        results = []
        for group in _batches(items):
            source_name = group[0].get("source")
            source = (
                get_or_create_source(source_name, Source.Kind.API)
                if source_name
                else manual_source()
            )
            first = group[0]
            spec = IngestSpec(
                source=source,
                confidence=first.get("confidence"),
                severity=first["severity"],
                tlp=first.get("tlp"),
                tags=first["tags"],
                ttl_days=first.get("ttl_days"),
            )
            rows = [
                ParsedRow(line=index, value=item["value"], type=item.get("type"), reference="api")
                for index, item in enumerate(group, 1)
            ]
            result = ingest(rows, spec, actor=request.user, collect_ids=not many)
            results.append(result)
        summary: dict[str, Any] = {
            key: sum(getattr(r, key) for r in results)
            for key in ("received", "created", "updated", "unchanged", "rejected")
        }
        summary["errors"] = [e for r in results for e in r.errors][:20]
        if not many:
            result = results[0]
            if result.rejected:
                return Response(
                    {"error": result.errors[0]["reason"], **summary},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            # TLP:RED intel stays hidden from users who are not cleared, even when they report it.
            indicator = (
                Indicator.objects.visible_to(request.user)
                .filter(pk=result.indicator_ids[0])
                .first()
            )
            summary["indicator"] = IndicatorSerializer(indicator).data if indicator else None
        return Response(summary, status=status.HTTP_201_CREATED)


def _batches(items: list[dict]) -> list[list[dict]]:
    """Group items that share a source and defaults, so each group is one ingestion batch."""
    groups: dict[tuple, list[dict]] = {}
    for item in items:
        key = (
            *(item.get(k) for k in ("source", "confidence", "severity", "tlp", "ttl_days")),
            tuple(item["tags"]),
        )
        groups.setdefault(key, []).append(item)
    return list(groups.values())


class IndicatorDetailAPI(generics.RetrieveAPIView):
    """One indicator with its provenance (404 when it is TLP:RED and you are not cleared)."""

    serializer_class = IndicatorDetailSerializer

    def get_object(self) -> Indicator:
        queryset = Indicator.objects.visible_to(self.request.user).prefetch_related(
            "provenance__source"
        )
        return get_object_or_404(queryset, pk=self.kwargs["pk"])
