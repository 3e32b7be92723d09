"""Processing automation events: enrich what they involve, then run the matching playbooks.

Events are processed a claimed batch at a time (`process_events`): the contexts of the whole
batch are read in a few queries, its indicators are enriched in one pass, and each playbook runs
over all the events of its trigger at once (`automation.playbooks.runner.run_playbooks`).
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings

from automation.models import AutomationEvent, AutomationSettings, Trigger
from automation.playbooks import playbooks_for
from automation.playbooks.context import build_contexts, refresh_enrichment
from automation.playbooks.runner import run_playbooks

logger = logging.getLogger(__name__)

ENRICHED_TRIGGERS = (Trigger.CASE_CREATED, Trigger.INDICATOR_ADDED)


def process_event(event: AutomationEvent) -> None:
    """Enrich (case opened, indicator added), then run each enabled playbook of the trigger."""
    process_events([event])


def process_events(events: list[AutomationEvent]) -> None:
    """`process_event` for a batch, set-wise. Raises on the first unexpected error (the caller
    then processes the events one by one, so one bad event does not hold back the others)."""
    contexts = build_contexts(events)
    for event in events:
        if event.pk not in contexts:
            logger.info("automation event %s: its %s is gone", event.pk, event.object_type)
    if settings.TDP_ENRICH_ON_TRIGGER:
        ids = sorted(
            {
                indicator["id"]
                for event in events
                if event.trigger in ENRICHED_TRIGGERS and event.pk in contexts
                for indicator in contexts[event.pk][0].get("indicators") or []
            }
        )
        if ids:
            _enrich(ids)
            refresh_enrichment(contexts)  # conditions and bodies see the fresh results
    if not AutomationSettings.load().playbooks_enabled:
        return
    by_trigger: dict[str, list[AutomationEvent]] = defaultdict(list)
    for event in events:
        if event.pk in contexts:
            by_trigger[event.trigger].append(event)
    for trigger, batch in by_trigger.items():
        for playbook in playbooks_for(trigger):
            run_playbooks(playbook, [(event, *contexts[event.pk]) for event in batch])


def _enrich(ids: list[int]) -> None:
    """Enrich now; what needs a retry (a provider down or rate-limited) goes to the low queue."""
    from automation.enrichers.base import TemporaryFailure
    from automation.enrichment import enrich_indicators

    try:
        enrich_indicators(ids)
    except TemporaryFailure as exc:
        from automation.jobs import enqueue_enrichment

        enqueue_enrichment(getattr(exc, "indicator_ids", None) or ids)
