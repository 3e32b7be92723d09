"""URL indicators.

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
"""

from __future__ import annotations

import re
from functools import lru_cache

from intel.normalize.domains import _canonical_domain
from intel.normalize.errors import NormalizationError
from intel.normalize.ips import _ipv6_text, _norm_ipv4, _parse_ipv6
from intel.normalize.refang import MAX_LENGTH

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

_WS_RE = re.compile(r"\s")
_SCHEME_COLON_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HOSTPORT_RE = re.compile(r"[^/?#:@\[]+:[0-9]*(?:[/?#]|\Z)")
_PCT_LOWER_RE = re.compile(r"%(?:[a-f][0-9A-Fa-f]|[0-9A-F][a-f])")
_URL_RE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?:(?P<userinfo>[^/?#]*)@)?"
    r"(?P<host>\[[^\]/?#]*\]|[^/?#:]*)"
    r"(?::(?P<port>[^/?#]*))?"
    r"(?P<rest>[/?#].*)?",
    re.S,
)


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
    if len(out) > MAX_LENGTH or len(out.encode("utf-8")) > MAX_LENGTH:
        raise NormalizationError(f"URL longer than {MAX_LENGTH} bytes")
    return out


def _upper_match(m: re.Match[str]) -> str:
    return m.group().upper()
