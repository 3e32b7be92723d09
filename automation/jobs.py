"""RQ entry points for automation (thin wrappers around importable functions).

Queues: `high` drains the automation outbox (playbooks act on fresh cases), `low` retries
enrichment that a provider could not answer at once (with backoff).
"""

import django_rq
from rq import Retry

from automation import outbox

ENRICH_RETRY = Retry(max=5, interval=[30, 60, 120, 300, 600])


def drain_automation() -> int:
    """Process pending automation events (see `automation.outbox.drain`)."""
    return outbox.drain()


def enrich_indicators_job(ids: list[int], force: bool = False, requested_at: str = "") -> dict:
    """Enrich indicators; a TemporaryFailure makes RQ retry the job with backoff.

    ``requested_at`` (ISO time of the request) keeps a forced re-enrichment's retries from
    calling again the providers that already answered since.
    """
    from datetime import datetime

    from automation.enrichment import enrich_indicators

    when = datetime.fromisoformat(requested_at) if requested_at else None
    return enrich_indicators(ids, force=force, requested_at=when)


def enqueue_enrichment(ids: list[int], *, force: bool = False) -> None:
    """Queue enrichment of ``ids`` on the low queue with retries."""
    from django.utils import timezone

    django_rq.get_queue("low").enqueue(
        enrich_indicators_job, ids, force, timezone.now().isoformat(), retry=ENRICH_RETRY
    )


def kick_automation() -> bool:
    """The scheduler's minute tick: drain the outbox if events wait (e.g. Redis was down)."""
    return outbox.kick_if_pending()
