"""Find threat indicators in free text: reports, emails, chat logs, defanged or not.

:func:`extract_indicators` scans text once per indicator kind with linear-time regular
expressions that tolerate defanging (``hxxp``, ``[.]``, ``(dot)``, ``[at]``, ``[:]``...), then
hands each candidate to :func:`intel.normalize.normalize`; only values that normalise are
returned. Offsets always refer to the original text, so a UI can highlight ``evil[.]com``
exactly where the analyst pasted it.

Rules
-----
* Kinds found: URLs (known schemes, defanged or not), bare domains, IPv4 (``1.2.3[.]4``),
  IPv6, CIDRs, md5/sha1/sha256 hex strings, emails (``bad[at]evil[.]com``), E.164 phone
  numbers written with ``+``, ``@mentions``, ``#hashtags`` and crypto wallets (ETH ``0x``,
  BTC bech32 and base58, Substrate SS58). ``keyword`` and ``pdq`` are never extracted.
* Overlaps: the higher-priority kind wins (URL > email > IPv6 > IPv4/CIDR > ETH > hash >
  other wallets > phone > domain > account > hashtag), so nothing nested inside an emitted
  URL or email (its host, a hash in its path) is emitted separately. A domain that is the
  host of an emitted URL or the domain of an emitted email is not emitted anywhere.
* Results are deduplicated by ``(type, value)``, keeping the first occurrence, and returned
  in text order.
* ``types`` limits which kinds are looked for; kinds that are not looked for do not shadow
  the others (``types={"domain"}`` finds ``evil.example`` inside ``http://evil.example/``).

What a match must satisfy to count as its kind (the TLD rules for bare domains, dotted hosts
for URLs in prose, trailing punctuation) is in :mod:`intel.extract.candidates`, the TLD list in
:mod:`intel.extract.tlds`, and how the patterns stay linear-time (1 MB of text in well under a
second) in :mod:`intel.extract.patterns`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Collection
from dataclasses import dataclass

from intel.extract.candidates import (
    _domain,
    _email,
    _Found,
    _hash,
    _hashtag,
    _ip,
    _mention,
    _phone,
    _url,
    _url_host,
    _wallet,
)
from intel.extract.patterns import (
    _BASE58_RX,
    _BECH32_RX,
    _DOMAIN_RX,
    _EMAIL_RX,
    _ETH_RX,
    _HASHTAG_RX,
    _HEX_RX,
    _IPV4_RX,
    _IPV6_RX,
    _MENTION_RX,
    _PHONE_RX,
    _URL_RX,
)
from intel.extract.tlds import KNOWN_TLDS
from intel.normalize import TYPES

__all__ = ["KNOWN_TLDS", "Extracted", "extract_indicators"]


@dataclass(frozen=True, slots=True)
class Extracted:
    """One indicator found in text.

    ``value`` is the canonical form (as :func:`intel.normalize.normalize` returns it),
    ``raw`` is exactly ``text[start:end]`` of the original, possibly defanged, text.
    """

    type: str
    value: str
    raw: str
    start: int
    end: int


_Handler = Callable[[re.Match[str], str], _Found | None]

# (pattern, handler, kinds it can produce) in priority order: earlier wins an overlap.
_RULES: tuple[tuple[re.Pattern[str], _Handler, frozenset[str]], ...] = (
    (_URL_RX, _url, frozenset({"url"})),
    (_EMAIL_RX, _email, frozenset({"email"})),
    (_IPV6_RX, _ip, frozenset({"ipv6", "cidr"})),
    (_IPV4_RX, _ip, frozenset({"ipv4", "cidr"})),
    (_ETH_RX, _wallet, frozenset({"crypto_wallet"})),
    (_HEX_RX, _hash, frozenset({"md5", "sha1", "sha256"})),
    (_BECH32_RX, _wallet, frozenset({"crypto_wallet"})),
    (_BASE58_RX, _wallet, frozenset({"crypto_wallet"})),
    (_PHONE_RX, _phone, frozenset({"phone"})),
    (_DOMAIN_RX, _domain, frozenset({"domain"})),
    (_MENTION_RX, _mention, frozenset({"account"})),
    (_HASHTAG_RX, _hashtag, frozenset({"hashtag"})),
)


def extract_indicators(text: str, *, types: Collection[str] | None = None) -> list[Extracted]:
    """Return the indicators found in ``text``, normalised, deduplicated, in text order.

    ``types`` restricts the search to those indicator types (names from
    :data:`intel.normalize.TYPES`; unknown names raise ``ValueError``). Each result keeps
    the raw text and its ``[start, end)`` offsets in ``text`` as given (not refanged).
    """
    wanted: frozenset[str] | None = None
    if types is not None:
        wanted = frozenset(types)
        unknown = wanted.difference(TYPES)
        if unknown:
            raise ValueError(f"unknown indicator type(s): {', '.join(sorted(unknown))}")

    # Accepted spans, kept sorted by start; higher-priority rules run first.
    starts: list[int] = []
    ends: list[int] = []
    accepted: list[_Found] = []
    for pattern, handler, kinds in _RULES:
        if wanted is not None and wanted.isdisjoint(kinds):
            continue
        fresh: list[_Found] = []
        for m in pattern.finditer(text):
            found = handler(m, text)
            if found is None or (wanted is not None and found[0] not in wanted):
                continue
            start, end = found[2], found[3]
            i = bisect_right(starts, start)
            if i and ends[i - 1] > start:
                continue
            if i < len(starts) and starts[i] < end:
                continue
            fresh.append(found)
        if fresh:
            accepted.extend(fresh)
            accepted.sort(key=lambda f: f[2])
            starts = [f[2] for f in accepted]
            ends = [f[3] for f in accepted]

    covered_hosts: set[str] = set()
    for kind, value, _start, _end in accepted:
        if kind == "url":
            covered_hosts.add(_url_host(value))
        elif kind == "email":
            covered_hosts.add(value.rpartition("@")[2])

    seen: set[tuple[str, str]] = set()
    out: list[Extracted] = []
    for kind, value, start, end in accepted:
        key = (kind, value)
        if key in seen or (kind == "domain" and value in covered_hosts):
            continue
        seen.add(key)
        out.append(Extracted(kind, value, text[start:end], start, end))
    return out
