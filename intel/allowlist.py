"""The allowlist: values that must never be active intel, and the rules for matching them.

`AllowlistMatcher` answers "is this normalised (type, value) allowlisted?" in memory during
ingestion (the list is small; the values are many). `add_allowlist_entry` records a new entry
and flips the matching existing indicators to `allowlisted`, each with an audit entry.
"""

import ipaddress
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from intel.models import AllowlistEntry, Indicator, Status
from intel.normalize import NormalizationError, normalize, registered_domain_suffixes
from tdp import audit

HASH_TYPES = ("md5", "sha1", "sha256", "pdq")
_ENTRY_TYPES = {
    AllowlistEntry.Kind.DOMAIN: "domain",
    AllowlistEntry.Kind.ACCOUNT: "account",
    AllowlistEntry.Kind.EMAIL: "email",
}


def url_host(url: str) -> str:
    """The host of a normalised URL (no userinfo, no port, no IPv6 brackets)."""
    rest = url.split("://", 1)[-1]
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0]


def _last_two_labels(host: str) -> str:
    """`a.b.evil.example` -> `evil.example` (the whole host when it has fewer labels)."""
    last = host.rfind(".")
    return host[host.rfind(".", 0, last) + 1 :] if last > 0 else host


@dataclass(frozen=True)
class AllowlistHit:
    """Which entry allowlists a value, and why."""

    kind: str
    value: str
    reason: str


def normalize_entry(kind: str, value: str) -> str:
    """Canonicalise an allowlist value the way indicators are; raise NormalizationError if not."""
    value = value.strip()
    if kind == AllowlistEntry.Kind.URL_PREFIX:
        # Normalised like URL indicators so it can prefix them. A bare host keeps its "/":
        # "https://x.example" would also cover "https://x.example.evil.example/".
        return normalize(value, "url")[1]
    if kind == AllowlistEntry.Kind.IP:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise NormalizationError(f"not an IP address or CIDR: {value}") from exc
    if kind == AllowlistEntry.Kind.HASH:
        detected, canonical = normalize(value)
        if detected not in HASH_TYPES:
            raise NormalizationError(f"not a hash: {value}")
        return canonical
    return normalize(value, _ENTRY_TYPES[kind])[1]


class AllowlistMatcher:
    """In-memory view of the allowlist for fast per-value checks."""

    def __init__(self, entries: list[tuple[str, str, str]]) -> None:
        self.domains: dict[str, str] = {}
        self.prefixes: list[tuple[str, str]] = []
        self.networks: list[tuple[Any, str, str]] = []
        self.exact: dict[str, str] = {}
        for kind, value, reason in entries:
            if kind == AllowlistEntry.Kind.DOMAIN:
                self.domains[value] = reason
            elif kind == AllowlistEntry.Kind.URL_PREFIX:
                self.prefixes.append((value, reason))
            elif kind == AllowlistEntry.Kind.IP:
                self.networks.append((ipaddress.ip_network(value), value, reason))
            else:
                self.exact[f"{kind}:{value}"] = reason
        self._prefix_tuple = tuple(prefix for prefix, _ in self.prefixes)
        # None when an entry is a bare TLD-like single label: then every host needs the full walk.
        self.tails = (
            {_last_two_labels(domain) for domain in self.domains}
            if all("." in domain for domain in self.domains)
            else None
        )

    @classmethod
    def load(cls) -> "AllowlistMatcher":
        """Build a matcher from the current allowlist table."""
        return cls(list(AllowlistEntry.objects.values_list("kind", "value", "reason")))

    def _host_hit(self, host: str) -> AllowlistHit | None:
        if not self.domains:
            return None
        # Fast exit for the common case: no entry ends in the host's last two labels.
        # Ingesting a million URLs checks every host, and almost none are allowlisted.
        if self.tails is not None and _last_two_labels(host) not in self.tails:
            return None
        for candidate in registered_domain_suffixes(host):
            if candidate in self.domains:
                return AllowlistHit("domain", candidate, self.domains[candidate])
        return None

    def _ip_hit(self, text: str) -> AllowlistHit | None:
        if not self.networks:
            return None
        try:
            target = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        for network, value, reason in self.networks:
            if target.version == network.version and target.subnet_of(network):
                return AllowlistHit("ip", value, reason)
        return None

    def match(self, indicator_type: str, value: str) -> AllowlistHit | None:
        """Return the entry that allowlists this normalised indicator, or None."""
        if indicator_type == "url":
            if self._prefix_tuple and value.startswith(self._prefix_tuple):
                prefix, reason = next(p for p in self.prefixes if value.startswith(p[0]))
                return AllowlistHit("url_prefix", prefix, reason)
            host = url_host(value)
            return self._host_hit(host) or self._ip_hit(host)
        if indicator_type == "domain":
            return self._host_hit(value)
        if indicator_type in ("ipv4", "ipv6", "cidr"):
            return self._ip_hit(value)
        if indicator_type == "email":
            reason = self.exact.get(f"email:{value}")
            if reason is not None:
                return AllowlistHit("email", value, reason)
            return self._host_hit(value.rsplit("@", 1)[-1])
        kind = "hash" if indicator_type in HASH_TYPES else indicator_type
        reason = self.exact.get(f"{kind}:{value}")
        return AllowlistHit(kind, value, reason) if reason is not None else None


@transaction.atomic
def add_allowlist_entry(kind: str, value: str, *, reason: str, actor: Any) -> AllowlistEntry:
    """Allowlist a value and flip every matching non-allowlisted indicator, with audit entries."""
    canonical = normalize_entry(kind, value)
    entry = AllowlistEntry.objects.create(
        kind=kind, value=canonical, reason=reason, owner=actor if actor else None
    )
    audit.record("allowlist.add", entry, actor=actor, changes={"value": [None, canonical]})
    matcher = AllowlistMatcher([(kind, canonical, reason)])
    candidates = Indicator.objects.exclude(status=Status.ALLOWLISTED)
    if kind == AllowlistEntry.Kind.HASH:
        candidates = candidates.filter(type__in=HASH_TYPES, value=canonical)
    elif kind in (AllowlistEntry.Kind.ACCOUNT, AllowlistEntry.Kind.EMAIL):
        candidates = candidates.filter(type=_ENTRY_TYPES[kind], value=canonical)
    elif kind == AllowlistEntry.Kind.DOMAIN:
        candidates = candidates.filter(
            type__in=("domain", "url", "email"), value__contains=canonical
        )
    elif kind == AllowlistEntry.Kind.URL_PREFIX:
        candidates = candidates.filter(type="url", value__startswith=canonical)
    else:
        candidates = candidates.filter(type__in=("ipv4", "ipv6", "cidr", "url"))
    flipped = [ind for ind in candidates.iterator() if matcher.match(ind.type, ind.value)]
    now = timezone.now()
    for indicator in flipped:
        audit.record(
            "indicator.allowlist",
            indicator,
            actor=actor,
            changes={"status": [indicator.status, Status.ALLOWLISTED]},
            note=f"allowlist entry {entry}: {reason}",
        )
    Indicator.objects.filter(pk__in=[i.pk for i in flipped]).update(
        status=Status.ALLOWLISTED, updated_at=now
    )
    return entry


@transaction.atomic
def remove_allowlist_entry(entry: AllowlistEntry, *, actor: Any) -> None:
    """Delete an allowlist entry (indicators it flipped stay allowlisted until re-reported)."""
    audit.record("allowlist.remove", entry, actor=actor, changes={"value": [entry.value, None]})
    entry.delete()
