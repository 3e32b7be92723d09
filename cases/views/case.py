"""One case: evidence, indicators, the author's other cases, labels, comments and history.

Every change posts the case `version` the analyst saw. A change refused because the case moved
on re-renders the page with status 409, the newer state and a message saying nothing was saved.
After labelling, the next case is claimed and opened (unless the analyst asked to go back).
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from automation.enrichment import enrichment_summary
from automation.models import PlaybookRun
from cases import triage
from cases.evidence import case_evidence
from cases.forms import AssignForm, CommentForm, LabelForm, PriorityForm, VersionForm
from cases.models import Case, Disposition, ReasonCode, ReviewerPreference
from detection.models import Hit
from intel.models import IndicatorSource
from tdp.audit import diff, entries_for, record, snapshot
from tdp.roles import ANALYST, LEAD, role_required

MAX_HITS = 500
OTHER_CASES = 20
MAX_ENRICHED = 20  # indicators whose enrichment the case page shows


def _case_for(request: HttpRequest, pk: int) -> Case:
    return get_object_or_404(
        Case.objects.visible_to(request.user).select_related("rule", "assignee", "resolved_by"),
        pk=pk,
    )


def case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    """Everything the case page shows."""
    hits = list(
        case.hits.select_related("indicator", "label", "label__labelled_by").order_by(
            "-occurred_at", "-id"
        )[:MAX_HITS]
    )
    indicators = {hit.indicator_id: hit.indicator for hit in hits}
    provenance: dict[int, list[IndicatorSource]] = {}
    for row in IndicatorSource.objects.filter(indicator_id__in=indicators).select_related("source"):
        provenance.setdefault(row.indicator_id, []).append(row)
    matched = [
        {
            "indicator": indicator,
            "sources": provenance.get(pk, []),
            "hits": sum(h.indicator_id == pk for h in hits),
        }
        for pk, indicator in indicators.items()
    ]
    others = (
        Case.objects.visible_to(request.user)
        .filter(author_id=case.author_id)
        .exclude(pk=case.pk)
        .select_related("rule")
        .order_by("-created_at")[:OTHER_CASES]
        if case.author_id
        else []
    )
    preference = ReviewerPreference.objects.filter(user=request.user).first()
    enrichments = [
        {"indicator": indicator, **row}
        for indicator in list(indicators.values())[:MAX_ENRICHED]
        for row in enrichment_summary(indicator)
    ]
    playbook_runs = PlaybookRun.objects.filter(
        object_type="case", object_id=case.pk
    ).select_related("playbook")[:50]
    return {
        "case": case,
        "hits": hits,
        "more_hits": case.hit_count > len(hits),
        "evidence": case_evidence(hits),
        "matched": matched,
        "others": others,
        "comments": case.comments.select_related("author"),
        "history": entries_for(case)[:100],
        "reasons": ReasonCode.objects.filter(is_active=True),
        "dispositions": Disposition.choices,
        "can_change": triage.can_change(request.user, case),
        "reveal": bool(preference and preference.reveal_by_default),
        "assign_form": AssignForm(initial={"assignee": case.assignee_id, "version": case.version}),
        "priority_form": PriorityForm(initial={"priority": case.priority, "version": case.version}),
        "comment_form": CommentForm(),
        "enrichments": enrichments,
        "playbook_runs": playbook_runs,
        "reenrich_url": reverse("automation:reenrich_case", args=[case.pk]),
    }


@require_GET
@role_required(ANALYST)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page."""
    case = _case_for(request, pk)
    return render(request, "cases/case_detail.html", case_context(request, case))


def _conflict(request: HttpRequest, exc: triage.Conflict) -> HttpResponse:
    context = case_context(request, _case_for(request, exc.case.pk))
    context["conflict"] = str(exc)
    return render(request, "cases/case_detail.html", context, status=409)


