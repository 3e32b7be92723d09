"""Running enrichers on indicators and keeping their answers (`automation.models.Enrichment`).

One result per (indicator, provider), upserted, with the time it was fetched and when it goes
stale (`expires_at`, from the enricher's TTL). A fresh result is not asked again unless forced.
Each provider's rate limit is shared by every worker through Redis (`automation.ratelimit`).
A provider that cannot answer now (timeout, 5xx, 429, our own limit, Redis down) is skipped
and the others still run; then `EnrichmentDeferred`, a `TemporaryFailure`, is raised so the RQ
job retries with backoff, and the retry only asks the providers still missing. Any other
failure is stored as the result's error (short, free of secrets) and retried after
`ERROR_TTL_SECONDS`. These functions are synchronous; jobs and views call them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import redis
from django.utils import timezone

from automation import ratelimit
from automation.enrichers import (
    Enricher,
    HttpEnricherError,
    RateLimited,
    TemporaryFailure,
    enrichers_for,
)
from automation.models import Enrichment
from cases.models import Case
from intel.models import Indicator

logger = logging.getLogger(__name__)

ERROR_TTL_SECONDS = 3600
MAX_ERROR_LENGTH = 300
SUMMARY_FACTS = 8
MAX_FACT_LENGTH = 200


class EnrichmentDeferred(TemporaryFailure):
    """Some providers could not answer now; everything else was stored. Retry later.

    `providers` names them; `retry_after` is the longest wait a provider asked for (seconds),
    None when none said; `counts` is filled by `enrich_indicators`.
    """

    def __init__(self, providers: list[str], retry_after: float | None = None) -> None:
        self.providers = sorted(set(providers))
        super().__init__(f"retry later: {', '.join(self.providers)}")
        self.retry_after = retry_after
        self.counts: dict[str, int] = {}


def _is_fresh(
    result: Enrichment, now: datetime, force: bool, requested_at: datetime | None
) -> bool:
    if force:
        return requested_at is not None and result.fetched_at >= requested_at
    return result.expires_at > now


def _error_text(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if not isinstance(exc, HttpEnricherError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:MAX_ERROR_LENGTH]


def _take_slot(enricher: Enricher) -> None:
    """Count one call against the provider's shared limit, or raise RateLimited."""
    try:
        if ratelimit.allow(enricher.name, enricher.rate_per_minute):
            return
        wait = ratelimit.wait_time(enricher.name, enricher.rate_per_minute)
    except redis.RedisError as exc:
        raise TemporaryFailure(f"rate limiter unavailable: {type(exc).__name__}") from None
    raise RateLimited(f"{enricher.name} rate limit reached", retry_after=wait)


def _store(
    indicator: Indicator, provider: str, data: dict[str, Any], error: str, ttl: int
) -> Enrichment:
    now = timezone.now()
    row = Enrichment(
        indicator=indicator,
        provider=provider,
        data=data,
        error=error,
        fetched_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    # A real upsert: two workers enriching the same indicator cannot trip the unique constraint.
    Enrichment.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["indicator", "provider"],
        update_fields=["data", "error", "fetched_at", "expires_at"],
    )
    return row


def enrich_indicator(
    indicator: Indicator, *, force: bool = False, requested_at: datetime | None = None
) -> list[Enrichment]:
    """Run every applicable enricher on ``indicator`` and store what each says.

    Fresh results are kept as they are unless ``force``; with ``force`` and ``requested_at``
    (when a user asked), results fetched since then count as fresh, so a retried job does not
    ask again the providers that already answered. Returns the results, stored or kept. Raises
    `EnrichmentDeferred` after all providers ran if any could not answer now.
    """
    now = timezone.now()
    existing = {row.provider: row for row in Enrichment.objects.filter(indicator=indicator)}
    results: list[Enrichment] = []
    deferred: list[str] = []
    waits: list[float] = []
    for enricher in enrichers_for(indicator.type):
        current = existing.get(enricher.name)
        if current is not None and _is_fresh(current, now, force, requested_at):
            results.append(current)
            continue
        try:
            _take_slot(enricher)
            data = enricher.enrich(indicator.type, indicator.value)
        except TemporaryFailure as exc:
            logger.info(
                "enricher %s deferred on indicator %s: %s", enricher.name, indicator.pk, exc
            )
            deferred.append(enricher.name)
            wait = getattr(exc, "retry_after", None)
            if wait:
                waits.append(wait)
            if current is not None:
                results.append(current)
            continue
        except Exception as exc:
            error = _error_text(exc)
            logger.warning(
                "enricher %s failed on indicator %s: %s",
                enricher.name,
                indicator.pk,
                error,
                exc_info=not isinstance(exc, HttpEnricherError),
            )
            results.append(_store(indicator, enricher.name, {}, error, ERROR_TTL_SECONDS))
            continue
        results.append(_store(indicator, enricher.name, data, "", enricher.ttl_seconds))
    if deferred:
        raise EnrichmentDeferred(deferred, max(waits) if waits else None)
    return results


