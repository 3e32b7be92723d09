"""Adding intel by hand: one indicator (with live type detection), pasted text, uploaded files."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from intel.allowlist import AllowlistMatcher
from intel.extract import extract_indicators
from intel.forms import (
    IndicatorForm,
    PasteCommitForm,
    PasteForm,
    UploadForm,
)
from intel.imports import create_import, get_or_create_source, run_import
from intel.ingest import IngestSpec, ingest, manual_source
from intel.jobs import enqueue_import
from intel.models import Indicator, IntelImport, Source
from intel.normalize import NormalizationError, normalize
from intel.parsers import ParsedRow
from tdp.roles import ANALYST, LEAD, has_role, role_required
from tdp.tables import wants_partial


def _visible_indicators(request: HttpRequest):
    return Indicator.objects.visible_to(request.user)


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


def _imports_of(request: HttpRequest):
    """Imports the user may see: their own; leads and admins see everyone's."""
    imports = IntelImport.objects.select_related("source")
    return imports if has_role(request.user, LEAD) else imports.filter(created_by=request.user)


@require_GET
@role_required(ANALYST)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's state and result; polls itself with htmx until it finishes."""
    record = get_object_or_404(_imports_of(request), pk=pk)
    template = "intel/_import_status.html" if wants_partial(request) else "intel/import_detail.html"
    return render(request, template, {"record": record})


@require_POST
@role_required(ANALYST)
def import_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed or stuck import again (ingestion is idempotent)."""
    record = get_object_or_404(_imports_of(request), pk=pk)
    if record.state in (IntelImport.State.FAILED, IntelImport.State.QUEUED):
        IntelImport.objects.filter(pk=pk).update(state=IntelImport.State.QUEUED)
        enqueue_import(record)
        messages.info(request, "Import queued again.")
    return redirect(record)
