"""Intel pages: indicator list and detail, adding intel (form, paste, upload), export, allowlist.

Views are thin: check the role, parse input, call a service function, render. Indicators are
always fetched through `Indicator.objects.visible_to(user)`, so TLP:RED intel is a 404 for users
who are not cleared, exactly as if it did not exist.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from intel import export
from intel.allowlist import AllowlistMatcher, add_allowlist_entry, remove_allowlist_entry
from intel.extract import extract_indicators
from intel.filters import AllowlistEntryFilter, IndicatorFilter
from intel.forms import (
    AllowlistEntryForm,
    IndicatorEditForm,
    IndicatorForm,
    PasteCommitForm,
    PasteForm,
    StatusForm,
    UploadForm,
)
from intel.imports import create_import, get_or_create_source, run_import
from intel.ingest import IngestSpec, ingest, manual_source
from intel.jobs import enqueue_import
from intel.lifecycle import set_indicator_status, update_indicator
from intel.models import AllowlistEntry, Indicator, IndicatorSource, IntelImport, Source
from intel.normalize import NormalizationError, normalize
from intel.parsers import ParsedRow
from intel.tables import AllowlistEntryTable, IndicatorTable
from tdp.audit import entries_for
from tdp.roles import ANALYST, LEAD, has_role, role_required
from tdp.tables import render_list, wants_partial


def _visible_indicators(request: HttpRequest):
    return Indicator.objects.visible_to(request.user)


def _filtered(filterset: IndicatorFilter) -> QuerySet:
    """The filtered indicators, or none when a filter value is invalid.

    django-filter drops an invalid value (`type=bogus`, a deleted source) and filters on the
    rest, which would list and export far more than was asked for.
    """
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def _spec_from(form: PasteForm | PasteCommitForm | IndicatorForm | UploadForm) -> IngestSpec:
    data = form.cleaned_data
    name = (data.get("source") or "").strip()
    source = get_or_create_source(name, Source.Kind.MANUAL) if name else manual_source()
    return IngestSpec(
        source=source,
        confidence=data["confidence"],
        severity=data["severity"],
        tlp=data["tlp"],
        tags=data["tags"],
        ttl_days=data.get("ttl_days"),
        description=data.get("description") or "",
    )


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
    # index.
    table = IndicatorTable(
        _filtered(filterset), order_by=request.GET.get("sort") or "-first_seen_at"
    )
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
    """One indicator: attributes, sources, tags, history, and the actions on it."""
    indicator = get_object_or_404(_visible_indicators(request), pk=pk)
    context = {
        "indicator": indicator,
        "provenance": indicator.provenance.select_related("source").order_by("-last_seen_at"),
        "history": entries_for(indicator)[:100],
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


@require_http_methods(["GET", "POST"])
@role_required(ANALYST)
def indicator_add(request: HttpRequest) -> HttpResponse:
    """Add one indicator; its detected type and normal form are previewed while typing."""
    form = IndicatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        row = ParsedRow(
            line=1,
            value=form.cleaned_data["normalized_value"],
            type=form.cleaned_data["normalized_type"],
            reference="form",
        )
        result = ingest([row], _spec_from(form), actor=request.user, collect_ids=True)
        # TLP:RED intel stays hidden from users who are not cleared, even when they report it.
        indicator = _visible_indicators(request).filter(pk=result.indicator_ids[0]).first()
        if indicator is None:
            messages.success(request, f"Saved {row.type} {row.value}.")
            target = reverse("intel:indicator_add")
        else:
            verb = "Added" if result.created else "Updated"
            messages.success(request, f"{verb} {indicator.type} {indicator.value}.")
            target = indicator.get_absolute_url()
        if wants_partial(request):
            return HttpResponseClientRedirect(target)
        return redirect(target)
    return render(request, "intel/indicator_add.html", {"form": form})


@require_GET
@role_required(ANALYST)
def indicator_detect(request: HttpRequest) -> HttpResponse:
    """htmx fragment: what type a value is and its normal form, or why it is rejected."""
    value = request.GET.get("value", "")
    context: dict = {"value": value}
    if value.strip():
        try:
            context["type"], context["normalized"] = normalize(
                value, request.GET.get("type") or None
            )
            context["existing"] = (
                _visible_indicators(request)
                .filter(type=context["type"], value=context["normalized"])
                .first()
            )
            context["allowlisted"] = AllowlistMatcher.load().match(
                context["type"], context["normalized"]
            )
        except NormalizationError as exc:
            context["error"] = exc.reason
    return render(request, "intel/_detected.html", context)


@require_http_methods(["GET", "POST"])
@role_required(ANALYST)
def paste(request: HttpRequest) -> HttpResponse:
    """Paste free text, preview the indicators found in it, choose and commit them."""
    form = PasteForm(request.POST or None)
    candidates = []
    if request.method == "POST" and form.is_valid():
        found = extract_indicators(form.cleaned_data["text"])
        candidates = _annotate_candidates(request, found)
        if not candidates:
            form.add_error("text", "No indicators found in this text.")
    template = "intel/_paste_preview.html" if wants_partial(request) else "intel/paste.html"
    return render(request, template, {"form": form, "candidates": candidates})


def _annotate_candidates(request: HttpRequest, found: list) -> list[dict]:
    """Mark each extracted indicator as new, already known or allowlisted (two queries total)."""
    matcher = AllowlistMatcher.load()
    by_type: dict[str, list[str]] = {}
    for item in found:
        by_type.setdefault(item.type, []).append(item.value)
    known = set()
    for indicator_type, values in by_type.items():
        known.update(
            (indicator_type, value)
            for value in _visible_indicators(request)
            .filter(type=indicator_type, value__in=values)
            .values_list("value", flat=True)
        )
    candidates = []
    for item in found:
        allowlisted = matcher.match(item.type, item.value)
        state = (
            "allowlisted" if allowlisted else "known" if (item.type, item.value) in known else "new"
        )
        candidates.append({"item": item, "state": state, "allowlist": allowlisted})
    return candidates


@require_POST
@role_required(ANALYST)
def paste_commit(request: HttpRequest) -> HttpResponse:
    """Store the indicators chosen in the paste preview."""
    form = PasteCommitForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing added: {form.errors.as_text()}")
        if wants_partial(request):
            return HttpResponseClientRedirect(reverse("intel:paste"))
        return redirect("intel:paste")
    rows = [
        ParsedRow(line=index, value=value, type=indicator_type, reference="paste")
        for index, (indicator_type, value) in enumerate(form.cleaned_data["selected"], 1)
    ]
    spec = _spec_from(form)
    result = ingest(rows, spec, actor=request.user)
    messages.success(
        request,
        f"Added {result.created}, updated {result.updated}, unchanged {result.unchanged}"
        + (f", rejected {result.rejected}" if result.rejected else "")
        + f" (source: {spec.source.name}).",
    )
    target = f"{reverse('intel:indicator_list')}?source={spec.source.pk}"
    return HttpResponseClientRedirect(target) if wants_partial(request) else redirect(target)


@require_http_methods(["GET", "POST"])
@role_required(ANALYST)
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a file of intel; small files import at once, large ones on a worker."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        if upload_file.size > settings.TDP_MAX_UPLOAD_BYTES:
            form.add_error(
                "file", f"The file is larger than {settings.TDP_MAX_UPLOAD_BYTES} bytes."
            )
        else:
            data = form.cleaned_data
            source = get_or_create_source(data.get("source") or f"Upload: {upload_file.name}"[:200])
            options = {
                "format": data["format"],
                "type": data.get("type") or None,
                "value_column": data.get("value_column") or None,
                "confidence": data["confidence"],
                "severity": data["severity"],
                "tlp": data["tlp"],
                "tags": data["tags"],
                "ttl_days": data.get("ttl_days"),
            }
            record = create_import(upload_file, source=source, options=options, actor=request.user)
            if record.size <= settings.TDP_INLINE_IMPORT_BYTES:
                run_import(record)
            else:
                enqueue_import(record)
            return redirect(record)
    recent = IntelImport.objects.select_related("source").filter(created_by=request.user)[:10]
    return render(request, "intel/upload.html", {"form": form, "recent": recent})


@require_GET
@role_required(ANALYST)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's state and result; polls itself with htmx until it finishes."""
    record = get_object_or_404(IntelImport.objects.select_related("source"), pk=pk)
    template = "intel/_import_status.html" if wants_partial(request) else "intel/import_detail.html"
    return render(request, template, {"record": record})


