"""Missed-detection pages (analysts): report a miss, the misses per policy, one report.

"Would have caught" lists existing intel matching the event, through
`Indicator.objects.visible_to`: TLP:RED indicators only for cleared users.
"""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from tdp.roles import ANALYST, role_required
from tdp.tables import render_list, wants_partial
from tuning.filters import MissedReportFilter
from tuning.forms import MissedReportForm
from tuning.missed import MissedReportError, misses_per_policy, report_miss, would_catch
from tuning.models import MissedReport
from tuning.tables import MissedReportTable

SUMMARY_DAYS = 30


@require_http_methods(["GET", "POST"])
@role_required(ANALYST)
def missed_create(request: HttpRequest) -> HttpResponse:
    """Report an event that should have hit; ``?policy=`` preselects the policy."""
    initial = {"policy": request.GET.get("policy", "")}
    form = MissedReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            report = report_miss(
                form.cleaned_data["event"],
                policy=form.cleaned_data["policy"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except MissedReportError as exc:
            form.add_error("event", str(exc))
        else:
            messages.success(request, f"Missed {report.get_policy_display()} reported.")
            return redirect(report)
    return render(request, "tuning/missed_form.html", {"form": form})


@require_GET
@role_required(ANALYST)
def missed_list(request: HttpRequest) -> HttpResponse:
    """Misses per policy (last 30 days, with how many existing intel matches) and the list."""
    queryset = MissedReport.objects.select_related("reported_by")
    filterset = MissedReportFilter(request.GET, queryset=queryset)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    return render_list(
        request,
        table=MissedReportTable(rows, viewer=request.user, order_by=request.GET.get("sort")),
        template="tuning/missed_list.html",
        partial_template="tuning/_missed_results.html",
        context={
            "filter": filterset,
            # The summary is outside the partial: htmx updates of the list skip it.
            "policies": []
            if wants_partial(request)
            else misses_per_policy(viewer=request.user, days=SUMMARY_DAYS),
            "summary_days": SUMMARY_DAYS,
        },
    )


@require_GET
@role_required(ANALYST)
def missed_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One missed report: the event, the note, and the intel that would have caught it."""
    report = get_object_or_404(MissedReport.objects.select_related("reported_by"), pk=pk)
    return render(
        request,
        "tuning/missed_detail.html",
        {
            "report": report,
            "event_json": json.dumps(report.event, indent=2, ensure_ascii=False),
            "catches": would_catch(report, viewer=request.user),
        },
    )
