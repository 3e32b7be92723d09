"""Rule pages: list, detail with recent hits, create/edit/toggle (leads), test and why-not boxes.

Analysts read rules and use the "why not" box; leads and admins change rules and try them on
sample events. Every indicator shown goes through `Indicator.objects.visible_to`.
"""

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from detection.filters import RuleFilter
from detection.forms import RuleForm, SampleForm, WhyNotForm
from detection.models import Hit, Rule
from detection.rules import (
    create_rule,
    explain_why_not,
    set_rule_enabled,
    test_rule_on_sample,
    update_rule,
)
from detection.tables import RuleTable
from intel.models import Indicator
from tdp.roles import ANALYST, LEAD, role_required
from tdp.tables import render_list, wants_partial

RECENT_HITS = 50


@require_GET
@role_required(ANALYST)
def rule_list(request: HttpRequest) -> HttpResponse:
    """Search and filter rules, with their hit counts; htmx gets only the results partial."""
    # Counts only hits the viewer may see: hits on TLP:RED intel need clearance.
    hit_count = (
        Hit.objects.filter(
            rule=OuterRef("pk"), indicator__in=Indicator.objects.visible_to(request.user)
        )
        .order_by()
        .values("rule")
        .annotate(n=Count("id"))
        .values("n")
    )
    queryset = Rule.objects.annotate(
        hit_count=Coalesce(Subquery(hit_count, output_field=IntegerField()), 0)
    )
    filterset = RuleFilter(request.GET, queryset=queryset)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    return render_list(
        request,
        table=RuleTable(rows, order_by=request.GET.get("sort") or "name"),
        template="detection/rule_list.html",
        partial_template="detection/_rule_results.html",
        context={"filter": filterset},
    )


@require_GET
@role_required(ANALYST)
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One rule: its settings, recent hits on indicators the user may see, test and why-not."""
    rule = get_object_or_404(Rule.objects.prefetch_related("sources"), pk=pk)
    hits = (
        Hit.objects.filter(rule=rule, indicator__in=Indicator.objects.visible_to(request.user))
        .select_related("indicator")
        .order_by("-created_at", "-id")[:RECENT_HITS]
    )
    return render(
        request,
        "detection/rule_detail.html",
        {
            "rule": rule,
            "hits": hits,
            "sample_form": SampleForm(),
            "why_not_form": WhyNotForm(),
        },
    )


def _edit_page(request: HttpRequest, form: RuleForm, rule: Rule | None) -> HttpResponse:
    return render(
        request,
        "detection/rule_form.html",
        {"form": form, "rule": rule, "sample_form": SampleForm()},
    )


@require_http_methods(["GET", "POST"])
@role_required(LEAD)
def rule_create(request: HttpRequest) -> HttpResponse:
    """Write a new rule."""
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        rule = create_rule(form.values(), actor=request.user)
        messages.success(request, f"Rule {rule.name} created.")
        return redirect("detection:rule_detail", pk=rule.pk)
    return _edit_page(request, form, None)


@require_http_methods(["GET", "POST"])
@role_required(LEAD)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a rule's filters, thresholds, severity and grouping."""
    rule = get_object_or_404(Rule, pk=pk)
    form = RuleForm(request.POST or None, rule=rule, initial=RuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        update_rule(rule, form.values(), actor=request.user)
        messages.success(request, f"Rule {rule.name} saved.")
        return redirect("detection:rule_detail", pk=rule.pk)
    return _edit_page(request, form, rule)


@require_POST
@role_required(LEAD)
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable or disable a rule (``enabled=1`` / ``0``; without it, flip)."""
    rule = get_object_or_404(Rule, pk=pk)
    wanted = request.POST.get("enabled")
    enabled = not rule.is_enabled if wanted is None else wanted in ("1", "true", "on")
    set_rule_enabled(rule, enabled, actor=request.user)
    messages.success(request, f"Rule {rule.name} {'enabled' if enabled else 'disabled'}.")
    url = reverse("detection:rule_detail", args=[rule.pk])
    if wants_partial(request):
        return HttpResponse(status=204, headers={"HX-Location": url})
    return redirect(url)


@require_POST
@role_required(LEAD)
def rule_test(request: HttpRequest) -> HttpResponse:
    """Try a saved rule (``rule`` = its id) or the editor's unsaved values on sample events.

    Nothing is stored. Answers with the results partial (the full page without htmx).
    """
    sample = SampleForm(request.POST)
    rule = None
    rule_form = None
    rule_id, editing_id = request.POST.get("rule", ""), request.POST.get("editing", "")
    if rule_id:
        if not rule_id.isdigit():
            raise Http404("No such rule.")
        rule = get_object_or_404(Rule, pk=int(rule_id))
    else:
        editing = Rule.objects.filter(pk=int(editing_id)).first() if editing_id.isdigit() else None
        rule_form = RuleForm(request.POST, rule=editing)
    result = None
    if sample.is_valid() and (rule_form is None or rule_form.is_valid()):
        target = rule if rule is not None else rule_form.values()
        result = test_rule_on_sample(target, sample.cleaned_data["events"], viewer=request.user)
    context = {"sample": sample, "rule_form": rule_form, "result": result, "rule": rule}
    template = "detection/_rule_test.html" if wants_partial(request) else "detection/rule_test.html"
    return render(request, template, context)


@require_POST
@role_required(ANALYST)
def rule_why_not(request: HttpRequest) -> HttpResponse:
    """Explain why an event and an indicator gave no hit (under ``rule``, when given)."""
    form = WhyNotForm(request.POST)
    rule = None
    if request.POST.get("rule"):
        rule = get_object_or_404(Rule.objects.prefetch_related("sources"), pk=request.POST["rule"])
    reasons = None
    if form.is_valid():
        reasons = explain_why_not(
            form.cleaned_data["event"],
            form.cleaned_data["indicator"],
            rule,
            viewer=request.user,
        )
    context = {"form": form, "reasons": reasons, "rule": rule}
    partial = wants_partial(request)
    template = "detection/_rule_why_not.html" if partial else "detection/rule_why_not.html"
    return render(request, template, context)
