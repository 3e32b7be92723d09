"""Suggestion pages (leads): the list with apply and dismiss buttons, and "refresh now".

Suggestions about TLP:RED indicators are only listed for, and only applicable by, cleared
leads (`TuningSuggestion.objects.visible_to`): for others they are a 404.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tdp.roles import LEAD, role_required
from tdp.tables import render_list, wants_partial
from tuning.filters import TuningSuggestionFilter
from tuning.forms import SuggestionApplyForm, SuggestionDismissForm
from tuning.models import TuningSuggestion
from tuning.suggestions import (
    TuningError,
    apply_suggestion,
    dismiss_suggestion,
    refresh_suggestions,
)
from tuning.tables import TuningSuggestionTable


@require_GET
@role_required(LEAD)
def suggestion_list(request: HttpRequest) -> HttpResponse:
    """Suggestions, open ones by default; htmx gets only the results partial."""
    params = request.GET.copy()
    params.setdefault("status", TuningSuggestion.Status.OPEN)
    queryset = TuningSuggestion.objects.visible_to(request.user).select_related("decided_by")
    filterset = TuningSuggestionFilter(params, queryset=queryset)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    return render_list(
        request,
        table=TuningSuggestionTable(rows, order_by=request.GET.get("sort")),
        template="tuning/suggestion_list.html",
        partial_template="tuning/_suggestion_results.html",
        context={"filter": filterset},
    )


def _back(request: HttpRequest) -> HttpResponse:
    url = reverse("tuning:suggestion_list")
    if wants_partial(request):
        return HttpResponse(status=204, headers={"HX-Location": url})
    return redirect(url)


@require_POST
@role_required(LEAD)
def suggestion_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Carry out a suggestion (its action, or another allowed one), audited."""
    suggestion = get_object_or_404(TuningSuggestion.objects.visible_to(request.user), pk=pk)
    form = SuggestionApplyForm(request.POST, suggestion=suggestion)
    if not form.is_valid():
        messages.error(request, "Choose an action this target allows.")
        return _back(request)
    try:
        apply_suggestion(
            suggestion,
            actor=request.user,
            action=form.cleaned_data["action"],
            note=form.cleaned_data["note"],
        )
    except (TuningError, ValueError) as exc:
        messages.error(request, f"Not applied: {exc}")
    else:
        messages.success(request, f"Applied to {suggestion.target_repr}.")
    return _back(request)


@require_POST
@role_required(LEAD)
def suggestion_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Decide not to act on a suggestion, audited."""
    suggestion = get_object_or_404(TuningSuggestion.objects.visible_to(request.user), pk=pk)
    form = SuggestionDismissForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        dismiss_suggestion(suggestion, actor=request.user, note=note)
    except TuningError as exc:
        messages.error(request, f"Not dismissed: {exc}")
    else:
        messages.success(request, f"Dismissed the suggestion for {suggestion.target_repr}.")
    return _back(request)


@require_POST
@role_required(LEAD)
def suggestion_refresh(request: HttpRequest) -> HttpResponse:
    """Recompute the suggestions now instead of waiting for the 15-minute job."""
    result = refresh_suggestions()
    messages.success(
        request,
        f"Suggestions refreshed: {result.created} new, {result.updated} updated, "
        f"{result.withdrawn} withdrawn.",
    )
    return _back(request)
