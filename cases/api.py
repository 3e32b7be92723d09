"""Triage REST API: the case queue, one case with its hits, "get next", and labels.

`GET /api/v1/cases` takes the queue page's filters (`cases.filters.CaseFilter`: `status`
defaults to open cases, `policy`, `assignee` `me`, `none` or a username, `sla`, `age`; here
`priority` may also be P1-P4 and `rule` a rule's exact name) and pages in queue order with an
opaque cursor (`next`/`previous` links).
`GET /api/v1/cases/{id}` shows a case with its hits and their labels. `POST /api/v1/cases/next`
claims the most urgent unassigned case (204 when there is none). `POST /api/v1/cases/{id}/label`
resolves a case and `POST /api/v1/hits/{id}/label` labels one hit; both carry the case
`version` the caller saw, and a stale one is refused with 409 and the case as it is now.

Everything goes through `Case.objects.visible_to` (TLP:RED cases are for cleared users only:
others get 404) and the `cases.triage` service functions; all endpoints need the analyst role.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import triage
from cases.filters import CaseFilter
from cases.models import Case, Disposition, HitLabel, Priority
from cases.queue import after
from detection.models import Hit, Rule
from tdp.roles import IsAnalyst

QUEUE_ORDER = ("priority", "sla_due_at", "id")
PRIORITY_LABELS = [label for _, label in Priority.choices]


# --- Filters ----------------------------------------------------------------------------------


class PriorityField(forms.CharField):
    """A priority written as 1-4 or P1-P4 (any case), cleaned to its number."""

    def to_python(self, value: Any) -> int | None:
        text = (super().to_python(value) or "").strip().upper().removeprefix("P")
        if not text:
            return None
        if text not in {"1", "2", "3", "4"}:
            raise forms.ValidationError("Priority is 1-4 or P1-P4.", code="invalid")
        return int(text)


@extend_schema_field({"type": "string", "pattern": "^[Pp]?[1-4]$", "example": "P1"})
class PriorityFilter(django_filters.Filter):
    """Cases of one priority, given as 1-4 or P1-P4."""

    field_class = PriorityField


class CaseAPIFilter(CaseFilter):
    """The queue's filters, with the forms scripts write: `priority=P1`, `rule=<name>`."""

    priority = PriorityFilter(field_name="priority")
    rule = django_filters.CharFilter(method="filter_rule", label="Rule (id or exact name)")

    def filter_rule(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """A rule id or a rule's exact name."""
        value = value.strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(Q(rule_id=int(value)) | Q(rule__name=value))
        return queryset.filter(rule__name=value)


# --- Paging -----------------------------------------------------------------------------------


class CaseCursorPagination(CursorPagination):
    """Pages in queue order (priority, SLA due time, id) with `next`/`previous` cursor links.

    DRF's cursor keeps only the first ordering field as its position and counts ties with an
    offset capped at 1,000, which breaks on a queue holding thousands of cases of one priority.
    Here the position is the whole, unique (priority, sla_due_at, id) key: a page starts
    exactly after the last case of the one before, even when cases are claimed in between.
    """

    page_size = 50
    max_page_size = 500
    page_size_query_param = "limit"
    ordering = QUEUE_ORDER

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Case] | None:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        reverse = bool(self.cursor and self.cursor.reverse)
        position = self.cursor.position if self.cursor else None
        queryset = queryset.order_by(*(f"-{f}" if reverse else f for f in QUEUE_ORDER))
        if position is not None:
            queryset = queryset.filter(after(QUEUE_ORDER, reverse, self._key(position)))
        found = list(queryset[: self.page_size + 1])
        more = len(found) > self.page_size
        self.page = found[: self.page_size]
        if reverse:
            self.page.reverse()
        self.has_next = position is not None if reverse else more
        self.has_previous = more if reverse else position is not None
        self.display_page_controls = self.has_next or self.has_previous
        return self.page

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        position = self._position(self.page[-1]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=position))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        position = self._position(self.page[0]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=position))

    @staticmethod
    def _position(case: Case) -> str:
        return f"{case.priority}|{case.sla_due_at.isoformat()}|{case.pk}"

    def _key(self, position: str) -> list[Any]:
        """The (priority, sla_due_at, id) in a cursor; 404 for a cursor that is not ours."""
        try:
            priority, due, pk = position.split("|")
            key = [int(priority), datetime.fromisoformat(due), int(pk)]
            if key[1].tzinfo is None:
                raise ValueError("a naive time")
            return key
        except ValueError as exc:
            raise exceptions.NotFound(self.invalid_cursor_message) from exc


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


# --- Helpers ----------------------------------------------------------------------------------