def _run(
    request: HttpRequest, pk: int, form_class: type, action: Callable[[dict[str, Any]], Any]
) -> tuple[Any, HttpResponse | None]:
    """Validate the posted form and run one triage action on its data.

    Returns (the action's result, None), or (None, the answer): back to the case with the
    reason, or the conflict page (409) when the case changed since the analyst loaded it.
    """
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not saved: {form.errors.as_text()}")
        return None, redirect("cases:case_detail", pk=pk)
    try:
        return action(form.cleaned_data), None
    except triage.Conflict as exc:
        return None, _conflict(request, exc)
    except Case.DoesNotExist as exc:
        raise Http404("No such case.") from exc
    except triage.TriageError as exc:
        messages.error(request, f"Not saved: {exc}.")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return None, redirect("cases:case_detail", pk=pk)


def _act(
    request: HttpRequest,
    pk: int,
    form_class: type,
    action: Callable[[dict[str, Any]], Any],
    done: str,
) -> HttpResponse:
    """Run one triage action from a posted form and go back to the case."""
    _, answer = _run(request, pk, form_class, action)
    if answer is not None:
        return answer
    messages.success(request, done)
    return redirect("cases:case_detail", pk=pk)


@require_POST
@role_required(ANALYST)
def case_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """Take this case."""
    return _act(
        request,
        pk,
        VersionForm,
        lambda data: triage.claim(pk, user=request.user, version=data["version"]),
        "Case claimed.",
    )


@require_POST
@role_required(ANALYST)
def case_label(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve the case with a label, then open the next case (or go back to the queue)."""
    case, answer = _run(
        request, pk, LabelForm, lambda data: triage.label_case(pk, user=request.user, **data)
    )
    if answer is not None:
        return answer
    messages.success(
        request, f"Case {case.pk} resolved as {case.get_disposition_display().lower()}."
    )
    if request.POST.get("then") == "stay":
        return redirect(case)
    following = triage.claim_next(request.user)
    if following is None:
        messages.info(request, "No more unassigned cases.")
        return redirect("cases:queue")
    return redirect(following)


@require_POST
@role_required(ANALYST)
def hit_label(request: HttpRequest, pk: int, hit_pk: int) -> HttpResponse:
    """Label one hit of the case."""
    if not Hit.objects.filter(pk=hit_pk, case_id=pk).exists():
        raise Http404("No such hit in this case.")
    return _act(
        request,
        pk,
        LabelForm,
        lambda data: triage.label_hit(hit_pk, user=request.user, **data),
        "Hit labelled.",
    )


@require_POST
@role_required(ANALYST)
def case_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the case to the leads."""
    return _act(
        request,
        pk,
        VersionForm,
        lambda data: triage.escalate(
            pk, user=request.user, note=data["note"], version=data["version"]
        ),
        "Case escalated to the leads.",
    )


@require_POST
@role_required(ANALYST)
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the case to someone (or back to the queue)."""
    return _act(
        request,
        pk,
        AssignForm,
        lambda data: triage.assign(
            pk, user=request.user, assignee=data["assignee"], version=data["version"]
        ),
        "Assignment saved.",
    )


@require_POST
@role_required(LEAD)
def case_priority(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the case's priority (leads)."""
    return _act(
        request,
        pk,
        PriorityForm,
        lambda data: triage.set_priority(
            pk, user=request.user, priority=data["priority"], version=data["version"]
        ),
        "Priority saved.",
    )


@require_POST
@role_required(ANALYST)
def case_comment(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a comment."""
    return _act(
        request,
        pk,
        CommentForm,
        lambda data: triage.add_comment(pk, user=request.user, body=data["body"]),
        "Comment added.",
    )


@require_POST
@role_required(ANALYST)
def reveal_preference(request: HttpRequest) -> HttpResponse:
    """Set whether evidence is revealed by default for this user (blurred is the default)."""
    reveal = request.POST.get("reveal_by_default") == "on"
    preference, _ = ReviewerPreference.objects.get_or_create(user=request.user)
    before = snapshot(preference, ["reveal_by_default"])
    preference.reveal_by_default = reveal
    preference.save()
    record(
        "preference.saved",
        preference,
        actor=request.user,
        changes=diff(before, snapshot(preference, ["reveal_by_default"])),
    )
    messages.success(
        request, "Evidence is now " + ("shown" if reveal else "blurred") + " by default."
    )
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/cases/") else "cases:queue")
