"""Judging candidates: each pattern match is checked for its kind and normalised, or dropped.

One handler per kind takes a match of its pattern (:mod:`intel.extract.patterns`) and returns
``(type, canonical value, start, end)`` or None. Candidates go through
:func:`intel.normalize.normalize` and are dropped when it refuses them (a hash, already known to
be 32, 40 or 64 hex characters, is only lowercased). The kind-specific rules:

* Bare domains need a TLD from :data:`~intel.extract.tlds.KNOWN_TLDS`, written all-lowercase or
  all-uppercase (so ``System.Net`` is not a domain). TLDs that are also everyday file extensions
  count only when the domain is defanged (see :mod:`intel.extract.tlds`). Bare domains are
  ASCII only (punycode is fine); IDN hosts are found inside URLs.
* URLs found in prose need a dotted host (a domain or an IP): ``hxxp://evil [.] com`` is
  broken by its spaces and yields the domain ``evil.com`` rather than ``http://evil/``.
  Trailing ``).,;:!?'"*`` (and unbalanced closing brackets) are not part of a URL.
* A hex string is a hash only when it has both digits and letters (all digits is an ID, no
  digits is a word); an IPv6 candidate needs a digit (``dead::beef`` is prose).
"""

from __future__ import annotations

import re
import unicodedata

from intel.extract.patterns import _RAW_TLD_RX
from intel.extract.tlds import _FILE_EXT_TLDS, KNOWN_TLDS
from intel.normalize import NormalizationError, normalize

_URL_TRAILING = frozenset(".,;:!?'\"*\u2026")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_MAX_CANDIDATE = 16384

_Found = tuple[str, str, int, int]  # type, value, start, end


def _is_defanged(raw: str) -> bool:
    return "[" in raw or "(" in raw or "{" in raw or "\\" in raw


def _norm(raw: str, type_: str | None) -> tuple[str, str] | None:
    try:
        return normalize(raw, type_)
    except NormalizationError:
        return None


def _trim_url(raw: str) -> str:
    counts: dict[str, int] = {}
    for closer, opener in _CLOSERS.items():
        if closer in raw:
            counts[closer] = raw.count(closer)
            counts[opener] = raw.count(opener)
    end = len(raw)
    while end:
        c = raw[end - 1]
        if c in _URL_TRAILING:
            end -= 1
        elif c in _CLOSERS and counts[c] > counts[_CLOSERS[c]]:
            counts[c] -= 1
            end -= 1
        else:
            break
    return raw[:end]


def _url(m: re.Match[str], text: str) -> _Found | None:
    if m.end() - m.start() > _MAX_CANDIDATE:
        return None
    raw = _trim_url(m.group())
    found = _norm(raw, "url")
    # In prose a single-label host is a broken-up defanged URL ("hxxp://evil [.] com").
    if found is None:
        return None
    host = _url_host(found[1])
    if "." not in host and not host.startswith("["):
        return None
    return "url", found[1], m.start(), m.start() + len(raw)


def _email(m: re.Match[str], text: str) -> _Found | None:
    if m.end() - m.start() > 600 or text[m.end() : m.end() + 1] == "-":
        return None
    raw_tld = _RAW_TLD_RX.search(m.group())
    if raw_tld is None or raw_tld.group().lower() not in KNOWN_TLDS:
        return None
    found = _norm(m.group(), "email")
    if found is None:
        return None
    return "email", found[1], m.start(), m.end()


def _domain(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    if len(raw) > 300 or text[m.end() : m.end() + 1] in ("-", "@"):
        return None
    raw_tld = _RAW_TLD_RX.search(raw)
    if raw_tld is None:
        return None
    tld = raw_tld.group()
    if not (tld.islower() or tld.isupper()):  # "System.Net", "sentence.It"
        return None
    tld = tld.lower()
    if tld not in KNOWN_TLDS or (tld in _FILE_EXT_TLDS and not _is_defanged(raw)):
        return None
    found = _norm(raw, "domain")
    if found is None:
        return None
    return "domain", found[1], m.start(), m.end()


def _ip(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    if "/" in raw:
        found = _norm(raw, None)
        if found is not None and found[0] in ("cidr", "ipv4", "ipv6"):
            return found[0], found[1], m.start(), m.end()
        raw = raw.partition("/")[0]
    is_v6 = ":" in raw
    if is_v6 and not any(c.isdigit() for c in raw):  # "dead::beef", "::" are prose, not IPs
        return None
    found = _norm(raw, "ipv6" if is_v6 else "ipv4")
    if found is None:
        return None
    return found[0], found[1], m.start(), m.start() + len(raw)


def _hash(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    kind = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(raw))
    # All digits (an ID) or no digit at all (a word): random hex is neither.
    if kind is None or raw.isdigit() or not any(c.isdigit() for c in raw):
        return None
    return kind, raw.lower(), m.start(), m.end()


def _wallet(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    n = len(raw)
    if raw[:2] in ("0x", "0X") or raw[:3].lower() == "bc1":
        if raw[:3].lower() == "bc1" and n not in (42, 62):
            return None
    elif not ((26 <= n <= 35 and raw[0] in "13") or 47 <= n <= 48) or not (
        any(c.isupper() for c in raw)
        and any(c.islower() for c in raw)
        and any(c.isdigit() for c in raw[1:])
    ):
        return None
    found = _norm(raw, "crypto_wallet")
    if found is None:
        return None
    return "crypto_wallet", found[1], m.start(), m.end()


def _phone(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    if not 8 <= sum(c.isdigit() for c in raw) <= 15:
        return None
    found = _norm(raw, "phone")
    if found is None:
        return None
    return "phone", found[1], m.start(), m.end()


def _mention(m: re.Match[str], text: str) -> _Found | None:
    if text[m.end() : m.end() + 1] in ("@", "-"):
        return None
    raw = m.group().rstrip(".")
    if len(raw) > 31:
        return None
    found = _norm(raw, "account")
    if found is None:
        return None
    return "account", found[1], m.start(), m.start() + len(raw)


def _tag_char_ok(c: str) -> bool:
    return c.isalnum() or c == "_" or c in "\u200c\u200d" or unicodedata.category(c)[0] == "M"


def _hashtag(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    cut, limit = 1, min(len(raw), 141)
    while cut < limit and _tag_char_ok(raw[cut]):
        cut += 1
    raw = raw[:cut]
    if len(raw) < 2 or len(raw) > 140:
        return None
    found = _norm(raw, "hashtag")
    if found is None:
        return None
    return "hashtag", found[1], m.start(), m.start() + len(raw)


def _url_host(url: str) -> str:
    authority = url.partition("://")[2].partition("/")[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host
    return host.partition(":")[0]
