"""The queue page: filter, sort, keyset pages, count badge, "get next", bulk actions, saved views.

One template renders the page; htmx requests (filters, sort links, pages, the periodic refresh)
get only the results partial.
"""

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cases.bulk import bulk_action
from cases.filters import CaseFilter
from cases.forms import BulkForm, SavedViewForm
from cases.models import Case, SavedView
from cases.queue import capped_count, keyset_page
from cases.tables import queue_table
from cases.triage import TriageError, claim_next
from tdp.audit import record
from tdp.roles import ANALYST, role_required
from tdp.tables import per_page, wants_partial


def queue_rows(request: HttpRequest) -> tuple[CaseFilter, object]:
    """The filter and the cases it selects among those the user may see (none when invalid)."""
    queryset = Case.objects.visible_to(request.user).select_related("rule", "assignee")
    filterset = CaseFilter(request.GET, queryset=queryset, request=request)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    return filterset, rows


@require_GET
@role_required(ANALYST)
def queue(request: HttpRequest) -> HttpResponse:
    """The case queue; htmx requests get only the results (count, bulk form, table)."""
    filterset, rows = queue_rows(request)
    page = keyset_page(
        rows, request.GET.get("sort"), request.GET.get("after", ""), size=per_page(request)
    )
    count, more = capped_count(rows)
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "filter": filterset,
        "table": queue_table(page),
        "count": count,
        "count_more": more,
        "query": query.urlencode(),
        "bulk_form": BulkForm(),
        "saved_views": SavedView.objects.filter(user=request.user),
    }
    template = "cases/_queue_results.html" if wants_partial(request) else "cases/queue.html"
    return render(request, template, context)


@require_POST
@role_required(ANALYST)
def get_next(request: HttpRequest) -> HttpResponse:
    """Claim the most urgent unassigned case and open it."""
    case = claim_next(request.user)
    if case is None:
        messages.info(request, "No unassigned cases are waiting. Well done.")
        return redirect("cases:queue")
    return redirect(case)


@require_POST
@role_required(ANALYST)
def bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected cases, after a confirmation stating how many change."""
    form = BulkForm(request.POST)
    back = reverse("cases:queue") + "?" + request.POST.get("query", "")
    if not form.is_valid():
        messages.error(request, "Select at least one case and an action.")
        return redirect(back)
    data = form.cleaned_data
    ids = data["case"]
    if not data["confirmed"]:
        visible = Case.objects.visible_to(request.user).filter(pk__in=ids)
        return render(
            request,
            "cases/bulk_confirm.html",
            {
                "form": form,
                "ids": ids,
                "count": visible.count(),
                "open_count": visible.open().count(),
                "data": data,
                "query": request.POST.get("query", ""),
            },
        )
    try:
        result = bulk_action(
            ids,
            user=request.user,
            action=data["action"],
            assignee=data["assignee"],
            reason=data["reason"],
            note=data["note"],
        )
    except TriageError as exc:
        messages.error(request, f"Nothing changed: {exc}.")
        return redirect(back)
    messages.success(request, f"{len(result.changed)} case(s) changed.")
    if result.skipped:
        detail = "; ".join(f"case {pk}: {why}" for pk, why in result.skipped[:10])
        messages.warning(request, f"{len(result.skipped)} case(s) skipped ({detail}).")
    return redirect(back)


@require_POST
@role_required(ANALYST)
def saved_view_create(request: HttpRequest) -> HttpResponse:
    """Save the current queue filters under a name (replacing a view of the same name)."""
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A saved view needs a name.")
        return redirect("cases:queue")
    query = QueryDict(form.cleaned_data["query"]).copy()
    query.pop("after", None)
    try:
        view, _ = SavedView.objects.update_or_create(
            user=request.user, name=form.cleaned_data["name"], defaults={"query": query.urlencode()}
        )
    except IntegrityError:
        messages.error(request, "That view could not be saved.")
        return redirect("cases:queue")
    record("saved_view.saved", view, actor=request.user, changes={"query": [None, view.query]})
    messages.success(request, f"Saved view “{view.name}”.")
    return redirect(view.get_absolute_url())


@require_POST
@role_required(ANALYST)
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of the user's saved views."""
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    record("saved_view.deleted", view, actor=request.user)
    view.delete()
    messages.success(request, f"Deleted view “{view.name}”.")
    return redirect("cases:queue")
