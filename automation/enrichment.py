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
from collections import defaultdict
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
        self.indicator_ids: list[int] = []  # the indicators to retry (`enrich_indicators`)


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


def _row(
    indicator: Indicator, provider: str, data: dict[str, Any], error: str, ttl: int
) -> Enrichment:
    now = timezone.now()
    return Enrichment(
        indicator=indicator,
        provider=provider,
        data=data,
        error=error,
        fetched_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )


def _store(rows: list[Enrichment]) -> None:
    # A real upsert: two workers enriching the same indicator cannot trip the unique constraint.
    if rows:
        Enrichment.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["indicator", "provider"],
            update_fields=["data", "error", "fetched_at", "expires_at"],
        )


def _ask(enricher: Enricher, indicators: list[Indicator]) -> dict[int, dict[str, Any] | Exception]:
    """What ``enricher`` says of each indicator: its data, or the exception it raised."""
    if enricher.batchable and not enricher.rate_per_minute:
        try:
            return enricher.enrich_many(indicators)
        except Exception as exc:  # the whole batch failed: every indicator gets the error
            return {indicator.pk: exc for indicator in indicators}
    answers: dict[int, dict[str, Any] | Exception] = {}
    for indicator in indicators:
        try:
            _take_slot(enricher)
            answers[indicator.pk] = enricher.enrich(indicator.type, indicator.value)
        except Exception as exc:
            answers[indicator.pk] = exc
    return answers


class _Outcome:
    """What one enrichment pass did: results per indicator, and what must be retried."""

    def __init__(self) -> None:
        self.results: dict[int, list[Enrichment]] = defaultdict(list)
        self.deferred: dict[int, list[str]] = defaultdict(list)
        self.waits: list[float] = []


def _enrich_all(
    indicators: list[Indicator], *, force: bool, requested_at: datetime | None
) -> _Outcome:
    """Run every applicable enricher on every indicator, each enricher once over the batch.

    Reads the stored results in one query and writes the new ones in one upsert.
    """
    now = timezone.now()
    outcome = _Outcome()
    existing: dict[int, dict[str, Enrichment]] = defaultdict(dict)
    for row in Enrichment.objects.filter(indicator__in=indicators):
        existing[row.indicator_id][row.provider] = row
    applicable = {type_: enrichers_for(type_) for type_ in {i.type for i in indicators}}
    enrichers: dict[str, Enricher] = {}
    pending: dict[str, list[Indicator]] = defaultdict(list)
    for indicator in indicators:
        for enricher in applicable[indicator.type]:
            current = existing[indicator.pk].get(enricher.name)
            if current is None or not _is_fresh(current, now, force, requested_at):
                enrichers[enricher.name] = enricher
                pending[enricher.name].append(indicator)
    fresh: dict[tuple[int, str], Enrichment] = {}
    for name, waiting in pending.items():
        enricher = enrichers[name]
        answers = _ask(enricher, waiting)
        stored = len(fresh)
        for indicator in waiting:
            answer = answers.get(indicator.pk)
            if isinstance(answer, TemporaryFailure):
                logger.info("enricher %s deferred on indicator %s: %s", name, indicator.pk, answer)
                outcome.deferred[indicator.pk].append(name)
                wait = getattr(answer, "retry_after", None)
                if wait:
                    outcome.waits.append(wait)
            elif isinstance(answer, Exception):
                error = _error_text(answer)
                logger.warning(
                    "enricher %s failed on indicator %s: %s",
                    name,
                    indicator.pk,
                    error,
                    exc_info=(
                        (type(answer), answer, answer.__traceback__)
                        if not isinstance(answer, HttpEnricherError)
                        else False
                    ),
                )
                fresh[indicator.pk, name] = _row(indicator, name, {}, error, ERROR_TTL_SECONDS)
            else:
                data = answer if answer is not None else {}
                fresh[indicator.pk, name] = _row(indicator, name, data, "", enricher.ttl_seconds)
        _store(
            list(fresh.values())[stored:]
        )  # each provider's answers kept as soon as it gave them
    for indicator in indicators:
        for enricher in applicable[indicator.type]:
            row = fresh.get((indicator.pk, enricher.name)) or existing[indicator.pk].get(
                enricher.name
            )
            if row is not None:
                outcome.results[indicator.pk].append(row)
    return outcome


def enrich_indicator(
    indicator: Indicator, *, force: bool = False, requested_at: datetime | None = None
) -> list[Enrichment]:
    """Run every applicable enricher on ``indicator`` and store what each says.

    Fresh results are kept as they are unless ``force``; with ``force`` and ``requested_at``
    (when a user asked), results fetched since then count as fresh, so a retried job does not
    ask again the providers that already answered. Returns the results, stored or kept. Raises
    `EnrichmentDeferred` after all providers ran if any could not answer now.
    """
    outcome = _enrich_all([indicator], force=force, requested_at=requested_at)
    if outcome.deferred:
        raise EnrichmentDeferred(
            outcome.deferred[indicator.pk], max(outcome.waits) if outcome.waits else None
        )
    return outcome.results[indicator.pk]


def enrich_indicators(
    ids: Iterable[int], *, force: bool = False, requested_at: datetime | None = None
) -> dict[str, int]:
    """Enrich each indicator of ``ids`` (missing ones are skipped); returns counts.

    The whole set is one pass: each enricher is asked once over it (the built-in ones answer
    for all indicators in a few queries) and the results are written in one upsert.
    Counts: `indicators` enriched, `results` held, `errors` among them, `deferred` indicators
    with a provider to retry. When `deferred` is not zero, `EnrichmentDeferred` (with `counts`)
    is raised after every indicator ran, so an RQ job retries with backoff.
    """
    indicators = list(Indicator.objects.filter(pk__in=list(ids)).order_by("pk"))
    outcome = _enrich_all(indicators, force=force, requested_at=requested_at)
    held = [row for rows in outcome.results.values() for row in rows]
    counts = {
        "indicators": len(indicators),
        "results": len(held),
        "errors": sum(1 for row in held if row.error),
        "deferred": len(outcome.deferred),
    }
    if outcome.deferred:
        providers = [name for names in outcome.deferred.values() for name in names]
        deferred = EnrichmentDeferred(providers, max(outcome.waits) if outcome.waits else None)
        deferred.counts = counts
        deferred.indicator_ids = sorted(outcome.deferred)
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
