"""Weekly report pages: the list, one report shown in the browser, its download, and making
last week's report now. Leads and admins only.

A stored report is our own HTML, but it is served as a document of its own under a sandboxing
CSP (no script; its embedded stylesheet allowed), never inserted into a page.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from metrics import reports
from metrics.models import WeeklyReport
from metrics.rollups import last_run
from metrics.tables import WeeklyReportTable
from tdp.roles import LEAD, role_required
from tdp.tables import render_list

REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@require_GET
@role_required(LEAD)
def report_list(request: HttpRequest) -> HttpResponse:
    """Weekly reports, newest first."""
    return render_list(
        request,
        table=WeeklyReportTable(WeeklyReport.objects.all()),
        template="metrics/report_list.html",
        partial_template="metrics/_report_results.html",
        context={"run": last_run()},
    )


def _report_response(report: WeeklyReport, disposition: str) -> HttpResponse:
    response = HttpResponse(report.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = REPORT_CSP
    response["Content-Disposition"] = f'{disposition}; filename="{report.filename}"'
    return response


@require_GET
@role_required(LEAD)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One report, as it was emailed."""
    return _report_response(get_object_or_404(WeeklyReport, pk=pk), "inline")


@require_GET
@role_required(LEAD)
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    """One report as an HTML file."""
    return _report_response(get_object_or_404(WeeklyReport, pk=pk), "attachment")


@require_POST
@role_required(LEAD)
def report_make(request: HttpRequest) -> HttpResponse:
    """Make (or remake) last week's report now, without emailing it."""
    report = reports.make_report(reports.last_complete_week(), actor=request.user, email=False)
    messages.success(request, f"Report for the week of {report.week_start:%Y-%m-%d} made.")
    return redirect("metrics:report_list")
