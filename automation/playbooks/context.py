"""What a playbook sees of the object that triggered it, and template values rendered from it.

The context is plain data (dicts and lists), never model instances, so a playbook template can
read fields but never call methods. `render()` fills `{{ case.id }}`-style templates anywhere in
an action's values: a value that is exactly one `{{ path }}` keeps its type (a list stays a
list in a JSON body); other strings are rendered as text by Django's template engine, without
HTML escaping (the output is JSON or a message, not a page).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.template import Context, Engine

from automation.models import AutomationEvent, Enrichment, Trigger
from cases.models import Case
from detection.models import Hit
from intel.models import Indicator, IndicatorSource

_ENGINE = Engine(autoescape=False, string_if_invalid="")
_SINGLE = re.compile(r"^\s*\{\{\s*([\w.]+)\s*\}\}\s*$")


def indicator_data(indicators: list[Indicator]) -> list[dict[str, Any]]:
    """Indicators as template/condition data, with their source names and enrichment."""
    ids = [i.pk for i in indicators]
    sources: dict[int, list[str]] = defaultdict(list)
    for indicator_id, name in IndicatorSource.objects.filter(indicator_id__in=ids).values_list(
        "indicator_id", "source__name"
    ):
        sources[indicator_id].append(name)
    enrichment: dict[int, dict[str, Any]] = defaultdict(dict)
    for indicator_id, provider, data in Enrichment.objects.filter(
        indicator_id__in=ids, error=""
    ).values_list("indicator_id", "provider", "data"):
        enrichment[indicator_id][provider] = data
    return [
        {
            "id": i.pk,
            "type": i.type,
            "value": i.value,
            "confidence": i.confidence,
            "tlp": i.tlp,
            "tags": list(i.tags),
            "status": i.status,
            "sources": sorted(sources[i.pk]),
            "enrichment": enrichment[i.pk],
        }
        for i in indicators
    ]


def case_data(case: Case) -> dict[str, Any]:
    """A case as template/condition data."""
    return {
        "id": case.pk,
        "url": settings.TDP_SITE_URL + case.get_absolute_url(),
        "status": case.status,
        "priority": case.get_priority_display(),
        "policy": case.policy_label,
        "rule": case.rule.name,
        "author_id": case.author_id,
        "author_handle": case.author_handle,
        "hit_count": case.hit_count,
        "disposition": case.disposition,
        "reason": case.reason,
        "assignee": case.assignee.get_username() if case.assignee else None,
        "tags": list(case.tags),
        "indicator_values": case.indicator_values(),
    }


def build_context(event: AutomationEvent) -> tuple[dict[str, Any], Any]:
    """(template context, the model object acted on) for one automation event.

    Raises the model's DoesNotExist when the object is gone (the event is then moot).
    """
    trigger = event.trigger
    if trigger in (Trigger.CASE_CREATED, Trigger.CASE_LABELLED):
        case = Case.objects.select_related("rule", "assignee").get(pk=event.object_id)
        indicators = list(Indicator.objects.filter(hits__case=case).distinct().order_by("pk")[:200])
        ctx = {"case": case_data(case), "indicators": indicator_data(indicators)}
        return ctx, case
    if trigger == Trigger.HIT_CREATED:
        hit = Hit.objects.select_related("rule", "indicator", "case", "case__rule").get(
            pk=event.object_id
        )
        ctx = {
            "hit": {
                "id": hit.pk,
                "event": hit.event_id,
                "rule": hit.rule.name,
                "field": hit.field,
                "value": hit.value,
                "author_id": hit.author_id,
                "policy": hit.rule.policy_label,
            },
            "case": case_data(hit.case) if hit.case else None,
            "indicators": indicator_data([hit.indicator]),
        }
        ctx["indicator"] = ctx["indicators"][0]
        return ctx, hit.case or hit
    if trigger == Trigger.INDICATOR_ADDED:
        indicator = Indicator.objects.get(pk=event.object_id)
        data = indicator_data([indicator])
        return {"indicator": data[0], "indicators": data}, indicator
    from intel.models import FeedRun

    run = FeedRun.objects.select_related("feed").get(pk=event.object_id)
    ctx = {
        "feed_run": {"id": run.pk, "error": run.error, "status": run.status},
        "feed": {"id": run.feed_id, "name": run.feed.name},
        "indicators": [],
    }
    return ctx, run


def lookup(ctx: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the context (None when absent)."""
    value: Any = ctx
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def render(value: Any, ctx: dict[str, Any]) -> Any:
    """``value`` with every template string filled from ``ctx`` (recursively)."""
    if isinstance(value, dict):
        return {key: render(item, ctx) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, ctx) for item in value]
    if isinstance(value, str) and "{" in value:
        single = _SINGLE.match(value)
        if single:
            return lookup(ctx, single.group(1))
        return _ENGINE.from_string(value).render(Context(ctx, autoescape=False))
    return value
