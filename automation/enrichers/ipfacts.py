"""The `ip_facts` enricher: what an IP address or CIDR block is, and which lists contain it.

The version and scope (private, reserved, loopback, multicast, global...) come from
`ipaddress`. Containing intel comes from active `cidr` indicators, tested in PostgreSQL with
the `inet` containment operator (`>>=`) so no Python loop walks the table; the allowlist's IP
entries go through `intel.allowlist.AllowlistMatcher`, the matcher ingestion uses. Reverse
DNS is looked up only when the setting `TDP_ENRICH_REVERSE_DNS` is on, within
`TDP_ENRICH_DNS_TIMEOUT` seconds (default 2): `socket.gethostbyaddr` has no timeout of its
own, so it runs on a small thread pool and we stop waiting when time is up.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, IntegerField
from django.db.models.expressions import RawSQL

from automation.enrichers.base import Enricher, register
from intel.allowlist import AllowlistMatcher
from intel.models import AllowlistEntry, Indicator, IndicatorType

MAX_CONTAINING = 20
# Lookups that time out keep their thread until the resolver gives up: a few threads bound that.
_dns_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="reverse-dns")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def scope(network: Network) -> dict[str, bool]:
    """The special-purpose flags of an address or block (a /32 or /128 for single addresses)."""
    return {
        "is_private": network.is_private,
        "is_global": network.is_global,
        "is_reserved": network.is_reserved,
        "is_loopback": network.is_loopback,
        "is_multicast": network.is_multicast,
        "is_link_local": network.is_link_local,
        "is_unspecified": network.is_unspecified,
    }


def containing_cidrs(value: str, *, exclude_id: int | None = None) -> list[str]:
    """Active `cidr` indicators that contain ``value`` (an address or block), narrowest first."""
    rows = (
        Indicator.objects.active()
        .filter(type=IndicatorType.CIDR)
        .alias(
            # CASE keeps the cast away from rows of other types, whatever order the planner
            # evaluates the WHERE clauses in (a domain value is not valid inet).
            contains=RawSQL(
                "CASE WHEN type = 'cidr' THEN value::inet >>= %s::inet ELSE false END",
                [value],
                output_field=BooleanField(),
            ),
            prefix=RawSQL(
                "CASE WHEN type = 'cidr' THEN masklen(value::inet) END",
                [],
                output_field=IntegerField(),
            ),
        )
        .filter(contains=True)
        .order_by("-prefix", "value")
    )
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return list(rows.values_list("value", flat=True)[:MAX_CONTAINING])


def allowlisting_entry(type_: str, value: str) -> str | None:
    """The allowlist IP entry (address or CIDR) covering ``value``, or None."""
    entries = AllowlistEntry.objects.filter(kind=AllowlistEntry.Kind.IP).values_list(
        "kind", "value", "reason"
    )
    hit = AllowlistMatcher(list(entries)).match(type_, value)
    return hit.value if hit else None


def reverse_dns(address: str) -> dict[str, Any]:
    """The PTR name of ``address`` when `TDP_ENRICH_REVERSE_DNS` is on: status off, ok, none
    (no name) or timeout."""
    if not getattr(settings, "TDP_ENRICH_REVERSE_DNS", False):
        return {"reverse_dns": None, "reverse_dns_status": "off"}
    timeout = float(getattr(settings, "TDP_ENRICH_DNS_TIMEOUT", 2.0))
    future = _dns_pool.submit(socket.gethostbyaddr, address)
    try:
        name = future.result(timeout=timeout)[0]
    except FutureTimeout:
        future.cancel()
        return {"reverse_dns": None, "reverse_dns_status": "timeout"}
    except OSError:
        return {"reverse_dns": None, "reverse_dns_status": "none"}
    return {"reverse_dns": name, "reverse_dns_status": "ok"}


def ip_facts(type_: str, value: str) -> dict[str, Any]:
    """Version, scope, containing intel CIDRs, allowlisting and reverse DNS of an IP or CIDR."""
    network = ipaddress.ip_network(value, strict=False)
    facts: dict[str, Any] = {"version": network.version, **scope(network)}
    exclude_id = None
    if type_ == IndicatorType.CIDR:
        facts["prefix_length"] = network.prefixlen
        facts["addresses"] = network.num_addresses
        exclude_id = (
            Indicator.objects.filter(type=type_, value=value).values_list("pk", flat=True).first()
        )
    facts["in_intel_cidrs"] = containing_cidrs(value, exclude_id=exclude_id)
    facts["allowlisted_by"] = allowlisting_entry(type_, value)
    if type_ != IndicatorType.CIDR:
        facts.update(reverse_dns(value))
    return facts


@register
class IpFacts(Enricher):
    """Version, scope, containing CIDR intel, allowlisting and (optional) reverse DNS."""

    name = "ip_facts"
    applies_to = frozenset({IndicatorType.IPV4, IndicatorType.IPV6, IndicatorType.CIDR})
    ttl_seconds = 86400

    def enrich(self, type_: str, value: str) -> dict[str, Any]:
        """Facts about a normalised IPv4/IPv6 address or CIDR block."""
        return ip_facts(type_, value)
