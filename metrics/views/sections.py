"""The overview, intel, operations and automation metrics pages. Leads and admins only.

Each page renders its template; an htmx request (the period form) gets only the results
partial the template includes.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metrics import automation, charts, detection, intel, operations
from metrics.forms import PeriodForm
from metrics.periods import Period
from metrics.precision import quality_rows
from metrics.rollups import last_run
from metrics.tables import AnalystTable, FeedFreshnessTable, PlaybookTable, SourceTable
from tdp.roles import LEAD, role_required
from tdp.tables import wants_partial

STATUS_COLORS = {"active": "#1a7f37", "expired": "#5b6470", "revoked": "#b42318"}


def _page(request: HttpRequest, name: str, context: dict) -> HttpResponse:
    template = f"metrics/_{name}.html" if wants_partial(request) else f"metrics/{name}.html"
    return render(request, template, {"run": last_run(), **context})


def _lines(labels: list, series: dict, names: dict[str, str], title: str) -> str:
    return charts.line_chart(
        labels, [charts.Series(names[c], series[c]) for c in names], title=title
    )


@require_GET
@role_required(LEAD)
def overview(request: HttpRequest) -> HttpResponse:
    """Headline numbers of the last 7 days and links to every section."""
    period = Period.recent("7d")
    rules = quality_rows("rule", user=request.user, since=period.since, until=period.until)
    totals = {
        column: sum(getattr(row, column) for row in rules)
        for column in ("hits", "cases", "labelled", "true_positive", "false_positive")
    }
    judged = totals["true_positive"] + totals["false_positive"]
    totals["precision"] = totals["true_positive"] / judged if judged else None
    month = Period.recent("30d")
    labels, series = detection.volume("rule", None, month)
    queue_labels, queue = operations.queue_series(month)
    return _page(
        request,
        "overview",
        {
            "period": period,
            "totals": totals,
            "sla": operations.sla_rates(period),
            "saved": automation.time_saved(period),
            "volume_chart": _lines(labels, series, detection.SERIES_NAMES, "Hits, last 30 days"),
            "queue_chart": _lines(
                queue_labels,
                queue,
                {"open_at_end": "Open", "past_sla_at_end": "Past SLA"},
                "Queue at the end of each day, last 30 days",
            ),
        },
    )


@require_GET
@role_required(LEAD)
def intel_metrics(request: HttpRequest) -> HttpResponse:
    """Indicators by type, status and source over time, feed freshness, unique contribution,
    hit yield and the overlap between feeds."""
    form = PeriodForm(request.GET)
    period = form.period()
    created_labels, created = intel.created_series(period)
    status_labels, statuses = intel.status_series(period)
    reported_labels, reported = intel.reported_series(period)
    return _page(
        request,
        "intel",
        {
            "form": form,
            "period": period,
            "type_chart": charts.bar_chart(intel.by_type(), title="Active indicators by type"),
            "created_chart": _lines(
                created_labels, created, {"created": "New indicators"}, "New indicators"
            ),
            "status_chart": charts.line_chart(
                status_labels,
                [
                    charts.Series(s.capitalize(), statuses[s], STATUS_COLORS.get(s, ""))
                    for s in intel.STATUSES
                ],
                title="Indicators by status (daily snapshots)",
            ),
            "reported_chart": _lines(
                reported_labels,
                reported,
                {name: name for name in reported},
                "First reports by source (top 5)",
            ),
            "sources": SourceTable(intel.source_rows(period)),
            "freshness": FeedFreshnessTable(intel.feed_freshness(period)),
            "overlap": intel.overlap_matrix(),
        },
    )


@require_GET
@role_required(LEAD)
def operations_metrics(request: HttpRequest) -> HttpResponse:
    """Queue depth and age over time, response times, SLA breaches, analysts and QA."""
    form = PeriodForm(request.GET)
    period = form.period()
    run = last_run()
    queue_labels, queue = operations.queue_series(period)
    flow_labels, flows = operations.flow_series(period)
    analysts = operations.analyst_rows(period)
    return _page(
        request,
        "operations",
        {
            "form": form,
            "period": period,
            "now": (run.queue if run else {}) or {},
            "times": operations.response_times(period),
            "sla": operations.sla_rates(period),
            "depth_chart": _lines(
                queue_labels,
                queue,
                {"open_at_end": "Open", "past_sla_at_end": "Past SLA"},
                "Queue at the end of each day",
            ),
            "age_chart": _lines(
                queue_labels,
                queue,
                {"open_age_hours_at_end": "Mean age of open cases (hours)"},
                "Age of the queue",
            ),
            "flow_chart": _lines(
                flow_labels,
                flows,
                {"opened": "Opened", "resolved": "Resolved", "auto_resolved": "Auto-resolved"},
                "Cases opened and resolved",
            ),
            "analysts": AnalystTable(analysts),
            "qa": operations.qa_totals(analysts),
        },
    )


@require_GET
@role_required(LEAD)
def automation_metrics(request: HttpRequest) -> HttpResponse:
    """Playbook runs and actions by outcome, failures, auto-resolved cases and time saved."""
    form = PeriodForm(request.GET)
    period = form.period()
    labels, runs = automation.run_series(period)
    return _page(
        request,
        "automation",
        {
            "form": form,
            "period": period,
            "runs_chart": _lines(
                labels,
                runs,
                {"success": "Success", "failed": "Failed", "skipped": "Skipped"},
                "Playbook runs by outcome",
            ),
            "playbooks": PlaybookTable(automation.playbook_rows(period)),
            "actions": automation.action_rows(period),
            "failures": automation.failure_count(period),
            "saved": automation.time_saved(period),
        },
    )
