"""Parsing and validating the URLs the client is asked to fetch.

Only ``http`` and ``https`` URLs with a syntactically valid host are accepted. Host names whose
last label is numeric (``2130706433``, ``0x7f.1``, ``127.1``) are IPv4 addresses in spellings
that resolvers disagree on, so they are refused: IP addresses must be plain dotted quads (or
bracketed IPv6). Error messages never echo the URL, which may hold credentials or API keys.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote

import urllib3.exceptions
from urllib3.util import parse_url

from tdp.http.errors import BlockedAddressError, TransportError
from tdp.http.policy import IPAddress

_DEFAULT_PORTS = {"http": 80, "https": 443}

_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # lower-case ASCII name or IP literal, without brackets
    port: int
    ip: IPAddress | None  # set when the host is an IP literal
    host_header: str
    request_uri: str
    auth: str | None  # "user:password" from the URL, percent-decoded

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def _parse(url: str) -> _Target:
    """Parse and validate a URL; errors never echo the URL (it may hold credentials or keys)."""
    if not isinstance(url, str) or not url:
        raise TransportError("URL is empty")
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise TransportError("URL contains spaces or control characters")
    try:
        parsed = parse_url(url)
    except (urllib3.exceptions.LocationParseError, ValueError):
        raise TransportError("URL is malformed") from None
    scheme = (parsed.scheme or "").lower()
    if not scheme or "://" not in url:
        raise TransportError("URL has no scheme; use http:// or https://")
    if scheme not in _DEFAULT_PORTS:
        raise TransportError(f"URL scheme {scheme[:20]!r} is not allowed; use http or https")
    if not parsed.host:
        raise TransportError("URL has no host")
    raw_host = parsed.host
    bracketed = raw_host.startswith("[")
    host = raw_host.strip("[]")
    if "%" in host:
        raise TransportError("URL host must not contain a zone index or percent-encoding")
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise TransportError("URL port is out of range")

    ip: IPAddress | None = None
    try:
        ip = ipaddress.ip_address(host.rstrip(".") if not bracketed else host)
    except ValueError:
        if bracketed:
            raise TransportError(f"URL host [{host[:60]}] is not an IPv6 address") from None
    if ip is not None:
        host = host.rstrip(".")  # keep the spelling the user wrote, for messages and Host
    else:
        _check_hostname(host)

    literal = f"[{host}]" if isinstance(ip, ipaddress.IPv6Address) else host
    host_header = literal if parsed.port in (None, _DEFAULT_PORTS[scheme]) else f"{literal}:{port}"
    return _Target(
        scheme=scheme,
        host=host,
        port=port,
        ip=ip,
        host_header=host_header,
        request_uri=parsed.request_uri or "/",
        auth=unquote(parsed.auth) if parsed.auth else None,
    )


def _check_hostname(host: str) -> None:
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    # A name whose last label is numeric is an IPv4 address in some non-canonical spelling
    # (2130706433, 0x7f.1, 127.1, 0177.0.0.1): resolvers disagree on those, so refuse them.
    if _NUMERIC_LABEL.match(labels[-1]):
        raise BlockedAddressError(
            f"{host[:60]} is not a valid host name; write IP addresses as plain dotted quads"
        )
    if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise TransportError(f"{host[:60]!r} is not a valid host name")


def _display_host(url: str, fallback: str = "the server") -> str:
    """The host of ``url`` for messages and reprs (never the rest of the URL), or ``fallback``."""
    try:
        return _parse(url).host
    except TransportError:
        return fallback
