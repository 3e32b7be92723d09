"""Processing one automation event: enrich what it involves, then run the matching playbooks."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from automation.models import AutomationEvent, AutomationSettings, Trigger
from automation.playbooks import playbooks_for, run_playbook
from automation.playbooks.context import build_context

logger = logging.getLogger(__name__)


def process_event(event: AutomationEvent) -> None:
    """Enrich (case opened, indicator added), then run each enabled playbook of the trigger."""
    try:
        ctx, obj = build_context(event)
    except ObjectDoesNotExist:
        logger.info("automation event %s: its %s is gone", event.pk, event.object_type)
        return
    if (
        event.trigger in (Trigger.CASE_CREATED, Trigger.INDICATOR_ADDED)
        and settings.TDP_ENRICH_ON_TRIGGER
    ):
        ids = [i["id"] for i in ctx.get("indicators") or []]
        if ids and _enrich(ids):
            ctx, obj = build_context(event)  # conditions may test the fresh enrichment
    if not AutomationSettings.load().playbooks_enabled:
        return
    for playbook in playbooks_for(event.trigger):
        run_playbook(playbook, event, ctx, obj)


def _enrich(ids: list[int]) -> bool:
    """Enrich now; what needs a retry (a provider down or rate-limited) goes to the low queue."""
    from automation.enrichers.base import TemporaryFailure
    from automation.enrichment import enrich_indicators

    try:
        enrich_indicators(ids)
    except TemporaryFailure:
        from automation.jobs import enqueue_enrichment

        enqueue_enrichment(ids)
    return True
