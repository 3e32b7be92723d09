"""The allowlist page: everyone reads it; leads and admins add and remove entries."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from intel.allowlist import add_allowlist_entry, remove_allowlist_entry
from intel.filters import AllowlistEntryFilter
from intel.forms import (
    AllowlistEntryForm,
)
from intel.models import AllowlistEntry
from intel.normalize import NormalizationError
from intel.tables import AllowlistEntryTable
from tdp.roles import ANALYST, LEAD, has_role, role_required
from tdp.tables import render_list


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
