"""The `url_anatomy` enricher: how a URL's or domain's host is built, and what it imitates.

The registered domain and public suffix come from the Public Suffix List bundled with `tld`
(read from disk, never fetched). Look-alikes are judged on the registered label (the part
before the suffix) against brand domains: the allowlist's domain entries plus
`automation/data/brands.txt`. Both sides are reduced to a skeleton: accents dropped, Cyrillic
and Greek letters that look Latin mapped (`automation/data/confusables.txt`), then `0`→`o`,
`1`→`l`, `rn`→`m` and the like. A label is a look-alike when its skeleton equals the brand's
(homoglyph), is one edit away (typo), carries the brand as a hyphenated word (combo,
`paypal-login`) or puts the brand in a subdomain label (`paypal.com.evil.example`). A host
under the brand's own registered domain is never a look-alike of that brand.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from contextlib import suppress
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import idna
from tld import get_tld

from automation.enrichers.base import Enricher, register
from intel.allowlist import url_host
from intel.models import AllowlistEntry, IndicatorType

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MIN_HOMOGLYPH_LENGTH = 3  # brand labels shorter than this match too much to be useful
MIN_TYPO_LENGTH = 5  # one edit away from a short label is half the dictionary

# ASCII look-alikes, applied in order after the confusable letters.
_ASCII_TRICKS = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("3", "e"), ("5", "s"))


def _read_list(filename: str) -> list[str]:
    lines = (DATA_DIR / filename).read_text(encoding="utf-8").splitlines()
    return [line.strip().lower() for line in lines if line.strip() and line[0] != "#"]


@lru_cache(maxsize=1)
def _confusables() -> dict[int, str]:
    """Look-alike letters -> ASCII (`automation/data/confusables.txt`), for `str.translate`."""
    table = {}
    for line in _read_list("confusables.txt"):
        code, letter = line.split()[:2]
        table[int(code.removeprefix("u+"), 16)] = letter
    return table


@lru_cache(maxsize=1)
def url_shorteners() -> frozenset[str]:
    """Domains of common URL shorteners (`automation/data/url_shorteners.txt`)."""
    return frozenset(_read_list("url_shorteners.txt"))


@lru_cache(maxsize=1)
def builtin_brands() -> tuple[str, ...]:
    """Brand domains often impersonated (`automation/data/brands.txt`)."""
    return tuple(_read_list("brands.txt"))


def brand_domains() -> list[str]:
    """The brands look-alikes are checked against: built-in ones plus allowlisted domains."""
    allowlisted = AllowlistEntry.objects.filter(kind=AllowlistEntry.Kind.DOMAIN).values_list(
        "value", flat=True
    )
    return sorted(set(builtin_brands()) | set(allowlisted))


@lru_cache(maxsize=4096)
def split_host(host: str) -> tuple[str, str, str, bool]:
    """(registered domain, public suffix, subdomain, suffix known) of an ASCII host name.

    A suffix missing from the Public Suffix List (`.example`, `.internal`) falls back to the
    last label, with `suffix known` False.
    """
    found = get_tld(host, fix_protocol=True, fail_silently=True, as_object=True)
    if found is not None:
        return found.fld, found.tld, found.subdomain, True
    labels = host.split(".")
    return ".".join(labels[-2:]), labels[-1], ".".join(labels[:-2]), False


def to_unicode(host: str) -> str:
    """``host`` with its punycode (``xn--``) labels decoded; undecodable labels stay as they are."""
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                with suppress(UnicodeError):
                    label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def skeleton(text: str) -> str:
    """The ASCII shape ``text`` shows a reader: accents dropped, look-alike letters mapped."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    shape = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_confusables())
    for trick, letter in _ASCII_TRICKS:
        shape = shape.replace(trick, letter)
    return shape


def scripts(text: str) -> list[str]:
    """The writing systems of the letters in ``text`` (LATIN, CYRILLIC, GREEK...)."""
    return sorted({unicodedata.name(c, "UNKNOWN").split()[0] for c in text if c.isalpha()})


