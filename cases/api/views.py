"""The cases API views: list, detail, get next, label a case or a hit."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import triage
from cases.api.paging import CaseAPIFilter, CaseCursorPagination
from cases.api.serializers import (
    ERRORS,
    CaseConflictSerializer,
    CaseDetailSerializer,
    CaseErrorSerializer,
    CaseSerializer,
    LabelInputSerializer,
)
from cases.models import Case
from detection.models import Hit
from tdp.roles import IsAnalyst

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
