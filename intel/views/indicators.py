"""Indicator list (search, filter, sort), export, detail, edit and revoke/reactivate."""

from django.contrib import messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from automation.enrichment import enrichment_summary
from automation.models import PlaybookRun
from intel import export
from intel.filters import IndicatorFilter
from intel.forms import (
    IndicatorEditForm,
    StatusForm,
)
from intel.lifecycle import set_indicator_status, update_indicator
from intel.models import Indicator, IndicatorSource
from intel.tables import IndicatorTable
from tdp.audit import entries_for
from tdp.roles import ANALYST, role_required
from tdp.tables import render_list


def _visible_indicators(request: HttpRequest):
    return Indicator.objects.visible_to(request.user)


def _filtered(filterset: IndicatorFilter) -> QuerySet:
    """The filtered indicators, or none when a filter value is invalid.

    django-filter drops an invalid value (`type=bogus`, a deleted source) and filters on the
    rest, which would list and export far more than was asked for.
    """
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


KEYSET_ORDERINGS = ("-first_seen_at", "first_seen_at")
RECENT_HITS = 50


@require_GET
@role_required(ANALYST)
def indicator_list(request: HttpRequest) -> HttpResponse:
    """Search and filter indicators; htmx requests get only the results partial."""
    source_count = (
        IndicatorSource.objects.filter(indicator=OuterRef("pk"))
        .values("indicator")
        .annotate(n=Count("source_id"))
        .values("n")
    )
    queryset = _visible_indicators(request).annotate(source_count=Subquery(source_count))
    filterset = IndicatorFilter(request.GET, queryset=queryset)
    # Newest first by default: first_seen_at never changes after insert, so it sorts by the id
    # index, and its pages are keyed by id ("after"), which stays fast however deep one goes.
    ordering = request.GET.get("sort") or "-first_seen_at"
    rows = _filtered(filterset)
    keyset = ordering in KEYSET_ORDERINGS
    after = request.GET.get("after", "")
    if keyset and after.isdigit():
        rows = rows.filter(id__lt=int(after)) if ordering[0] == "-" else rows.filter(id__gt=after)
    table = IndicatorTable(rows, order_by=ordering)
    table.keyset = keyset
    return render_list(
        request,
        table=table,
        template="intel/indicator_list.html",
        partial_template="intel/_indicator_results.html",
        context={"filter": filterset, "export_formats": export.FORMATS},
    )


@require_GET
@role_required(ANALYST)
def indicator_export(request: HttpRequest) -> HttpResponse:
    """Stream the filtered indicators as CSV, plain list, JSON (lines) or a STIX 2.1 bundle."""
    fmt = request.GET.get("format", "csv")
    if fmt not in export.FORMATS:
        fmt = "csv"
    filterset = IndicatorFilter(request.GET, queryset=_visible_indicators(request))
    if not filterset.is_valid():
        return HttpResponseBadRequest(
            f"Invalid filter: {filterset.errors.as_text()}", content_type="text/plain"
        )
    response = StreamingHttpResponse(
        export.export_chunks(filterset.qs, fmt), content_type=export.CONTENT_TYPES[fmt]
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = (
        f'attachment; filename="indicators-{stamp}.{export.EXTENSIONS[fmt]}"'
    )
    return response


@require_GET
@role_required(ANALYST)
def indicator_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One indicator: attributes, sources, tags, recent hits, history, and the actions on it."""
    indicator = get_object_or_404(_visible_indicators(request), pk=pk)
    context = {
        "indicator": indicator,
        "provenance": indicator.provenance.select_related("source").order_by("-last_seen_at"),
        "history": entries_for(indicator)[:100],
        "hits": indicator.hits.select_related("rule").order_by("-created_at")[:RECENT_HITS],
        "edit_form": IndicatorEditForm(
            initial={
                "confidence": indicator.confidence,
                "severity": indicator.severity,
                "tlp": indicator.tlp,
                "tags": ", ".join(indicator.tags),
                "description": indicator.description,
                "expires_at": indicator.expires_at,
            }
        ),
        "status_form": StatusForm(),
        "enrichments": enrichment_summary(indicator),
        "playbook_runs": PlaybookRun.objects.filter(
            object_type="indicator", object_id=indicator.pk
        ).select_related("playbook")[:50],
        "reenrich_url": reverse("automation:reenrich_indicator", args=[indicator.pk]),
    }
    return render(request, "intel/indicator_detail.html", context)


@require_POST
@role_required(ANALYST)
def indicator_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Save an indicator's edited attributes."""
    indicator = get_object_or_404(_visible_indicators(request), pk=pk)
    form = IndicatorEditForm(request.POST)
    if form.is_valid():
        update_indicator(indicator, actor=request.user, **form.cleaned_data)
        messages.success(request, "Indicator saved.")
    else:
        messages.error(request, f"Not saved: {form.errors.as_text()}")
    return redirect(indicator)


@require_POST
@role_required(ANALYST)
def indicator_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke or reactivate an indicator, with a reason."""
    indicator = get_object_or_404(_visible_indicators(request), pk=pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            set_indicator_status(
                indicator,
                form.cleaned_data["status"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValueError as exc:
            messages.error(request, f"Not changed: {exc}.")
        else:
            messages.success(request, f"Indicator is now {indicator.status}.")
    else:
        messages.error(request, "Give a reason for the change.")
    return redirect(indicator)
