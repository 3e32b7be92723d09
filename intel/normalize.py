"""Canonical forms and type detection for threat indicators.

This module is the ONE place that decides what an indicator value looks like once stored:
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
8192 characters are rejected.

url
    ``scheme://[userinfo@]host[:port]/path[?query]``. Scheme lowercased and must be one of
    ``URL_SCHEMES``. Host lowercased, IDN -> punycode (UTS46), trailing dot dropped; IPv4 hosts
    in dotted-quad form, IPv6 hosts bracketed and compressed. Default ports dropped (http 80,
    https 443, ftp 21, ws 80, wss 443); ``host:`` (empty port) counts as default. Fragment
    dropped. Userinfo kept verbatim (it is evidence: ``http://paypal.com@evil.example/``).
    Path and query kept exactly, except that hex digits of existing percent-escapes are
    uppercased (RFC 3986 6.2.2.1); nothing is decoded or newly encoded. An empty path becomes
    ``/`` (so ``http://h`` and ``http://h/`` are the same indicator) and an empty query (a
    bare trailing ``?``) is dropped. Whitespace anywhere in a URL is rejected.
    Detection needs ``scheme://``; ``host/path`` is never auto-detected, but
    ``normalize(v, "url")`` adds ``http://`` when the scheme is missing (the host must then
    contain a dot or be an IP, so ``mailto:x`` or ``intranet/x`` are not turned into URLs).
domain
    Lowercase, IDN -> punycode, trailing dot dropped, at least one dot, labels of letters,
    digits, hyphens (not at the ends) and underscores (real DNS names such as
    ``_dmarc.x.example`` or ``foo_bar.duckdns.org`` carry them), each <= 63 characters, total
    <= 253, top-level label not all-numeric. Special-use TLDs (``.example``, ``.test``,
    ``.invalid``, ``.onion``) are valid. Wildcards (``*.x.example``) are rejected.
    Labels that IDNA2008 refuses but browsers resolve (emoji) fall back to plain punycode.
ipv4
    Dotted quad, no leading zeros (``010.0.0.1`` could be octal: rejected, never guessed).
    Private, reserved and documentation addresses are valid indicators. ``a.b.c.d/32`` is
    accepted and becomes the address.
ipv6
    Compressed lowercase (RFC 5952). IPv4-mapped addresses stay ``ipv6`` and are written
    ``::ffff:a.b.c.d`` (RFC 5952 section 5, and identical on every Python version).
    Brackets are removed; zone ids (``%eth0``) are rejected.
cidr
    Network form (``10.1.2.3/8`` -> ``10.0.0.0/8``). When auto-detected, a ``/32`` (``/128``)
    is really an address and becomes ``ipv4`` (``ipv6``); with ``type_="cidr"`` it stays cidr.
md5 / sha1 / sha256 / pdq
    Lowercase hex of exactly 32 / 40 / 64 / 64 characters. 64 hex characters are detected as
    ``sha256``; ``pdq`` only when asked for explicitly.
email
    ``local@domain``, exactly one ``@``; ``mailto:`` prefix removed; domain as for ``domain``.
    The local part is lowercased too: abuse matching across platforms is case-insensitive.
phone
    E.164 (``+14155550100``) via ``phonenumbers``. A ``+`` or ``00`` international prefix is
    required; numbers must be *possible* for their country (length check), not necessarily
    assigned. Letters (vanity numbers) and extensions are rejected.
account
    ``@handle`` lowercased, handle ``[a-z0-9_.]{1,30}``. ``normalize("Name", "account")``
    adds the ``@``.
hashtag
    ``#tag``, NFC then casefolded; letters (any script), marks, digits, ``_`` and the
    zero-width (non-)joiner; at least one letter; at most 139 characters after ``#``.
keyword
    Only when asked for explicitly. NFC, casefolded, whitespace collapsed, 1-200 characters.
    Not refanged and quotes are not stripped: a keyword is matched literally.
crypto_wallet
    ETH ``0x`` + 40 hex, lowercased. BTC bech32 ``bc1...`` (42 or 62 characters; upper-case
    QR form lowercased, mixed case rejected). BTC base58 ``1...``/``3...`` (26-35
    characters) and Substrate SS58 (47-48 characters) are case-sensitive and kept as given;
    character set and length are checked, checksums are not.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import idna
import phonenumbers

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

MAX_LENGTH = 8192
"""Longest value (and longest canonical URL) accepted, in characters."""

URL_SCHEMES: frozenset[str] = frozenset(
    {
        "http",
        "https",
        "ftp",
        "ftps",
        "sftp",
        "ws",
        "wss",
        "tcp",
        "udp",
        "ssh",
        "telnet",
        "smb",
        "rtsp",
        "rtmp",
        "irc",
        "ircs",
        "ldap",
        "ldaps",
        "git",
        "svn",
        "rdp",
        "vnc",
        "gopher",
        "tftp",
        "nntp",
        "socks",
        "socks4",
        "socks5",
        "ssl",
        "tls",
    }
)
"""Schemes accepted in a URL indicator; anything else is rejected rather than guessed at."""

_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


class NormalizationError(ValueError):
    """A value that cannot be turned into a canonical indicator.

    ``reason`` is a short human-readable sentence fragment suitable for an import report,
    e.g. ``"not a valid IPv4 address"``. ``value`` and ``type_`` (filled in by
    :func:`normalize`; ``type_`` is the detected type when none was given, or None when
    nothing could be detected) say what was being normalised; ``str(error)`` is the reason.
    """

    def __init__(self, reason: str, *, value: str | None = None, type_: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value
        self.type_ = type_

    def __reduce__(self) -> tuple[type[NormalizationError], tuple[str], dict[str, object]]:
        """Keep ``value``/``type_`` across pickling (RQ jobs pickle exceptions)."""
        return (type(self), (self.reason,), dict(self.__dict__))


# --------------------------------------------------------------------------- refang

_REFANG_HINT = re.compile(r"[\[({\\]|[hf]xx?ps?[\[({]?:", re.I)
_REFANG_RE = re.compile(
    r"""
      \b(?P<scheme>hxxps?|fxps?)(?=[\[({]?:)
    | [ \t]?[\[({][ \t]?(?P<dot>\.|dot)[ \t]?[\])}][ \t]?
    | [ \t]?[\[({][ \t]?(?P<at>at|@)[ \t]?[\])}][ \t]?
    | [\[({](?P<sep>://|:|//|/)[\])}]
    | \\(?P<bsdot>\.)
    """,
    re.I | re.X,
)
_SCHEME_FANGS = {"hxxp": "http", "hxxps": "https", "fxp": "ftp", "fxps": "ftps"}


def _refang_repl(m: re.Match[str]) -> str:
    kind = m.lastgroup
    if kind == "scheme":
        return _SCHEME_FANGS[m.group("scheme").lower()]
    if kind == "dot" or kind == "bsdot":
        return "."
    if kind == "at":
        return "@"
    return m.group("sep")


# Whitespace of every kind, invisible characters that ride along in copy-paste, quotes and
# angle brackets: trimmed from both ends of a value.
_TRIM = (
    "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
    + "\u200b\u200c\u200d\u2060\ufeff"
    + "\"'`<>\u2018\u2019\u201c\u201d\u00ab\u00bb"
)


def refang(text: str) -> str:
    """Undo common defanging and trim surrounding whitespace, quotes and angle brackets.

    ``hxxp``/``hXXps``/``fxp`` schemes (only when followed by ``:``), ``[.]`` ``(.)`` ``{.}``
    ``[dot]`` ``(dot)`` (bracketed forms only, so prose "dot" is untouched), ``[:]``
    ``[://]`` ``[/]``, ``[at]`` ``(at)`` ``[@]`` and ``\\.`` become their plain characters.
    Works on a single value or on running text.
    """
    if _REFANG_HINT.search(text):
        text = _REFANG_RE.sub(_refang_repl, text)
    return text.strip(_TRIM)


# --------------------------------------------------------------------------- shapes

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WS_RE = re.compile(r"\s")
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_IPV4_RE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
_IPV4_SHAPE = re.compile(r"[0-9]+(?:\.[0-9]+){3}")
_IPV6_SHAPE = re.compile(r"\[?[0-9A-Fa-f:.]{2,45}\]?")  # plus at least two colons
_CIDR_SHAPE = re.compile(r"(?:[0-9]+(?:\.[0-9]+){3}|\[?[0-9A-Fa-f:.]{2,45}\]?)/[0-9]+")
_SCHEME_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_SCHEME_COLON_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HOSTPORT_RE = re.compile(r"[^/?#:@\[]+:[0-9]*(?:[/?#]|\Z)")
_EMAIL_SHAPE = re.compile(r"(?:mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+", re.I)
_PHONE_SHAPE = re.compile(r"\+[0-9 ().\-]+")
_PHONE_CHARS = re.compile(r"\+[0-9 ().\-/]+")
_HANDLE_RE = re.compile(r"[A-Za-z0-9_.]{1,30}")
_ASCII_TAG_RE = re.compile(r"[A-Za-z0-9_]+")
_DOMAIN_SHAPE = re.compile(r"(?:\*\.)?(?:[A-Za-z0-9_-]+\.)+[A-Za-z0-9_-]+\.?")
_LOCAL_RE = re.compile(r"[^\s@<>()\[\]\\,;:\"]+")
_PCT_LOWER_RE = re.compile(r"%(?:[a-f][0-9A-Fa-f]|[0-9A-F][a-f])")

_ETH_RE = re.compile(r"0[xX][0-9A-Fa-f]{40}")
_BECH32_CHARS = "02-9ac-hj-np-z"
_BECH32_RE = re.compile(rf"bc1(?:[{_BECH32_CHARS}]{{39}}|[{_BECH32_CHARS}]{{59}})")
_B58 = "1-9A-HJ-NP-Za-km-z"
_BTC_B58_RE = re.compile(rf"[13][{_B58}]{{25,34}}")
_SS58_RE = re.compile(rf"[{_B58}]{{47,48}}")

_DOMAIN_RE = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
)
_URL_RE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?:(?P<userinfo>[^/?#]*)@)?"
    r"(?P<host>\[[^\]/?#]*\]|[^/?#:]*)"
    r"(?::(?P<port>[^/?#]*))?"
    r"(?P<rest>[/?#].*)?",
    re.S,
)

_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}


def _has_letter(s: str) -> bool:
    return any(c.isalpha() for c in s)


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


# --------------------------------------------------------------------------- per type


def _norm_ipv4(v: str) -> str:
    m = _IPV4_RE.fullmatch(v)
    if m is None:
        addr, slash, prefix = v.partition("/")
        if slash and prefix == "32":
            return _norm_ipv4(addr)
        if slash:
            raise NormalizationError("an IPv4 address has no prefix length; use type 'cidr'")
        raise NormalizationError("not a valid IPv4 address")
    for octet in m.groups():
        if len(octet) > 1 and octet[0] == "0":
            raise NormalizationError(
                f"not a valid IPv4 address: octet {octet!r} has a leading zero "
                "(octal or decimal? not guessed)"
            )
        if int(octet) > 255:
            raise NormalizationError(f"not a valid IPv4 address: octet {octet} is above 255")
    return v


def _ipv6_text(addr: ipaddress.IPv6Address) -> str:
    mapped = addr.ipv4_mapped
    if mapped is not None:
        return f"::ffff:{mapped}"
    return addr.compressed


def _parse_ipv6(v: str) -> ipaddress.IPv6Address:
    if v.startswith("[") and v.endswith("]"):
        v = v[1:-1]
    if "%" in v:
        raise NormalizationError("IPv6 zone ids (%...) are not part of an indicator")
    if not v.isascii():
        raise NormalizationError("not a valid IPv6 address")
    try:
        return ipaddress.IPv6Address(v)
    except ValueError:
        raise NormalizationError("not a valid IPv6 address") from None


def _norm_ipv6(v: str) -> str:
    addr, slash, prefix = v.partition("/")
    if slash:
        if prefix != "128":
            raise NormalizationError("an IPv6 address has no prefix length; use type 'cidr'")
        v = addr
    return _ipv6_text(_parse_ipv6(v))


def _norm_cidr(v: str, *, explicit: bool) -> tuple[str, str]:
    addr, slash, prefix = v.partition("/")
    if not slash:
        raise NormalizationError("a CIDR needs a /prefix length")
    if not (prefix.isascii() and prefix.isdigit()) or len(prefix) > 3:
        raise NormalizationError(f"CIDR prefix length must be a number, got {prefix!r}")
    bits = int(prefix)
    if ":" in addr:
        if bits > 128:
            raise NormalizationError(f"IPv6 prefix length must be 0-128, got {bits}")
        ip6 = _parse_ipv6(addr)
        if bits == 128 and not explicit:
            return "ipv6", _ipv6_text(ip6)
        net6 = ipaddress.IPv6Network((ip6, bits), strict=False)
        return "cidr", f"{_ipv6_text(net6.network_address)}/{bits}"
    if bits > 32:
        raise NormalizationError(f"IPv4 prefix length must be 0-32, got {bits}")
    ip4 = _norm_ipv4(addr)
    if bits == 32 and not explicit:
        return "ipv4", ip4
    net4 = ipaddress.IPv4Network((ip4, bits), strict=False)
    return "cidr", f"{net4.network_address}/{bits}"


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


@lru_cache(maxsize=65536)
def _url_host(host: str, require_dot: bool) -> str:
    """Canonical URL host (cached: feeds repeat the same hosts over and over)."""
    if host[0] == "[":
        if host[-1] != "]":
            raise NormalizationError("URL host has an unclosed '['")
        return f"[{_ipv6_text(_parse_ipv6(host))}]"
    if host.isascii():
        bare = host[:-1] if host[-1] == "." else host
        if bare.replace(".", "").isdigit():
            return _norm_ipv4(bare)
    return _canonical_domain(host, require_dot=require_dot, what="URL host")


def _norm_url(v: str) -> str:
    if " " in v or (not v.isprintable() and _WS_RE.search(v)):
        raise NormalizationError("URL contains whitespace")
    m = _URL_RE.fullmatch(v)
    added_scheme = False
    if m is None:
        if "://" in v:
            raise NormalizationError("not a valid URL")
        if v.startswith("//"):
            v = "http:" + v
        elif _SCHEME_COLON_RE.match(v) and not _HOSTPORT_RE.match(v):
            raise NormalizationError("a URL scheme must be followed by '://'")
        else:
            v = "http://" + v
        m = _URL_RE.fullmatch(v)
        if m is None:
            raise NormalizationError("not a valid URL")
        added_scheme = True
    scheme, userinfo, host, port, rest = m.groups()
    scheme = scheme.lower()
    if scheme not in URL_SCHEMES:
        raise NormalizationError(f"unsupported URL scheme {scheme!r}")
    if not host:
        raise NormalizationError("URL has no host")
    host = _url_host(host, added_scheme)
    port_text = ""
    if port:
        if not (port.isascii() and port.isdigit()) or len(port) > 5:
            raise NormalizationError(f"invalid URL port {port!r}")
        number = int(port)
        if number > 65535:
            raise NormalizationError(f"invalid URL port {number} (above 65535)")
        if _DEFAULT_PORTS.get(scheme) != number:
            port_text = f":{number}"
    if rest:
        cut = rest.find("#")
        if cut >= 0:
            rest = rest[:cut]
        if rest.endswith("?") and rest.find("?") == len(rest) - 1:
            rest = rest[:-1]
        if not rest or rest[0] != "/":
            rest = "/" + rest
        if "%" in rest:
            rest = _PCT_LOWER_RE.sub(_upper_match, rest)
    else:
        rest = "/"
    if userinfo:
        out = f"{scheme}://{userinfo}@{host}{port_text}{rest}"
    else:
        out = f"{scheme}://{host}{port_text}{rest}"
    if len(out) > MAX_LENGTH:
        raise NormalizationError(f"URL longer than {MAX_LENGTH} characters")
    return out


def _upper_match(m: re.Match[str]) -> str:
    return m.group().upper()


def _norm_hash(v: str, kind: str) -> str:
    want = _HASH_LENGTHS[kind]
    if len(v) != want:
        raise NormalizationError(f"{kind} must be {want} hex characters, got {len(v)}")
    if _HEX_RE.fullmatch(v) is None:
        raise NormalizationError(f"{kind} must contain only hex characters (0-9, a-f)")
    return v.lower()


def _norm_email(v: str) -> str:
    if v[:7].lower() == "mailto:":
        v = v[7:]
    if v.count("@") != 1:
        raise NormalizationError("an email address must contain exactly one '@'")
    local, _, domain = v.partition("@")
    if not local:
        raise NormalizationError("email address has an empty local part")
    if len(local) > 64:
        raise NormalizationError("email local part longer than 64 characters")
    if _LOCAL_RE.fullmatch(local) is None:
        raise NormalizationError("email local part contains whitespace or a forbidden character")
    if domain.startswith("["):
        raise NormalizationError("email addresses with an IP-literal domain are not supported")
    return f"{local.lower()}@{_canonical_domain(domain, require_dot=True, what='email domain')}"


@lru_cache(maxsize=16384)
def _norm_phone(v: str) -> str:
    """E.164 via phonenumbers (cached: parsing costs ~10 us and scam numbers repeat)."""
    if v.startswith("00"):
        v = "+" + v[2:]
    elif not v.startswith("+"):
        raise NormalizationError("a phone number needs its international prefix (+ or 00)")
    if _PHONE_CHARS.fullmatch(v) is None:
        raise NormalizationError(
            "a phone number may only contain digits, spaces, dots, dashes, slashes and "
            "parentheses after the '+'"
        )
    digits = sum(c.isdigit() for c in v)
    if digits > 15:
        raise NormalizationError(f"a phone number has at most 15 digits, got {digits}")
    try:
        number = phonenumbers.parse(v, None)
    except phonenumbers.NumberParseException:
        raise NormalizationError("not a valid international phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise NormalizationError(
            f"not a possible phone number for country code +{number.country_code}"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _norm_account(v: str) -> str:
    handle = v[1:] if v.startswith("@") else v
    if _HANDLE_RE.fullmatch(handle) is None:
        raise NormalizationError(
            "an account handle is 1-30 letters, digits, '_' or '.' after the '@'"
        )
    return "@" + handle.lower()


def _valid_tag_body(body: str) -> bool:
    if body.isascii():
        return bool(_ASCII_TAG_RE.fullmatch(body)) and _has_letter(body)
    return all(_tag_char_ok(c) for c in body) and _has_letter(body)


def _tag_char_ok(c: str) -> bool:
    """Letters and digits of any script, '_', combining marks and the zero-width (non-)joiner."""
    return c.isalnum() or c == "_" or c in "\u200c\u200d" or unicodedata.category(c)[0] == "M"


def _norm_hashtag(v: str) -> str:
    body = v[1:] if v.startswith("#") else v
    if not body:
        raise NormalizationError("a hashtag needs text after the '#'")
    body = unicodedata.normalize("NFC", body).casefold()
    if len(body) > 139:
        raise NormalizationError("a hashtag is at most 139 characters after the '#'")
    if not _valid_tag_body(body):
        raise NormalizationError(
            "a hashtag is letters, digits, marks and '_' after the '#', with at least one letter"
        )
    return "#" + body


def _norm_keyword(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise NormalizationError("empty value")
    if _CONTROL_RE.search(text):
        raise NormalizationError("value contains control characters")
    text = unicodedata.normalize("NFC", text).casefold()
    if len(text) > 200:
        raise NormalizationError(f"a keyword is at most 200 characters, got {len(text)}")
    return text


def _norm_wallet(v: str) -> str:
    if v[:2] in ("0x", "0X"):
        if _ETH_RE.fullmatch(v) is None:
            raise NormalizationError("an ETH address is '0x' followed by 40 hex characters")
        return v.lower()
    if v[:3].lower() == "bc1":
        lowered = v.lower()
        if v != lowered and v != v.upper():
            raise NormalizationError("a bech32 address must not mix upper and lower case")
        if _BECH32_RE.fullmatch(lowered) is None:
            raise NormalizationError(
                "a bech32 BTC address is 'bc1' plus 39 or 59 bech32 characters"
            )
        return lowered
    if _BTC_B58_RE.fullmatch(v) or _SS58_RE.fullmatch(v):
        return v
    raise NormalizationError(
        "not a recognised wallet address (BTC base58/bech32, ETH 0x..., Substrate SS58)"
    )


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


def _undetectable_reason(v: str) -> str:
    if "/" in v and "://" not in v:
        return "looks like host/path without a scheme; give type 'url' to treat it as one"
    if _WS_RE.search(v):
        return "could not tell what kind of indicator this is (contains spaces)"
    return "could not tell what kind of indicator this is"


def _prepare(value: str) -> str:
    if not isinstance(value, str):
        raise NormalizationError(f"value must be a string, got {type(value).__name__}")
    if len(value) > MAX_LENGTH:
        raise NormalizationError(f"value longer than {MAX_LENGTH} characters")
    head = value[:16].lower()
    if (
        "[" in value
        or "(" in value
        or "{" in value
        or "\\" in value
        or "xxp" in head
        or "fxp" in head
    ):
        value = _REFANG_RE.sub(_refang_repl, value)
    v = value.strip(_TRIM)
    if not v:
        raise NormalizationError("empty value")
    if not v.isprintable():
        bad = _CONTROL_RE.search(v)
        if bad is not None:
            raise NormalizationError(f"value contains a control character (U+{ord(bad[0]):04X})")
    return v


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
