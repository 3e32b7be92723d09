"""Domain indicators, the host rules URLs and email addresses share, and parent domains.

domain
    Lowercase, IDN -> punycode, trailing dot dropped, at least one dot, labels of letters,
    digits, hyphens (not at the ends) and underscores (real DNS names such as
    ``_dmarc.x.example`` or ``foo_bar.duckdns.org`` carry them), each <= 63 characters, total
    <= 253, top-level label not all-numeric. Special-use TLDs (``.example``, ``.test``,
    ``.invalid``, ``.onion``) are valid. Wildcards (``*.x.example``) are rejected.
    Labels that IDNA2008 refuses but browsers resolve (emoji) fall back to plain punycode.
"""

from __future__ import annotations

import re
from functools import lru_cache

import idna

from intel.normalize.errors import NormalizationError
from intel.normalize.ips import _IPV4_RE

_DOMAIN_RE = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
)


@lru_cache(maxsize=4096)
def _idna_to_ascii(host: str) -> str:
    """UTS46-map ``host`` and punycode its non-ASCII labels (raises idna.IDNAError)."""
    mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
    labels = mapped.split(".")
    for i, label in enumerate(labels):
        if label.isascii():
            continue
        try:
            labels[i] = idna.alabel(label).decode("ascii")
        except idna.IDNAError:
            # IDNA2008 refuses some labels browsers happily resolve (emoji); UTS46 already
            # rejected disallowed code points, so encode such a label plainly.
            labels[i] = "xn--" + label.encode("punycode").decode("ascii")
    return ".".join(labels)


def _domain_problem(d: str, what: str) -> str:
    if "*" in d:
        return f"wildcards are not allowed in a {what}; use the parent domain instead"
    for label in d.split("."):
        if not label:
            return f"{what} has an empty label"
        if len(label) > 63:
            return f"{what} label longer than 63 characters"
        if label[0] == "-" or label[-1] == "-":
            return f"{what} label starts or ends with a hyphen"
    for c in d:
        if not (c.isalnum() or c in "-_.") or not c.isascii():
            return f"{what} contains an invalid character {c!r}"
    return f"not a valid {what}"


def _canonical_domain(s: str, *, require_dot: bool, what: str = "domain") -> str:
    if s.isascii():
        d = s.lower()
    else:
        try:
            d = _idna_to_ascii(s)
        except (idna.IDNAError, UnicodeError) as exc:
            raise NormalizationError(f"not a valid internationalised {what}: {exc}") from None
    if d.endswith("."):
        d = d[:-1]
    if not d:
        raise NormalizationError(f"{what} is empty")
    if len(d) > 253:
        raise NormalizationError(f"{what} longer than 253 characters")
    if _DOMAIN_RE.fullmatch(d) is None:
        raise NormalizationError(_domain_problem(d, what))
    tld = d.rpartition(".")[2]
    if tld.isdigit():
        raise NormalizationError(f"{what} has an all-numeric top-level label")
    if "." not in d and require_dot:
        raise NormalizationError(f"{what} must contain at least one dot")
    if "_" in tld:
        raise NormalizationError(f"{what} has an underscore in its top-level label")
    return d


def _norm_domain(v: str) -> str:
    if "/" in v or ":" in v or "@" in v:
        raise NormalizationError(
            "not a domain (contains '/', ':' or '@'); use type 'url' or 'email'"
        )
    return _canonical_domain(v, require_dot=True)


def registered_domain_suffixes(host: str) -> list[str]:
    """Return ``host`` and each parent domain, longest first, for domain+subdomain matching.

    ``"a.b.evil.example"`` -> ``["a.b.evil.example", "b.evil.example", "evil.example",
    "example"]``. The host is lowercased, IDN hosts punycoded and a trailing dot dropped, so
    a URL host or a stored domain can be passed as is. IP addresses (and bracketed IPv6 URL
    hosts) have no parents and come back alone; an empty or invalid host gives ``[]``.
    """
    h = host.strip().rstrip(".")
    if not h:
        return []
    if not h.isascii():
        try:
            h = _idna_to_ascii(h)
        except (idna.IDNAError, UnicodeError):
            return []
    h = h.lower()
    if h[0] == "[" or ":" in h or _IPV4_RE.fullmatch(h):
        return [h]
    labels = h.split(".")
    if "" in labels:
        return []
    return [".".join(labels[i:]) for i in range(len(labels))]