def one_edit_apart(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns ``a`` into ``b``."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def _label(registered: str, suffix: str) -> str:
    return registered[: -len(suffix) - 1] if registered.endswith("." + suffix) else registered


@lru_cache(maxsize=4096)
def _brand_shape(brand: str) -> tuple[str, str, str]:
    """(registered domain, Unicode label, skeleton) of a brand domain (brands repeat a lot)."""
    registered, suffix, _, _ = split_host(brand)
    label = to_unicode(_label(registered, suffix))
    return registered, label, skeleton(label)


def lookalikes(host: str, brands: list[str]) -> list[dict[str, str]]:
    """The brands ``host`` (ASCII, punycode) imitates, each with how: homoglyph, typo, combo or
    subdomain. A host under a brand's own registered domain imitates nothing of that brand."""
    registered, suffix, subdomain, _ = split_host(host)
    label = to_unicode(_label(registered, suffix))
    shape = skeleton(label)
    words = {skeleton(word) for word in label.split("-")} if "-" in label else set()
    sub_labels = {skeleton(part) for part in to_unicode(subdomain).split(".") if part}
    found: dict[str, str] = {}
    for brand in brands:
        brand_registered, brand_label, brand_shape = _brand_shape(brand)
        if registered == brand_registered or len(brand_shape) < MIN_HOMOGLYPH_LENGTH:
            continue
        kind = None
        if shape == brand_shape and label != brand_label:
            kind = "homoglyph"
        elif len(brand_shape) >= MIN_TYPO_LENGTH and one_edit_apart(shape, brand_shape):
            kind = "typo"
        elif len(brand_shape) >= MIN_TYPO_LENGTH and brand_shape in words:
            kind = "combo"
        elif brand_shape in sub_labels:
            kind = "subdomain"
        if kind:
            found.setdefault(brand_registered, kind)
    return [{"brand": brand, "kind": kind} for brand, kind in found.items()]


def is_ip_address(host: str) -> bool:
    """``host`` is an IPv4 or IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_anatomy(host: str, brands: list[str]) -> dict[str, Any]:
    """Registered domain, suffix, depth, IDN, look-alikes and shortener facts of one host."""
    if is_ip_address(host):
        return {"host": host, "is_ip": True, "is_lookalike": False, "lookalikes": []}
    registered, suffix, subdomain, known = split_host(host)
    unicode_host = to_unicode(host)
    similar = lookalikes(host, brands)
    return {
        "host": host,
        "is_ip": False,
        "registered_domain": registered,
        "public_suffix": suffix,
        "is_known_suffix": known,
        "subdomain": subdomain,
        "subdomain_depth": len(subdomain.split(".")) if subdomain else 0,
        "is_idn": unicode_host != host,
        "unicode_host": unicode_host,
        "scripts": scripts(unicode_host),
        "is_lookalike": bool(similar),
        "lookalikes": similar,
        "is_shortener": host in url_shorteners() or registered in url_shorteners(),
    }


def url_parts(url: str) -> dict[str, Any]:
    """Scheme, explicit port and whether userinfo hides the real host (``paypal.com@evil``)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return {"scheme": parts.scheme, "port": port, "has_userinfo": "@" in parts.netloc}


@register
class UrlAnatomy(Enricher):
    """Registered domain, suffix, subdomain depth, IDN, brand look-alikes and shorteners."""

    name = "url_anatomy"
    applies_to = frozenset({IndicatorType.URL, IndicatorType.DOMAIN})
    ttl_seconds = 7 * 86400

    batchable = True

    def enrich(self, type_: str, value: str) -> dict[str, Any]:
        """The anatomy of a normalised URL or domain."""
        return self._anatomy(type_, value, brand_domains())

    def enrich_many(self, indicators: list[Any]) -> dict[int, dict[str, Any] | Exception]:
        """The anatomy of each indicator, reading the brand list once for the batch."""
        brands = brand_domains()
        answers: dict[int, dict[str, Any] | Exception] = {}
        for indicator in indicators:
            try:
                answers[indicator.pk] = self._anatomy(indicator.type, indicator.value, brands)
            except Exception as exc:
                answers[indicator.pk] = exc
        return answers

    @staticmethod
    def _anatomy(type_: str, value: str, brands: list[str]) -> dict[str, Any]:
        host = url_host(value) if type_ == IndicatorType.URL else value
        facts = host_anatomy(host.lower().rstrip("."), brands)
        if type_ == IndicatorType.URL:
            facts.update(url_parts(value))
        return facts