class TriageRefused(exceptions.APIException):
    """A 400 for a label the triage rules refuse (`triage.TriageError`)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request cannot be carried out."
    default_code = "invalid"


def cases_for(user: Any) -> QuerySet:
    """The cases ``user`` may see, with what a listed case shows."""
    return Case.objects.visible_to(user).select_related("rule", "assignee")


def case_data(request: Request, case_id: int) -> dict[str, Any]:
    """The case as `CaseDetailSerializer` shows it, read fresh (404 when not visible)."""
    hits = Hit.objects.select_related("rule", "indicator", "label__labelled_by").order_by(
        "occurred_at", "id"
    )
    case = (
        cases_for(request.user)
        .prefetch_related(Prefetch("hits", queryset=hits))
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise exceptions.NotFound(f"No case {case_id}.")
    return CaseDetailSerializer(case, context={"request": request}).data


def run_triage(request: Request, action: Callable[[], int]) -> Response:
    """Run a triage change returning the case id; answer with the case or the refusal.

    409 carries the case as it is now; service refusals map to 400, 403 and 404.
    """
    try:
        case_id = action()
    except triage.Conflict as exc:
        message = str(exc)
        body = {"error": message, "detail": message, **case_data(request, exc.case.pk)}
        return Response(body, status=status.HTTP_409_CONFLICT)
    except triage.TriageError as exc:
        raise TriageRefused(str(exc)) from exc
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc) or None) from exc
    except (Case.DoesNotExist, Hit.DoesNotExist) as exc:
        raise exceptions.NotFound() from exc
    return Response(case_data(request, case_id))


def label_input(request: Request) -> dict[str, Any]:
    """The validated label body (400 with the errors per field)."""
    payload = LabelInputSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data


LABEL_RESPONSES = {200: CaseDetailSerializer, **ERRORS, 409: CaseConflictSerializer}
LABEL_EXAMPLE = OpenApiExample(
    "False positive",
    value={"disposition": "false_positive", "reason": "benign_site", "note": "", "version": 3},
    request_only=True,
)


# --- Views ------------------------------------------------------------------------------------


class CaseListAPI(generics.ListAPIView):
    """The queue: cases you may see, most urgent first, filtered like the queue page."""

    permission_classes = [IsAnalyst]
    serializer_class = CaseSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseAPIFilter
    pagination_class = CaseCursorPagination

    def get_queryset(self) -> QuerySet:
        return cases_for(self.request.user)

    @extend_schema(
        summary="List cases in queue order",
        description=(
            "Open cases unless `status` says otherwise (`open`, `new`, `in_review`, `escalated`, "
            "`resolved` or `all`), ordered by priority, SLA due time and id. `assignee` is `me`, "
            "`none`, `any` or a username; `rule` a rule id or exact name; `priority` 1-4 or "
            "P1-P4. Follow `next`/`previous` to page; `limit` sets the page size (at most 500). "
            "Cases involving TLP:RED intel are listed for cleared users only."
        ),
        responses={200: CaseSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CaseDetailAPI(APIView):
    """One case with its hits (404 when it does not exist or is not visible to you)."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        summary="A case with its hits and labels",
        responses={200: CaseDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(case_data(request, pk))


class CaseNextAPI(APIView):
    """Claim the most urgent unassigned case."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        summary="Claim the next case",
        description=(
            "Assigns the most urgent new, unassigned case you may see to you (status "
            "`in_review`) and returns it; 204 with no body when the queue is empty."
        ),
        request=None,
        responses={
            200: CaseDetailSerializer,
            204: None,
            401: CaseErrorSerializer,
            403: CaseErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        case = triage.claim_next(request.user)
        if case is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(case_data(request, case.pk))


class CaseLabelAPI(APIView):
    """Resolve a case with a disposition; its unlabelled hits get the same label."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        summary="Label (resolve) a case",
        description=(
            "Resolves the case and gives its unlabelled hits the same label (hits labelled one "
            "by one keep theirs). A false positive needs a `reason` code; codes such as `other` "
            "need a `note`. `version` is the case version you saw: 409 with the case as it is "
            "now when it changed since. Analysts may label unassigned cases and their own; "
            "leads any case (403 otherwise). Returns the updated case."
        ),
        request=LabelInputSerializer,
        responses=LABEL_RESPONSES,
        examples=[LABEL_EXAMPLE],
    )
    def post(self, request: Request, pk: int) -> Response:
        if not Case.objects.visible_to(request.user).filter(pk=pk).exists():
            raise exceptions.NotFound(f"No case {pk}.")
        data = label_input(request)

        def label() -> int:
            return triage.label_case(pk, user=request.user, **data).pk

        return run_triage(request, label)


class HitLabelAPI(APIView):
    """Label one hit of a case (a case can mix true and false hits)."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        summary="Label one hit",
        description=(
            "Labels one hit, replacing its earlier label; the case's status stays as it is. The "
            "body is the same as for a case, `version` being the version of the hit's case. "
            "Returns the hit's case (its hits with their labels, and the new `version`). "
            "400 for a hit in no case; 404 for an unknown hit or one whose case you may not "
            "see; 403 and 409 as for a case label."
        ),
        request=LabelInputSerializer,
        responses=LABEL_RESPONSES,
        examples=[LABEL_EXAMPLE],
    )
    def post(self, request: Request, pk: int) -> Response:
        visible = Q(case__isnull=True) | Q(case__in=Case.objects.visible_to(request.user))
        if not Hit.objects.filter(visible, pk=pk).exists():
            raise exceptions.NotFound(f"No hit {pk}.")
        data = label_input(request)

        def label() -> int:
            return triage.label_hit(pk, user=request.user, **data).case_id

        return run_triage(request, label)
