"""Back-test pages (leads): start one for a saved or draft rule, and watch its result.

A run over few events is done within the request; a larger one runs on the default RQ queue
and its page polls (htmx, every 2 s) until it is finished. Indicator values in results go
through `Indicator.objects.visible_to`.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from intel.models import Indicator
from tdp.roles import LEAD, role_required
from tdp.tables import wants_partial
from tuning.backtest.runs import start_backtest
from tuning.forms import BacktestForm, DraftRuleForm
from tuning.models import BacktestRun
from tuning.tables import BacktestRunTable

RECENT_RUNS = 25


@require_http_methods(["GET", "POST"])
@role_required(LEAD)
def backtest_list(request: HttpRequest) -> HttpResponse:
    """The back-test form (``?rule=`` preselects a rule) and the recent runs."""
    data = request.POST if request.method == "POST" else None
    form = BacktestForm(data, initial={"rule": request.GET.get("rule")})
    draft = DraftRuleForm(data, prefix="draft", initial={"name": "Draft"})
    if request.method == "POST" and form.is_valid():
        rule = form.cleaned_data["rule"]
        if rule is not None or draft.is_valid():
            run = start_backtest(
                rule=rule,
                draft=None if rule is not None else draft.values(),
                days=form.cleaned_data["days"],
                indicators=form.cleaned_data["indicators"],
                actor=request.user,
            )
            return redirect(run)
    runs = BacktestRun.objects.visible_to(request.user).select_related("created_by")
    table = BacktestRunTable(runs[:RECENT_RUNS], orderable=False)
    return render(
        request,
        "tuning/backtest_list.html",
        {"form": form, "draft": draft, "table": table},
    )


@require_GET
@role_required(LEAD)
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: its settings and, once done, its result; htmx polls the status partial."""
    run = get_object_or_404(
        BacktestRun.objects.visible_to(request.user).select_related("rule", "created_by"), pk=pk
    )
    context = {"run": run, "top_indicators": _top_indicators(run, request.user)}
    template = (
        "tuning/_backtest_status.html" if wants_partial(request) else "tuning/backtest_detail.html"
    )
    return render(request, template, context)


def _top_indicators(run: BacktestRun, viewer: object) -> list[dict]:
    """The run's top indicators the viewer may see (stored ones looked up by id)."""
    rows = run.result.get("top_indicators") or []
    ids = [row[0] for row in rows if row[0] > 0]
    visible = dict(
        Indicator.objects.visible_to(viewer).filter(pk__in=ids).values_list("pk", "value")
    )
    shown = []
    for id_, type_, value, events in rows:
        if id_ > 0 and id_ not in visible:
            continue
        shown.append(
            {
                "id": id_ if id_ > 0 else None,
                "type": type_,
                "value": visible.get(id_, value),
                "events": events,
            }
        )
    return shown
