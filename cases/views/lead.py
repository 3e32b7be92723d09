"""Lead review: queue health, the QA second-review queue with agreement rates, triage settings."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import health
from cases.forms import QaReviewForm, TriageConfigForm
from cases.models import Case, QaReview, TriageConfig
from cases.triage import TriageError, submit_qa_review
from tdp.audit import diff, record, snapshot
from tdp.roles import ANALYST, LEAD, role_required


@require_GET
@role_required(LEAD)
def queue_health(request: HttpRequest) -> HttpResponse:
    """Open cases by priority and policy, ages, SLA breaches, analysts' workload and throughput."""
    cases = Case.objects.visible_to(request.user)
    context = {
        "matrix": health.open_by_priority_and_policy(cases),
        "ages": health.age_distribution(cases),
        "sla": health.sla_summary(cases),
        "analysts": health.analyst_workload(cases),
    }
    template = "cases/_health.html" if request.htmx else "cases/health.html"
    return render(request, template, context)


@require_GET
@role_required(ANALYST)
def qa_queue(request: HttpRequest) -> HttpResponse:
    """Sampled resolved cases waiting for a second review, and the agreement rates so far."""
    pending = (
        QaReview.objects.filter(
            reviewed_at__isnull=True, case__in=Case.objects.visible_to(request.user)
        )
        .exclude(original_analyst=request.user)
        .select_related("case", "case__rule", "original_analyst")
        .order_by("sampled_at")[:200]
    )
    return render(
        request,
        "cases/qa.html",
        {"pending": pending, "agreement": health.qa_agreement(), "form": QaReviewForm()},
    )


@require_POST
@role_required(ANALYST)
def qa_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a second review of case ``pk``."""
    form = QaReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not saved: {form.errors.as_text()}")
        return redirect("cases:qa_queue")
    try:
        review = submit_qa_review(pk, user=request.user, **form.cleaned_data)
    except Case.DoesNotExist as exc:
        raise Http404("No such case.") from exc
    except (TriageError, PermissionDenied) as exc:
        messages.error(request, f"Not saved: {exc}.")
    else:
        verdict = "agrees with" if review.agrees else "differs from"
        messages.success(request, f"Review saved: it {verdict} the original label.")
    return redirect("cases:qa_queue")


@require_http_methods(["GET", "POST"])
@role_required(LEAD)
def triage_settings(request: HttpRequest) -> HttpResponse:
    """SLA hours per priority and the QA sample percentage (audited)."""
    config = TriageConfig.load()
    before = snapshot(config)
    form = TriageConfigForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        form.save()
        record(
            "triage_settings.saved",
            config,
            actor=request.user,
            changes=diff(before, snapshot(config)),
        )
        messages.success(
            request, "Triage settings saved. New SLA hours apply to cases opened from now on."
        )
        return redirect("cases:triage_settings")
    return render(request, "cases/settings.html", {"form": form})
