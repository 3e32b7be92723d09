"""Detection quality pages: the table per rule, policy, feed or indicator with its volume
chart, and its CSV/JSON export. Leads and admins only."""

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from metrics import charts, detection, export
from metrics.forms import BY_LABELS, DetectionForm
from metrics.models import RollupRun
from metrics.rollups import last_run
from metrics.tables import IndicatorWindowTable, QualityTable
from tdp.roles import LEAD, role_required
from tdp.tables import render_list


def _chart(by: str, target: object, period: object, name: str) -> str:
    labels, series = detection.volume(by, target, period)
    return charts.line_chart(
        labels,
        [charts.Series(detection.SERIES_NAMES[c], series[c]) for c in detection.SERIES_COLUMNS],
        title=f"Hits and labels: {name}",
    )


@require_GET
@role_required(LEAD)
def detection_quality(request: HttpRequest) -> HttpResponse:
    """Hits, cases, labels, precision and FP rate per key over a period, and a volume chart."""
    form = DetectionForm(request.GET)
    period, by = form.period(), form.grouping()
    query = urlencode({"by": by, "range": period.range, "bucket": period.bucket})
    if by == "indicator":
        table = IndicatorWindowTable(
            detection.indicator_windows(period, request.user), chart_query=query
        )
    else:
        rows = detection.table_rows(by, period, request.user)
        table = QualityTable(rows, chart_query=query)
    found = detection.chart_key(by, form.chart_key(), request.user)
    target, name = found if found else (None, "every hit")
    run: RollupRun | None = last_run()
    return render_list(
        request,
        table=table,
        template="metrics/detection.html",
        partial_template="metrics/_detection.html",
        context={
            "form": form,
            "by": by,
            "by_label": BY_LABELS[by],
            "period": period,
            "chart": _chart(by, target, period, name),
            "chart_name": name,
            "export_query": query,
            "run": run,
        },
    )


@require_GET
@role_required(LEAD)
def detection_export(request: HttpRequest) -> HttpResponse:
    """The detection quality table of the same parameters as CSV (`format=csv`) or JSON."""
    form = DetectionForm(request.GET)
    period, by = form.period(), form.grouping()
    fmt = request.GET.get("format", "csv")
    if fmt not in export.CONTENT_TYPES:
        fmt = "csv"
    if by == "indicator":
        windows = detection.indicator_windows(period, request.user).order_by("-hits", "indicator")
        records = export.window_records(windows)
    else:
        records = (row.as_export() for row in detection.table_rows(by, period, request.user))
    response = StreamingHttpResponse(
        export.export_chunks(records, fmt), content_type=export.CONTENT_TYPES[fmt]
    )
    filename = f"tdp-precision-{by}-{period.range}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