def enrich_indicators(
    ids: Iterable[int], *, force: bool = False, requested_at: datetime | None = None
) -> dict[str, int]:
    """Enrich each indicator of ``ids`` (missing ones are skipped); returns counts.

    Counts: `indicators` enriched, `results` held, `errors` among them, `deferred` indicators
    with a provider to retry. When `deferred` is not zero, `EnrichmentDeferred` (with `counts`)
    is raised after every indicator ran, so an RQ job retries with backoff.
    """
    counts = {"indicators": 0, "results": 0, "errors": 0, "deferred": 0}
    providers: list[str] = []
    waits: list[float] = []
    for indicator in Indicator.objects.filter(pk__in=list(ids)).order_by("pk"):
        counts["indicators"] += 1
        try:
            results = enrich_indicator(indicator, force=force, requested_at=requested_at)
        except EnrichmentDeferred as exc:
            counts["deferred"] += 1
            providers.extend(exc.providers)
            waits.extend([exc.retry_after] if exc.retry_after else [])
            results = list(Enrichment.objects.filter(indicator=indicator))
        counts["results"] += len(results)
        counts["errors"] += sum(1 for row in results if row.error)
    if providers:
        deferred = EnrichmentDeferred(providers, max(waits) if waits else None)
        deferred.counts = counts
        raise deferred
    return counts


def case_indicator_ids(case: Case) -> list[int]:
    """The distinct indicators behind ``case``'s hits."""
    return sorted(set(case.hits.values_list("indicator_id", flat=True).order_by()))


def enrich_case(
    case: Case, *, force: bool = False, requested_at: datetime | None = None
) -> dict[str, int]:
    """Enrich the indicators of ``case``'s hits (see `enrich_indicators`, which may raise)."""
    return enrich_indicators(case_indicator_ids(case), force=force, requested_at=requested_at)


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_display(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_display(item) for item in value)
    return str(value)


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict) and data:
        pairs = []
        for key, item in data.items():
            pairs.extend(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return pairs
    return [(prefix, data)]


def _history_summary(data: dict[str, Any]) -> list[tuple[str, Any]]:
    cases = data.get("cases") or 0
    return [
        ("Hits", data.get("hits")),
        ("Last hit", data.get("last_hit_at")),
        ("Sources", data.get("sources")),
        ("Prior dispositions", data.get("dispositions")),
        ("Cases", f"{cases} ({data.get('open_cases') or 0} open)" if cases else None),
    ]


def _anatomy_summary(data: dict[str, Any]) -> list[tuple[str, Any]]:
    brands = [f"{item['brand']} ({item['kind']})" for item in data.get("lookalikes") or []]
    return [
        ("Registered domain", data.get("registered_domain")),
        ("Subdomain depth", data.get("subdomain_depth")),
        ("IDN", data.get("unicode_host") if data.get("is_idn") else None),
        ("Look-alike of", brands),
        ("URL shortener", True if data.get("is_shortener") else None),
        ("Userinfo in URL", True if data.get("has_userinfo") else None),
    ]


def _ip_summary(data: dict[str, Any]) -> list[tuple[str, Any]]:
    flags = ("private", "loopback", "reserved", "multicast", "link_local", "global")
    return [
        ("Version", f"IPv{data['version']}" if data.get("version") else None),
        ("Scope", [flag.replace("_", "-") for flag in flags if data.get(f"is_{flag}")]),
        ("In intel CIDRs", data.get("in_intel_cidrs")),
        ("Allowlisted by", data.get("allowlisted_by")),
        ("Reverse DNS", data.get("reverse_dns")),
    ]


_FACTS = {
    "internal_history": _history_summary,
    "url_anatomy": _anatomy_summary,
    "ip_facts": _ip_summary,
}


def enrichment_summary(indicator: Indicator) -> list[dict[str, Any]]:
    """The stored results of ``indicator`` for its page: provider, times, error, key facts.

    `facts` is a list of (label, text) pairs, empty values left out; HTTP enrichers show their
    kept fields by dotted path. Values are plain text: templates escape them as usual.
    """
    summary = []
    for row in Enrichment.objects.filter(indicator=indicator).order_by("provider"):
        data = row.data if isinstance(row.data, dict) else {}
        pick = _FACTS.get(row.provider)
        pairs = pick(data) if pick else _flatten(data)
        facts = [
            (label, _display(value)[:MAX_FACT_LENGTH])
            for label, value in pairs
            if value not in (None, "", [], {})
        ]
        summary.append(
            {
                "provider": row.provider,
                "fetched_at": row.fetched_at,
                "expires_at": row.expires_at,
                "is_fresh": row.is_fresh,
                "error": row.error,
                "facts": facts[:SUMMARY_FACTS],
            }
        )
    return summary
