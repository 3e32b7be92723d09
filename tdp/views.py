"""Project-wide pages: home, health check, the audit trail, and the RQ dashboard guard."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tdp.audit import visible_entries
from tdp.filters import AuditEntryFilter
from tdp.health import check_health
from tdp.roles import ADMIN, role_required
from tdp.tables import AuditEntryTable, render_list


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the page they work in."""
    return redirect("intel:indicator_list")


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """`{"db": "ok", "redis": "ok", "workers": N}` with 200, or 503 naming what is down."""
    ok, report = check_health()
    return JsonResponse(report, status=200 if ok else 503)


@require_GET
@role_required(ADMIN)
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit trail, filterable by user, action, object type and date (admins only)."""
    queryset = visible_entries(request.user).select_related("content_type")
    filterset = AuditEntryFilter(request.GET, queryset=queryset)
    table = AuditEntryTable(filterset.qs)
    return render_list(
        request,
        table=table,
        template="tdp/audit_list.html",
        partial_template="tdp/_audit_results.html",
        context={"filter": filterset},
    )
