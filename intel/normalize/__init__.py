"""Canonical forms and type detection for threat indicators.

This package is the ONE place that decides what an indicator value looks like once stored:
importers, the matcher, the API and the extractor all go through :func:`normalize`, so two
spellings of the same indicator always end up as the same row. It is pure Python (no Django).

Public API
----------
``TYPES``                      every indicator type TDP knows.
``normalize(value, type_)``    -> ``(type, canonical value)``; type detected when ``type_`` is None.
``detect_type(value)``         shape-based guess on one refanged, stripped value (or None).
``refang(text)``               undo the usual defanging (``hxxp``, ``[.]``, ``[at]`` ...).
``normalize_many(pairs)``      streaming variant that yields errors instead of raising.
``registered_domain_suffixes`` a host and all its parent domains, for domain+subdomain matching.
``NormalizationError``         ``ValueError`` with a short human ``.reason``.

Canonical forms (one rule each; every rule has a test in tests/intel/test_normalize.py)
---------------------------------------------------------------------------------------
Every value (except ``keyword``, which is taken literally) is refanged, then trimmed of
whitespace, quotes and angle brackets. Empty values, control characters and values longer than
2048 characters are rejected (:mod:`~intel.normalize.refang`). Each type's rule is documented
in the module that applies it:

``url``                                               :mod:`intel.normalize.urls`
``domain``                                            :mod:`intel.normalize.domains`
``ipv4``, ``ipv6``, ``cidr``                          :mod:`intel.normalize.ips`
``md5``, ``sha1``, ``sha256``, ``pdq``                :mod:`intel.normalize.hashes`
``email``, ``phone``, ``account``, ``crypto_wallet``  :mod:`intel.normalize.identities`
``hashtag``, ``keyword``                              :mod:`intel.normalize.words`
detecting the type when none is given                 :mod:`intel.normalize.detect`
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from intel.normalize.detect import _undetectable_reason, detect_type
from intel.normalize.domains import _norm_domain, registered_domain_suffixes
from intel.normalize.errors import NormalizationError
from intel.normalize.hashes import _norm_hash
from intel.normalize.identities import _norm_account, _norm_email, _norm_phone, _norm_wallet
from intel.normalize.ips import _norm_cidr, _norm_ipv4, _norm_ipv6
from intel.normalize.refang import MAX_LENGTH, _prepare, refang
from intel.normalize.urls import URL_SCHEMES, _norm_url
from intel.normalize.urls import _url_host as _url_host  # bench/normalize.py clears its cache
from intel.normalize.words import _norm_hashtag, _norm_keyword

__all__ = [
    "MAX_LENGTH",
    "TYPES",
    "URL_SCHEMES",
    "NormalizationError",
    "detect_type",
    "normalize",
    "normalize_many",
    "refang",
    "registered_domain_suffixes",
]

TYPES: tuple[str, ...] = (
    "url",
    "domain",
    "ipv4",
    "ipv6",
    "cidr",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "email",
    "phone",
    "account",
    "hashtag",
    "keyword",
    "crypto_wallet",
)
_TYPE_SET = frozenset(TYPES)

_SIMPLE_NORMALIZERS = {
    "url": _norm_url,
    "domain": _norm_domain,
    "ipv4": _norm_ipv4,
    "ipv6": _norm_ipv6,
    "email": _norm_email,
    "phone": _norm_phone,
    "account": _norm_account,
    "hashtag": _norm_hashtag,
    "crypto_wallet": _norm_wallet,
}


def _normalize(value: str, type_: str | None) -> tuple[str, str]:
    if type_ is not None and type_ not in _TYPE_SET:
        raise NormalizationError(f"unknown indicator type {type_!r}")
    if type_ == "keyword":
        if not isinstance(value, str):
            raise NormalizationError(f"value must be a string, got {type(value).__name__}")
        if len(value) > MAX_LENGTH:
            raise NormalizationError(f"value longer than {MAX_LENGTH} characters")
        return "keyword", _norm_keyword(value)
    v = _prepare(value)
    explicit = type_ is not None
    if type_ is None:
        type_ = detect_type(v)
        if type_ is None:
            raise NormalizationError(_undetectable_reason(v))
    try:
        func = _SIMPLE_NORMALIZERS.get(type_)
        if func is not None:
            return type_, func(v)
        if type_ == "cidr":
            return _norm_cidr(v, explicit=explicit)
        return type_, _norm_hash(v, type_)
    except NormalizationError as exc:
        exc.type_ = type_  # the detected type, when it was detected
        raise


def normalize(value: str, type_: str | None = None) -> tuple[str, str]:
    """Return ``(type, canonical value)`` for one indicator value.

    ``type_`` must be one of :data:`TYPES` or None to detect it from the value (see
    :func:`detect_type`). Raises :class:`NormalizationError` (a ``ValueError``) with a short
    ``reason`` when the value is not a valid indicator of that type; nothing is ever guessed.
    """
    try:
        return _normalize(value, type_)
    except NormalizationError as exc:
        if exc.value is None:
            exc.value = value if isinstance(value, str) else repr(value)
        if exc.type_ is None:
            exc.type_ = type_
        raise


def normalize_many(
    values: Iterable[tuple[str, str | None]],
) -> Iterator[tuple[str, str] | NormalizationError]:
    """Normalise ``(value, type_ or None)`` pairs, yielding a result or the error for each.

    Order and count are preserved, so callers can zip the output with their input rows.
    Errors carry ``.value`` and ``.type_`` of the offending pair.
    """
    norm = _normalize
    error = NormalizationError
    for value, type_ in values:
        try:
            yield norm(value, type_)
        except error as exc:
            if exc.value is None:
                exc.value = value if isinstance(value, str) else repr(value)
            if exc.type_ is None:
                exc.type_ = type_
            yield exc
