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
from django.core.exceptions import ObjectDoesNotExist
from django.template import Context, Engine

from automation.models import AutomationEvent, Enrichment, Trigger
from cases.models import Case
from detection.models import Hit
from intel.models import Indicator, IndicatorSource

_ENGINE = Engine(autoescape=False, string_if_invalid="")
MAX_CASE_INDICATORS = 200  # a case's context names at most this many indicators
_SINGLE = re.compile(r"^\s*\{\{\s*([\w.]+)\s*\}\}\s*$")


def indicator_data(indicators: list[Indicator]) -> list[dict[str, Any]]:
    """Indicators as template/condition data, with their source names and enrichment."""
    ids = [i.pk for i in indicators]
    sources: dict[int, list[str]] = defaultdict(list)
    for indicator_id, name in IndicatorSource.objects.filter(indicator_id__in=ids).values_list(
        "indicator_id", "source__name"
    ):
        sources[indicator_id].append(name)
    enrichment = enrichment_data(ids)
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


def enrichment_data(ids: list[int]) -> dict[int, dict[str, Any]]:
    """{indicator id: {provider: data}} of the stored, error-free enrichment of ``ids``."""
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    for indicator_id, provider, data in Enrichment.objects.filter(
        indicator_id__in=ids, error=""
    ).values_list("indicator_id", "provider", "data"):
        found[indicator_id][provider] = data
    return found


def refresh_enrichment(contexts: dict[int, tuple[dict[str, Any], Any]]) -> None:
    """Re-read the enrichment of every indicator in ``contexts`` (after enriching them)."""
    dicts = [i for ctx, _ in contexts.values() for i in ctx.get("indicators") or []]
    fresh = enrichment_data(sorted({i["id"] for i in dicts}))
    for item in dicts:
        item["enrichment"] = fresh[item["id"]]


def case_data(case: Case, indicator_values: list[str] | None = None) -> dict[str, Any]:
    """A case as template/condition data (``indicator_values`` when already known)."""
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
        "indicator_values": (
            case.indicator_values() if indicator_values is None else indicator_values
        ),
    }


def build_context(event: AutomationEvent) -> tuple[dict[str, Any], Any]:
    """(template context, the model object acted on) for one automation event.

    Raises the model's DoesNotExist when the object is gone (the event is then moot).
    """
    found = build_contexts([event])
    if event.pk not in found:
        raise _missing(event)
    return found[event.pk]


def _missing(event: AutomationEvent) -> ObjectDoesNotExist:
    from intel.models import FeedRun

    model = {
        Trigger.CASE_CREATED: Case,
        Trigger.CASE_LABELLED: Case,
        Trigger.HIT_CREATED: Hit,
        Trigger.INDICATOR_ADDED: Indicator,
    }.get(event.trigger, FeedRun)
    return model.DoesNotExist(f"{event.object_type} {event.object_id} is gone")


def build_contexts(
    events: list[AutomationEvent],
) -> dict[int, tuple[dict[str, Any], Any]]:
    """{event id: (template context, object acted on)} for a batch, in a few queries in all.

    Events whose object is gone are left out (they are moot). Indicators the batch shares are
    one dict each, shared between the contexts that name them.
    """
    by_trigger: dict[str, list[AutomationEvent]] = defaultdict(list)
    for event in events:
        by_trigger[event.trigger].append(event)
    indicators: dict[int, Indicator] = {}
    partial: dict[int, tuple[dict[str, Any], Any, list[int]]] = {}

    case_events = by_trigger[Trigger.CASE_CREATED] + by_trigger[Trigger.CASE_LABELLED]
    hit_events = by_trigger[Trigger.HIT_CREATED]
    cases = (
        Case.objects.select_related("rule", "assignee").in_bulk({e.object_id for e in case_events})
        if case_events
        else {}
    )
    hits = (
        Hit.objects.select_related(
            "rule", "indicator", "case", "case__rule", "case__assignee"
        ).in_bulk({e.object_id for e in hit_events})
        if hit_events
        else {}
    )
    # Each case's indicators (ids and values), for its own events and for those of its hits.
    per_case: dict[int, list[tuple[int, str]]] = defaultdict(list)
    case_ids = set(cases) | {hit.case_id for hit in hits.values() if hit.case_id}
    if case_ids:
        rows = (
            Hit.objects.filter(case_id__in=case_ids)
            .values_list("case_id", "indicator_id", "indicator__value")
            .distinct()
            .order_by("case_id", "indicator_id")
        )
        for case_id, indicator_id, value in rows:
            per_case[case_id].append((indicator_id, value))

    def values_of(case_id: int) -> list[str]:
        return sorted({value for _, value in per_case[case_id]})

    if case_events:
        wanted = {i for pk in cases for i, _ in per_case[pk][:MAX_CASE_INDICATORS]}
        indicators.update(Indicator.objects.in_bulk(wanted - indicators.keys()))
        for event in case_events:
            case = cases.get(event.object_id)
            if case is None:
                continue
            ids = [i for i, _ in per_case[case.pk][:MAX_CASE_INDICATORS]]
            partial[event.pk] = ({"case": case_data(case, values_of(case.pk))}, case, ids)

    if hit_events:
        for event in hit_events:
            hit = hits.get(event.object_id)
            if hit is None:
                continue
            indicators[hit.indicator_id] = hit.indicator
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
                "case": case_data(hit.case, values_of(hit.case_id)) if hit.case else None,
            }
            partial[event.pk] = (ctx, hit.case or hit, [hit.indicator_id])

    indicator_events = by_trigger[Trigger.INDICATOR_ADDED]
    if indicator_events:
        found = Indicator.objects.in_bulk({e.object_id for e in indicator_events})
        indicators.update(found)
        for event in indicator_events:
            if event.object_id in found:
                partial[event.pk] = ({}, found[event.object_id], [event.object_id])

    run_events = by_trigger[Trigger.FEED_RUN_FAILED]
    if run_events:
        from intel.models import FeedRun

        runs = FeedRun.objects.select_related("feed").in_bulk({e.object_id for e in run_events})
        for event in run_events:
            run = runs.get(event.object_id)
            if run is not None:
                ctx = {
                    "feed_run": {"id": run.pk, "error": run.error, "status": run.status},
                    "feed": {"id": run.feed_id, "name": run.feed.name},
                }
                partial[event.pk] = (ctx, run, [])

    data = {
        item["id"]: item for item in indicator_data(sorted(indicators.values(), key=lambda i: i.pk))
    }
    contexts: dict[int, tuple[dict[str, Any], Any]] = {}
    for event in events:
        if event.pk not in partial:
            continue
        ctx, obj, ids = partial[event.pk]
        ctx["indicators"] = [data[i] for i in ids if i in data]
        if event.trigger in (Trigger.HIT_CREATED, Trigger.INDICATOR_ADDED) and ctx["indicators"]:
            ctx["indicator"] = ctx["indicators"][0]
        contexts[event.pk] = (ctx, obj)
    return contexts


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