@require_POST
@role_required(ANALYST)
def import_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed or stuck import again (ingestion is idempotent)."""
    record = get_object_or_404(IntelImport, pk=pk)
    if record.state in (IntelImport.State.FAILED, IntelImport.State.QUEUED):
        IntelImport.objects.filter(pk=pk).update(state=IntelImport.State.QUEUED)
        enqueue_import(record)
        messages.info(request, "Import queued again.")
    return redirect(record)


@require_http_methods(["GET", "POST"])
@role_required(ANALYST)
def allowlist(request: HttpRequest) -> HttpResponse:
    """The allowlist; leads and admins may add entries (matching indicators are flipped)."""
    form = AllowlistEntryForm(request.POST or None)
    if request.method == "POST":
        if not has_role(request.user, LEAD):
            raise PermissionDenied("Only leads and admins edit the allowlist.")
        if form.is_valid():
            try:
                entry = add_allowlist_entry(
                    form.cleaned_data["kind"],
                    form.cleaned_data["value"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except NormalizationError as exc:
                form.add_error("value", exc.reason)
            except IntegrityError:
                form.add_error("value", "This value is already allowlisted.")
            else:
                messages.success(request, f"Allowlisted {entry}.")
                return redirect("intel:allowlist")
    filterset = AllowlistEntryFilter(
        request.GET, queryset=AllowlistEntry.objects.select_related("owner")
    )
    return render_list(
        request,
        table=AllowlistEntryTable(filterset.qs),
        template="intel/allowlist.html",
        partial_template="intel/_allowlist_results.html",
        context={"filter": filterset, "form": form},
    )


@require_POST
@role_required(LEAD)
def allowlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove an allowlist entry."""
    entry = get_object_or_404(AllowlistEntry, pk=pk)
    remove_allowlist_entry(entry, actor=request.user)
    messages.success(request, f"Removed {entry} from the allowlist.")
    return redirect("intel:allowlist")
