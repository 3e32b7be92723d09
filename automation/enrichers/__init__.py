"""Enrichers: small plug-ins that add facts to an indicator (see `automation.enrichers.base`).

Built in: `internal_history` (every type), `url_anatomy` (url, domain) and `ip_facts` (ipv4,
ipv6, cidr); importing this package registers them. Admins add generic JSON-over-HTTP
enrichers as `automation.models.HttpEnricher` rows, named `http:<name>`. `enrichers_for`
lists what applies to one indicator type; `automation.enrichment` runs them and stores results.
"""

from __future__ import annotations

from automation.enrichers import anatomy, history, ipfacts
from automation.enrichers.base import Enricher, TemporaryFailure, builtin_enrichers
from automation.enrichers.http import HttpEnricherError, HttpJsonEnricher, RateLimited
from automation.models import HttpEnricher

__all__ = [
    "Enricher",
    "HttpEnricherError",
    "HttpJsonEnricher",
    "RateLimited",
    "TemporaryFailure",
    "anatomy",
    "enrichers_for",
    "history",
    "ipfacts",
]


def enrichers_for(type_: str) -> list[Enricher]:
    """The enrichers that apply to indicators of ``type_``: built-ins, then enabled HTTP ones."""
    found = [enricher for enricher in builtin_enrichers() if type_ in enricher.applies_to]
    rows = HttpEnricher.objects.filter(is_enabled=True, applies_to__contains=[type_])
    return found + [HttpJsonEnricher(row) for row in rows.order_by("name")]
