"""The :class:`Observable` value and the two helpers every extractor shares.

:func:`canonical` is :func:`intel.normalize.normalize` behind per-type caches, so observables
are always in intel's canonical form without paying for it twice, and :func:`url_host` cuts
the host out of a canonical URL (the URL normaliser already canonicalised it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from intel.normalize import TYPES, NormalizationError, normalize

__all__ = ["FIELDS", "MEDIA_HASH_TYPES", "Observable", "canonical", "canonical_as", "url_host"]

FIELDS: tuple[str, ...] = ("text", "urls", "author", "hashtags", "media")
MEDIA_HASH_TYPES: tuple[str, ...] = ("sha256", "md5", "sha1", "pdq")


class Observable(NamedTuple):
    """One matchable value found in an event.

    ``value`` is canonical (as :func:`intel.normalize.normalize` returns it). ``start``/``end``
    are offsets in the event's text when ``field == "text"``, else -1; ``raw`` is what the
    event literally said. ``derived_from`` is set on a host implied by a URL or an email (the
    canonical URL or email). A NamedTuple rather than a frozen dataclass: it is built ~10
    times per event and costs a third as much.
    """

    type: str
    value: str
    field: str
    start: int = -1
    end: int = -1
    raw: str = ""
    derived_from: str | None = None

    @property
    def is_derived(self) -> bool:
        """True for a host implied by a URL or an email rather than written on its own."""
        return self.derived_from is not None


def _normalizer(type_: str) -> Callable[[str], str | None]:
    def canonical_as(raw: str) -> str | None:
        try:
            return normalize(raw, type_)[1]
        except NormalizationError:
            return None

    return canonical_as


_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_HEX = re.compile(r"[0-9A-Fa-f]+").fullmatch


def _hash_normalizer(type_: str) -> Callable[[str], str | None]:
    length = _HASH_LENGTHS[type_]
    slow = _normalizer(type_)

    def canonical_hash(raw: str) -> str | None:
        # Nearly every hash is exactly `length` hex digits, which normalize() would only
        # lowercase (nothing in it to refang, trim or reject): the same answer, 5x cheaper.
        if type(raw) is str and len(raw) == length and _HEX(raw) is not None:
            return raw.lower()
        return slow(raw)

    return canonical_hash


# One bounded LRU per type, sized to how often values repeat, so that a stream of one-off
# media hashes or links cannot evict the handles and hosts that recur in every other event.
# Hashes are not cached: lowercasing 64 hex characters is cheaper than the bookkeeping.
_CACHE_SIZES = {
    "url": 1 << 15,
    "domain": 1 << 14,
    "ipv4": 1 << 12,
    "ipv6": 1 << 10,
    "email": 1 << 12,
    "phone": 1 << 12,
    "account": 1 << 15,
    "hashtag": 1 << 14,
    "crypto_wallet": 1 << 10,
}
_CANONICAL: dict[str, Callable[[str], str | None]] = {
    type_: lru_cache(maxsize=_CACHE_SIZES[type_])(_normalizer(type_))
    if type_ in _CACHE_SIZES
    else _hash_normalizer(type_)
    if type_ in _HASH_LENGTHS
    else _normalizer(type_)
    for type_ in TYPES
}


def canonical(raw: str, type_: str) -> str | None:
    """intel's canonical form of ``raw`` as ``type_``, or None when it is not valid.

    Backed by a bounded LRU per type (handles, hashtags, hosts and links repeat across events).
    """
    return _CANONICAL[type_](raw)


def canonical_as(type_: str) -> Callable[[str], str | None]:
    """:func:`canonical` for one type, as a function of the raw value (saves the type's
    lookup in loops that call it for every event)."""
    return _CANONICAL[type_]


def url_host(url: str) -> tuple[str, str] | None:
    """``(type, value)`` of the host of a *canonical* URL: a domain, an IPv4 or an IPv6.

    Single-label hosts (``localhost``) give None: no domain indicator can match them.
    """
    rest = url[url.find("://") + 3 :]
    host = rest[: rest.find("/")].rpartition("@")[2]
    if host[:1] == "[":
        return "ipv6", host[1 : host.find("]")]
    host = host.partition(":")[0]
    if "." not in host:
        return None
    if host[-1].isdigit() and host.replace(".", "").isdigit():
        return "ipv4", host
    return "domain", host
