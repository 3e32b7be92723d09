"""Automation pages: playbooks (list, detail, create/update from JSON, enable and kill
switches), playbook runs (list, detail), failures with retry, and "re-enrich" buttons.

Leads and admins read everything here; only admins change playbooks and switches. Secrets in
playbook actions are masked on every page.
"""

import json

import django_rq
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automation import outbox
from automation.filters import PlaybookRunFilter
from automation.forms import PlaybookJsonForm
from automation.models import AutomationEvent, AutomationSettings, Playbook, PlaybookRun
from automation.playbooks import export_playbook, save_playbook
from automation.playbooks.runner import describe, retry_run
from automation.tables import PlaybookRunTable
from cases.models import Case
from intel.models import Indicator
from tdp.audit import diff, record, snapshot
from tdp.roles import ADMIN, ANALYST, LEAD, role_required
from tdp.tables import render_list


def masked(playbook: Playbook) -> str:
    """The playbook's file form with secrets masked, pretty-printed."""
    data = export_playbook(playbook)
    data["actions"] = [describe(action) for action in data["actions"]]
    return json.dumps(data, indent=2, ensure_ascii=False)


@require_GET
@role_required(LEAD)
def playbook_list(request: HttpRequest) -> HttpResponse:
    """Every playbook with its switch, and the global kill switch."""
    return render(
        request,
        "automation/playbook_list.html",
        {
            "playbooks": Playbook.objects.all(),
            "settings": AutomationSettings.load(),
            "pending": outbox.pending_count(),
            "form": PlaybookJsonForm(),
        },
    )


