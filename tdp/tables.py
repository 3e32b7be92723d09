"""The list helper every table page uses: filter, sort, paginate, and answer htmx with a partial.

One URL, one view, one page template that includes the partial. On an htmx request that is not
boosted, only the partial is rendered (the filter form, sort links and pager `hx-get` the same URL
with `hx-push-url`, so bookmarks and the back button keep working). `Vary: HX-Request` is sent
for every response by `tdp.middleware.SecurityHeadersMiddleware`.
"""

from typing import Any

import django_tables2 as tables
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from tdp.models import AuditEntry

DEFAULT_PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 250)


def wants_partial(request: HttpRequest) -> bool:
    """True for an htmx request that should get only the fragment.

    Boosted requests and history restores (the back button after a cache miss) replace the
    whole page, so they get the full page.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def per_page(request: HttpRequest) -> int:
    """The page size asked for in `?per_page=`, limited to the offered choices."""
    try:
        value = int(request.GET.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        return DEFAULT_PER_PAGE
    return value if value in PER_PAGE_CHOICES else DEFAULT_PER_PAGE


def render_list(
    request: HttpRequest,
    *,
    table: tables.Table,
    template: str,
    partial_template: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """Paginate `table` without a COUNT query and render the page or, for htmx, the partial.

    LazyPaginator only asks for one row past the page, so deep pages and huge tables do not pay
    for counting every matching row.
    """
    RequestConfig(
        request, paginate={"per_page": per_page(request), "paginator_class": LazyPaginator}
    ).configure(table)
    ctx = {"table": table, **(context or {})}
    return render(request, partial_template if wants_partial(request) else template, ctx)


class BaseTable(tables.Table):
    """Common table look: our htmx-aware template and a compact class."""

    class Meta:
        template_name = "tdp/_table.html"
        attrs = {"class": "table"}


class AuditEntryTable(BaseTable):
    """The audit trail as a table; `changes` shows field names, the detail is in the JSON."""

    at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="When")
    user_name = tables.Column(verbose_name="Who")
    action = tables.Column()
    content_type = tables.Column(verbose_name="Object type", order_by=("content_type__model",))
    object_repr = tables.Column(verbose_name="Object")
    changes = tables.JSONColumn(orderable=False)
    request_id = tables.Column(verbose_name="Request")

    class Meta(BaseTable.Meta):
        model = AuditEntry
        fields = ("at", "user_name", "action", "content_type", "object_repr", "changes")
        sequence = fields
        exclude = ("id", "user", "object_id", "note", "request_id")
