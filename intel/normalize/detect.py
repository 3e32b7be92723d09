"""Type detection: which indicator type a value looks like, judged on its shape alone.

Detection only picks the type; the type's own rule then accepts or rejects the value, so a
value that looks like an IPv4 address but has a leading zero is reported as a bad ``ipv4``
rather than as "unknown". ``keyword`` and ``pdq`` are never detected (64 hex characters are
``sha256``), ``host/path`` without a scheme is not a URL, and an auto-detected ``/32``
(``/128``) CIDR becomes an address (see :mod:`intel.normalize.ips`).
"""

from __future__ import annotations

import re

from intel.normalize.domains import _canonical_domain
from intel.normalize.errors import NormalizationError
from intel.normalize.hashes import _HASH_BY_LENGTH, _HEX_RE
from intel.normalize.identities import _BECH32_RE, _BTC_B58_RE, _ETH_RE, _HANDLE_RE, _SS58_RE
from intel.normalize.urls import _WS_RE
from intel.normalize.words import _has_letter, _valid_tag_body

_IPV4_SHAPE = re.compile(r"[0-9]+(?:\.[0-9]+){3}")
_IPV6_SHAPE = re.compile(r"\[?[0-9A-Fa-f:.]{2,45}\]?")  # plus at least two colons
_CIDR_SHAPE = re.compile(r"(?:[0-9]+(?:\.[0-9]+){3}|\[?[0-9A-Fa-f:.]{2,45}\]?)/[0-9]+")
_SCHEME_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_EMAIL_SHAPE = re.compile(r"(?:mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+", re.I)
_PHONE_SHAPE = re.compile(r"\+[0-9 ().\-]+")
_DOMAIN_SHAPE = re.compile(r"(?:\*\.)?(?:[A-Za-z0-9_-]+\.)+[A-Za-z0-9_-]+\.?")


def detect_type(value: str) -> str | None:
    """Say which indicator type a single value looks like, or None when nothing fits.

    ``value`` should already be refanged and stripped (:func:`normalize` does that). The
    check is on shape only: ``010.0.0.1`` is detected as ``ipv4`` and ``*.x.example`` as
    ``domain`` so that :func:`normalize` can then say precisely what is wrong with them.
    ``keyword`` and ``pdq`` are never detected; ``host/path`` without a scheme is not a URL.
    """
    if not value:
        return None
    first = value[0]
    if first == "+":
        if _PHONE_SHAPE.fullmatch(value) and 8 <= sum(c.isdigit() for c in value) <= 15:
            return "phone"
        return None
    if first == "@":
        return "account" if _HANDLE_RE.fullmatch(value, 1) else None
    if first == "#":
        return "hashtag" if len(value) > 1 and _valid_tag_body(value[1:]) else None
    if "://" in value:
        return "url" if _SCHEME_URL_RE.match(value) else None
    if "@" in value:
        return "email" if _EMAIL_SHAPE.fullmatch(value) else None
    if " " in value:
        return None
    if _ETH_RE.fullmatch(value):
        return "crypto_wallet"
    if _HEX_RE.fullmatch(value):
        kind = _HASH_BY_LENGTH.get(len(value))
        if kind is not None:
            return kind
    if "/" in value:
        if _CIDR_SHAPE.fullmatch(value) and (value.count(":") >= 2 or ":" not in value):
            return "cidr"
        return None
    if ":" in value:
        return "ipv6" if value.count(":") >= 2 and _IPV6_SHAPE.fullmatch(value) else None
    if _IPV4_SHAPE.fullmatch(value):
        return "ipv4"
    if "." not in value:
        if _is_wallet_shape(value):
            return "crypto_wallet"
        return None
    if value.isascii():
        if _DOMAIN_SHAPE.fullmatch(value) and not value.rstrip(".").rpartition(".")[2].isdigit():
            return "domain"
        return None
    try:
        _canonical_domain(value, require_dot=True)
    except NormalizationError:
        return None
    return "domain"


def _is_wallet_shape(value: str) -> bool:
    if value[:3].lower() == "bc1":
        return bool(_BECH32_RE.fullmatch(value.lower()))
    if _BTC_B58_RE.fullmatch(value) or _SS58_RE.fullmatch(value):
        return _has_letter(value)
    return False


def _undetectable_reason(v: str) -> str:
    if "/" in v and "://" not in v:
        return "looks like host/path without a scheme; give type 'url' to treat it as one"
    if _WS_RE.search(v):
        return "could not tell what kind of indicator this is (contains spaces)"
    return "could not tell what kind of indicator this is"