@require_GET
@role_required(LEAD)
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One playbook (secrets masked) and its latest runs."""
    playbook = get_object_or_404(Playbook, pk=pk)
    return render(
        request,
        "automation/playbook_detail.html",
        {
            "playbook": playbook,
            "definition": masked(playbook),
            "runs": playbook.runs.all()[:50],
        },
    )


@require_POST
@role_required(ADMIN)
def playbook_save(request: HttpRequest) -> HttpResponse:
    """Create or update a playbook from pasted JSON (the same schema as the files)."""
    form = PlaybookJsonForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not saved: {' '.join(form.errors['definition'])}")
        return redirect("automation:playbook_list")
    playbook, created = save_playbook(form.cleaned_data["definition"], actor=request.user)
    messages.success(request, f"Playbook {playbook.name} {'created' if created else 'updated'}.")
    return redirect(playbook)


@require_POST
@role_required(ADMIN)
def playbook_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """A playbook's own kill switch."""
    with transaction.atomic():
        playbook = get_object_or_404(Playbook.objects.select_for_update(), pk=pk)
        before = snapshot(playbook, ["is_enabled"])
        playbook.is_enabled = request.POST.get("enabled") == "on"
        playbook.save(update_fields=["is_enabled", "updated_at"])
        record(
            "playbook.switched",
            playbook,
            actor=request.user,
            changes=diff(before, snapshot(playbook, ["is_enabled"])),
        )
    outbox.forget_consumers()
    messages.success(request, f"{playbook.name} is {'on' if playbook.is_enabled else 'off'}.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("automation:playbook_list")
    return redirect(next_url)


@require_POST
@role_required(ADMIN)
def kill_switch(request: HttpRequest) -> HttpResponse:
    """The global switch: off stops every playbook at once (events still queue)."""
    with transaction.atomic():
        current = AutomationSettings.objects.select_for_update().get(
            pk=AutomationSettings.load().pk
        )
        before = snapshot(current, ["playbooks_enabled"])
        current.playbooks_enabled = request.POST.get("enabled") == "on"
        current.save()
        record(
            "automation.switched",
            current,
            actor=request.user,
            changes=diff(before, snapshot(current, ["playbooks_enabled"])),
        )
    messages.success(
        request, "Playbooks are " + ("on." if current.playbooks_enabled else "OFF for everyone.")
    )
    return redirect("automation:playbook_list")


@require_GET
@role_required(LEAD)
def run_list(request: HttpRequest) -> HttpResponse:
    """Playbook runs, filterable; htmx gets only the results."""
    filterset = PlaybookRunFilter(
        request.GET, queryset=PlaybookRun.objects.select_related("playbook")
    )
    rows = filterset.qs if filterset.is_valid() else PlaybookRun.objects.none()
    return render_list(
        request,
        table=PlaybookRunTable(rows, order_by=request.GET.get("sort") or "-started_at"),
        template="automation/run_list.html",
        partial_template="automation/_run_results.html",
        context={"filter": filterset},
    )


@require_GET
@role_required(LEAD)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: trigger, matched conditions, each step's status, output, duration and error."""
    run = get_object_or_404(PlaybookRun.objects.select_related("playbook"), pk=pk)
    steps = []
    for step in run.steps:
        shown = dict(step)
        if "settings" in shown:
            shown["settings"] = json.dumps(
                shown["settings"], indent=1, default=str, ensure_ascii=False
            )
        if "output" in shown:
            shown["output"] = json.dumps(shown["output"], indent=1, default=str, ensure_ascii=False)
        steps.append(shown)
    return render(
        request,
        "automation/run_detail.html",
        {"run": run, "steps": steps, "matched": json.dumps(run.matched, indent=1, default=str)},
    )


@require_GET
@role_required(LEAD)
def failures(request: HttpRequest) -> HttpResponse:
    """Failed playbook runs and automation events, with retry buttons; the RQ dashboard link."""
    return render(
        request,
        "automation/failures.html",
        {
            "runs": PlaybookRun.objects.filter(status=PlaybookRun.Status.FAILED).select_related(
                "playbook"
            )[:200],
            "events": AutomationEvent.objects.exclude(error="").order_by("-id")[:200],
            "rq_failed": _rq_failed_count(),
        },
    )


def _rq_failed_count() -> int | None:
    try:
        return sum(
            django_rq.get_queue(name).failed_job_registry.count
            for name in ("high", "default", "low")
        )
    except Exception:
        return None


@require_POST
@role_required(LEAD)
def run_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a failed run again from its failed step."""
    run = get_object_or_404(PlaybookRun, pk=pk)
    with transaction.atomic():
        retry_run(run)
        record("playbook_run.retried", run, actor=request.user)
    messages.success(request, f"Run {run.pk} queued again.")
    return redirect("automation:failures")


@require_POST
@role_required(LEAD)
def event_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Process a failed automation event again."""
    event = get_object_or_404(AutomationEvent, pk=pk)
    with transaction.atomic():
        outbox.retry_event(event.pk)
        record("automation_event.retried", event, actor=request.user)
    messages.success(request, f"Event {event.pk} queued again.")
    return redirect("automation:failures")


@require_POST
@role_required(ANALYST)
def reenrich_indicator(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a fresh enrichment of one indicator (ignoring cached results)."""
    from automation.jobs import enqueue_enrichment

    indicator = get_object_or_404(Indicator.objects.visible_to(request.user), pk=pk)
    record("indicator.reenrich_requested", indicator, actor=request.user)
    transaction.on_commit(
        lambda: _enqueue_or_warn(
            request, enqueue_enrichment, [indicator.pk], "Enrichment queued; refresh in a moment."
        )
    )
    return redirect(indicator)


@require_POST
@role_required(ANALYST)
def reenrich_case(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a fresh enrichment of a case's indicators."""
    from automation.jobs import enqueue_enrichment

    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    ids = list(
        Indicator.objects.filter(hits__case=case).distinct().values_list("pk", flat=True)[:200]
    )
    record("case.reenrich_requested", case, actor=request.user)
    done = f"Enrichment of {len(ids)} indicator(s) queued."
    transaction.on_commit(lambda: _enqueue_or_warn(request, enqueue_enrichment, ids, done))
    return redirect(case)


def _enqueue_or_warn(request: HttpRequest, enqueue, ids: list[int], done: str) -> None:
    try:
        enqueue(ids, force=True)
    except Exception:  # Redis down: say so rather than pretend
        messages.warning(request, "The job queue is unreachable; enrichment was not queued.")
    else:
        messages.success(request, done)


@require_http_methods(["GET"])
@role_required(ADMIN)
def playbook_export(request: HttpRequest) -> HttpResponse:
    """Download every playbook as the JSON file `import_playbooks` reads (admins: secrets)."""
    data = [export_playbook(p) for p in Playbook.objects.order_by("position", "name")]
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="playbooks.json"'
    record("playbooks.exported", None, actor=request.user, object_repr="playbooks")
    return response
