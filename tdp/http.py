"""The one outbound HTTP client of TDP.

Feeds, TAXII collections, enrichers and webhooks all fetch through this module, so the rules for
talking to the outside world live in one place:

* only ``http`` and ``https`` URLs; TLS always verified (system CA store, ``SSL_CERT_FILE``
  honoured);
* the host is resolved once, every resolved address is checked against the SSRF policy, and the
  connection is made to the checked IP itself (``Host`` header and TLS SNI/hostname check keep the
  original name), so a second DNS answer cannot point somewhere else (DNS rebinding);
* loopback, private, shared (CGNAT), reserved and non-public addresses are refused unless private
  URLs are allowed (argument ``allow_private`` or the Django setting ``TDP_ALLOW_PRIVATE_URLS``);
  link-local, multicast, unspecified addresses and cloud metadata endpoints are refused always;
* redirects are followed by hand, each hop parsed, resolved and checked again; headers set by the
  caller (API keys) are only carried to the same origin;
* one wall-clock deadline (``timeout``) covers DNS, connect, TLS, headers and body, enforced by a
  watchdog that shuts the socket down, so a server that drips bytes cannot hold a worker;
* bodies are capped by ``max_bytes`` (a declared ``Content-Length`` is refused up front, the
  stream is cut as soon as the cap is passed, the decompressed size is what counts);
* every failure is a :class:`TransportError` whose ``reason`` is short, names at most the host, and
  never contains header values, query strings, credentials or bodies. Logs follow the same rule.

Non-2xx statuses are not errors: callers get a :class:`Response` and decide.
"""

from __future__ import annotations

import base64
import codecs
import http.client
import io
import ipaddress
import json as _json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin

import urllib3.exceptions
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import HTTPResponse
from urllib3.util import parse_url
from urllib3.util.ssl_match_hostname import CertificateError

__all__ = [
    "USER_AGENT",
    "BlockedAddressError",
    "Response",
    "StreamResponse",
    "TransportError",
    "check_url",
    "request",
    "stream",
]

logger = logging.getLogger(__name__)

USER_AGENT = "TDP/1.0 (+threat-intel workbench)"

# CA bundle for TLS verification; None means the system store (what OpenSSL finds, honouring
# SSL_CERT_FILE / SSL_CERT_DIR). Tests point it at a throwaway CA.
_CA_CERTS: str | None = None

_DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
# Framing and routing headers are the client's business; caller values for these are ignored.
_MANAGED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# The only caller headers that follow a redirect to another origin (no credentials, no API keys).
_CROSS_ORIGIN_HEADERS = frozenset(
    {
        "user-agent",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-type",
        "content-encoding",
    }
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CHECK_URL_TIMEOUT = 10.0

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_METHOD = re.compile(r"^[A-Z]+$")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TransportError(Exception):
    """Any failure to get a response: bad URL, refused address, DNS, TLS, timeout, size, protocol.

    ``reason`` (also ``str(exc)``) is short and safe to show to users and to log: it names at most
    the host and never contains header values, query strings, credentials or body content.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedAddressError(TransportError):
    """The destination was refused by the SSRF policy, e.g. because it resolves to a private IP."""


# --------------------------------------------------------------------------------------------
# Address policy
# --------------------------------------------------------------------------------------------

# Refused even when private URLs are allowed: nothing legitimate lives there, credentials do.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack instance metadata
        "169.254.170.2",  # AWS ECS task metadata / credentials
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure WireServer (public-looking, reachable only from inside Azure)
        "192.0.0.192",  # Oracle Cloud legacy metadata
    )
)


def _nets(
    *pairs: tuple[str, str],
) -> tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.ip_network(net), why) for net, why in pairs)


_ALWAYS_BLOCKED = _nets(
    ("0.0.0.0/8", "an unspecified address"),
    ("169.254.0.0/16", "a link-local address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),  # includes 255.255.255.255
    ("::/128", "an unspecified address"),
    ("fe80::/10", "a link-local address"),
    ("ff00::/8", "a multicast address"),
)

_PRIVATE = _nets(
    ("127.0.0.0/8", "a loopback address"),
    ("10.0.0.0/8", "a private address"),
    ("172.16.0.0/12", "a private address"),
    ("192.168.0.0/16", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("192.0.0.0/24", "a reserved address"),
    ("192.0.2.0/24", "a reserved address"),
    ("192.88.99.0/24", "a reserved address"),
    ("198.18.0.0/15", "a reserved address"),
    ("198.51.100.0/24", "a reserved address"),
    ("203.0.113.0/24", "a reserved address"),
    ("::1/128", "a loopback address"),
    ("::/96", "a reserved address"),  # deprecated IPv4-compatible addresses
    ("fc00::/7", "a private address"),
    ("fec0::/10", "a reserved address"),  # deprecated site-local
    ("64:ff9b:1::/48", "a private address"),  # local-use NAT64
    ("100::/64", "a reserved address"),
    ("2001::/23", "a reserved address"),
    ("2001:db8::/32", "a reserved address"),
)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """IPv4 addresses that an IPv6 address wraps, each with a label of the wrapping kind."""
    if ip.ipv4_mapped is not None:
        return [("an IPv4-mapped form of", ip.ipv4_mapped)]
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        found.append(("a 6to4 address wrapping", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("a Teredo address wrapping", server), ("a Teredo address wrapping", client)]
    if ip in _NAT64:
        found.append(("a NAT64 address wrapping", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


def _refusal(ip: IPAddress, allow_private: bool) -> str | None:
    """Why ``ip`` may not be contacted (a phrase like "a private address"), or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).partition("%")[0])
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        for kind, inner in _embedded_ipv4(ip):
            why = _refusal(inner, allow_private)
            if why:
                return f"{kind} {inner}, {why}"
        if ip.ipv4_mapped is not None:
            return None  # the connection really goes to the IPv4 address just checked
    for net, why in _ALWAYS_BLOCKED:
        if ip in net:
            return why
    if allow_private:
        return None
    for net, why in _PRIVATE:
        if ip in net:
            return why
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local:
        return "a non-public address"
    return None


def _private_allowed(explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    try:
        if not settings.configured:
            return False
        return bool(getattr(settings, "TDP_ALLOW_PRIVATE_URLS", False))
    except (ImproperlyConfigured, ImportError):
        return False


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Deadline, resolution, connection
# --------------------------------------------------------------------------------------------


class _Deadline:
    def __init__(self, timeout: float) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.timeout = timeout
        self.at = time.monotonic() + timeout

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def timed_out(self, host: str) -> TransportError:
        return TransportError(f"timed out after {self.timeout:g} s ({host})")

    def remaining(self, host: str) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.timed_out(host)
        return left


class _Watchdog:
    """Shuts the current socket down when the deadline passes, unblocking any read or handshake.

    Per-operation socket timeouts alone don't bound the total time: a server sending one byte a
    second never trips them.
    """

    def __init__(self, deadline: _Deadline) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._conn: HTTPConnection | None = None
        self.fired = False
        self._timer = threading.Timer(max(deadline.at - time.monotonic(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, conn: HTTPConnection, sock: socket.socket | None = None) -> None:
        with self._lock:
            self._conn = conn
            self._socks = [sock] if sock is not None else []
            if self.fired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        socks = list(self._socks)
        if self._conn is not None and self._conn.sock is not None:
            socks.append(self._conn.sock)
        for sock in socks:
            # The base-class method acts on the file descriptor without touching TLS state that
            # the reading thread is using.
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._conn = None
            self._socks = []


def _resolve(target: _Target, deadline: _Deadline) -> list[IPAddress]:
    """Resolve the host in a helper thread so a hanging resolver can't outlive the deadline."""
    if target.ip is not None:
        return [target.ip]
    outcome: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM))
        except Exception as exc:  # handed to the waiting thread
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="tdp-http-dns", daemon=True).start()
    if not done.wait(deadline.remaining(target.host)):
        raise TransportError(f"timed out after {deadline.timeout:g} s resolving {target.host}")
    result = outcome[0]
    if isinstance(result, Exception):
        raise TransportError(f"cannot resolve {target.host}") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in result:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise TransportError(f"cannot resolve {target.host}")
    return addresses


def _checked_addresses(
    target: _Target, allow_private: bool, deadline: _Deadline
) -> list[IPAddress]:
    """Resolve and apply the SSRF policy; ANY refused address refuses the whole host."""
    if target.ip is not None:
        why = _refusal(target.ip, allow_private)
        if why:
            raise BlockedAddressError(f"{target.host} is {why}")
        return [target.ip]
    addresses = _resolve(target, deadline)
    for ip in addresses:
        why = _refusal(ip, allow_private)
        if why:
            raise BlockedAddressError(f"{target.host} resolves to {ip}, {why}")
    return addresses


def _root_causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe(
    exc: BaseException, target: _Target, deadline: _Deadline, fired: bool, phase: str
) -> str:
    """A short, secret-free description of a network exception."""
    host = target.host
    chain = list(_root_causes(exc))
    if fired or deadline.expired():
        return f"timed out after {deadline.timeout:g} s ({host})"
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or "verification failed"
            return f"TLS certificate of {host} was not accepted: {detail}"
        if isinstance(cause, CertificateError):
            return f"TLS certificate of {host} was not accepted: it does not match the host name"
    for cause in chain:
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {host} failed ({cause.reason or type(cause).__name__})"
    for cause in chain:
        if isinstance(cause, urllib3.exceptions.NewConnectionError):
            continue
        if isinstance(cause, TimeoutError | urllib3.exceptions.TimeoutError):
            return f"timed out after {deadline.timeout:g} s ({host})"
    if any(isinstance(c, urllib3.exceptions.DecodeError) for c in chain):
        return f"the compressed response from {host} could not be decoded"
    oserror = next((c for c in chain if isinstance(c, OSError) and c.strerror), None)
    detail = oserror.strerror if oserror is not None else None
    if phase == "connect":
        return f"could not connect to {host} port {target.port}" + (
            f" ({detail})" if detail else ""
        )
    if any(isinstance(c, http.client.IncompleteRead) for c in chain):
        return f"{host} closed the connection before the whole response was received"
    if any(isinstance(c, http.client.HTTPException) for c in chain) and detail is None:
        return f"{host} sent a malformed or incomplete HTTP response"
    return f"connection to {host} failed while {phase}" + (f" ({detail})" if detail else "")


_NETWORK_ERRORS = (
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    CertificateError,
)


@contextmanager
def _translated(
    target: _Target, deadline: _Deadline, watchdog: _Watchdog, phase: str
) -> Iterator[None]:
    try:
        yield
    except TransportError:
        raise
    except _NETWORK_ERRORS as exc:
        raise TransportError(_describe(exc, target, deadline, watchdog.fired, phase)) from exc


def _connect(
    target: _Target, addresses: list[IPAddress], deadline: _Deadline, watchdog: _Watchdog
) -> HTTPConnection:
    """Open a connection to the first reachable validated address (never to the name again)."""
    last_error: TransportError | None = None
    for ip in addresses:
        timeout = deadline.remaining(target.host)
        conn: HTTPConnection
        if target.scheme == "https":
            conn = HTTPSConnection(
                str(ip),
                target.port,
                timeout=timeout,
                cert_reqs="CERT_REQUIRED",
                ca_certs=_CA_CERTS,
                server_hostname=target.host,
            )
        else:
            conn = HTTPConnection(str(ip), target.port, timeout=timeout)
        watchdog.watch(conn)
        try:
            with _translated(target, deadline, watchdog, "connect"):
                conn.connect()
        except TransportError as exc:
            conn.close()
            if watchdog.fired or deadline.expired():
                raise
            last_error = exc
            continue
        watchdog.watch(conn, conn.sock)
        return conn
    raise last_error or TransportError(f"cannot resolve {target.host}")


# --------------------------------------------------------------------------------------------
# Requests and redirects
# --------------------------------------------------------------------------------------------

_Headers = dict[str, tuple[str, str]]  # lower-case name -> (name as given, value)


def _prepare_headers(headers: Mapping[str, str] | None) -> _Headers:
    merged: _Headers = {name.lower(): (name, value) for name, value in _DEFAULT_HEADERS.items()}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise TransportError("a request header has an invalid name")
        if not isinstance(value, str) or any(ch in value for ch in "\r\n\0"):
            raise TransportError(f"request header {name} has an invalid value")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise TransportError(f"request header {name} has a non-Latin-1 value") from None
        if name.lower() not in _MANAGED_HEADERS:
            merged[name.lower()] = (name, value)
    return merged


def _wire_headers(headers: _Headers, target: _Target) -> dict[str, str]:
    wire = {name: value for name, value in headers.values()}
    wire["Host"] = target.host_header
    if target.auth is not None and "authorization" not in headers:
        token = base64.b64encode(target.auth.encode("utf-8")).decode("ascii")
        wire["Authorization"] = f"Basic {token}"
    return wire


def _lower_headers(resp: HTTPResponse) -> dict[str, str]:
    return {name.lower(): value for name, value in resp.headers.itermerged()}


@dataclass
class _Exchange:
    resp: HTTPResponse
    conn: HTTPConnection
    sock: socket.socket | None
    target: _Target
    url: str
    headers: dict[str, str]


def _send(
    method: str,
    target: _Target,
    headers: _Headers,
    body: bytes | None,
    allow_private: bool,
    deadline: _Deadline,
    watchdog: _Watchdog,
) -> tuple[HTTPConnection, socket.socket | None, HTTPResponse]:
    addresses = _checked_addresses(target, allow_private, deadline)
    conn = _connect(target, addresses, deadline, watchdog)
    sock = conn.sock
    try:
        with _translated(target, deadline, watchdog, "sending the request"):
            conn.timeout = deadline.remaining(target.host)
            conn.request(
                method,
                target.request_uri,
                body=body,
                headers=_wire_headers(headers, target),
                preload_content=False,
                decode_content=True,
            )
        with _translated(target, deadline, watchdog, "waiting for the response"):
            conn.timeout = deadline.remaining(target.host)
            resp = conn.getresponse()
        if watchdog.fired:
            raise deadline.timed_out(target.host)
    except BaseException:
        conn.close()
        raise
    return conn, sock, resp


def _open(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    json: Any,
    max_redirects: int,
    allow_private: bool | None,
    deadline: _Deadline,
    watchdog: _Watchdog,
) -> _Exchange:
    """Send the request, following redirects by hand; returns the final, unread response."""
    method = method.upper()
    if not _METHOD.match(method):
        raise TransportError("HTTP method is invalid")
    prepared = _prepare_headers(headers)
    if json is not None:
        if body is not None:
            raise ValueError("pass either body or json, not both")
        body = _json.dumps(json).encode("utf-8")
        prepared.setdefault("content-type", ("Content-Type", "application/json"))
    allowed = _private_allowed(allow_private)
    target = _parse(url)

    for hop in range(max_redirects + 1):
        started = time.monotonic()
        try:
            conn, sock, resp = _send(method, target, prepared, body, allowed, deadline, watchdog)
        except TransportError as exc:
            if hop and isinstance(exc, BlockedAddressError):
                raise BlockedAddressError(f"redirect refused: {exc.reason}") from None
            raise
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info("%s %s -> %s in %.0f ms", method, target.host, resp.status, elapsed_ms)
        location = resp.headers.get("location")
        if resp.status not in _REDIRECT_STATUSES or not location:
            return _Exchange(resp, conn, sock, target, url, _lower_headers(resp))
        resp.close()
        conn.close()
        if hop == max_redirects:
            break
        next_url = urljoin(url, location)
        try:
            next_target = _parse(next_url)
        except BlockedAddressError as exc:
            raise BlockedAddressError(f"redirect refused: {exc.reason}") from None
        except TransportError as exc:
            raise TransportError(f"redirect refused: {exc.reason}") from None
        if resp.status in (301, 302, 303) and method != "HEAD":
            method = "GET"
            body = None
            prepared = {k: v for k, v in prepared.items() if not k.startswith("content-")}
        if next_target.origin != target.origin:
            prepared = {k: v for k, v in prepared.items() if k in _CROSS_ORIGIN_HEADERS}
        url, target = next_url, next_target
    raise TransportError(f"too many redirects (more than {max_redirects})")


# --------------------------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------------------------


class _BodyReader:
    """Reads a response body within the size cap and the deadline."""

    def __init__(
        self, ex: _Exchange, max_bytes: int, deadline: _Deadline, watchdog: _Watchdog
    ) -> None:
        self._ex = ex
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._watchdog = watchdog
        self._count = 0
        self._eof = False

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (decoded), b"" at the end of the body."""
        if self._eof:
            return b""
        host = self._ex.target.host
        want = max(1, min(size, self._max_bytes - self._count + 1))
        left = self._deadline.remaining(host)
        if self._ex.sock is not None:
            with suppress(OSError):
                self._ex.sock.settimeout(left)
        with _translated(self._ex.target, self._deadline, self._watchdog, "reading the response"):
            data = self._ex.resp.read1(want)
        if self._watchdog.fired:
            raise self._deadline.timed_out(host)
        if not data:
            self._eof = True
            return b""
        self._count += len(data)
        if self._count > self._max_bytes:
            raise TransportError(f"response exceeds {self._max_bytes} bytes")
        return data


class _RawBody(io.RawIOBase):
    def __init__(self, reader: _BodyReader) -> None:
        super().__init__()
        self._reader = reader
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not self._pending:
            self._pending = self._reader.read(len(view))
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _check_declared_length(ex: _Exchange, max_bytes: int) -> None:
    declared = ex.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise TransportError(
            f"response declares {int(declared)} bytes, over the {max_bytes} byte limit"
        )


@dataclass
class Response:
    """A complete response. Non-2xx statuses are returned, not raised: callers decide."""

    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    url: str  # final URL, after redirects

    def __repr__(self) -> str:  # no URL (query strings may hold keys), no body
        return f"<Response {self.status} from {_display_host(self.url)}, {len(self.body)} bytes>"

    def text(self) -> str:
        """The body decoded with the charset from Content-Type (UTF-8 if none or unknown)."""
        match = re.search(r"charset=[\"']?([\w.:-]+)", self.headers.get("content-type", ""), re.I)
        encoding = "utf-8"
        if match:
            with suppress(LookupError):
                encoding = codecs.lookup(match.group(1)).name
        return self.body.decode(encoding, errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; a body that isn't JSON raises TransportError."""
        try:
            return _json.loads(self.body)
        except ValueError:
            raise TransportError(
                f"response from {_display_host(self.url)} is not valid JSON"
            ) from None


class StreamResponse:
    """A response whose body is read incrementally, within ``max_bytes`` and the deadline.

    Use either :meth:`iter_bytes` or :meth:`as_file`, once; both raise TransportError when the body
    passes ``max_bytes`` or the deadline passes.
    """

    def __init__(self, ex: _Exchange, reader: _BodyReader) -> None:
        self.status: int = ex.resp.status
        self.headers: dict[str, str] = ex.headers
        self.url: str = ex.url
        self._reader = reader

    def __repr__(self) -> str:
        return f"<StreamResponse {self.status} from {_display_host(self.url)}>"

    def iter_bytes(self, chunk_size: int = 65536) -> Iterator[bytes]:
        """Yield the (decompressed) body in chunks of at most ``chunk_size`` bytes."""
        while chunk := self._reader.read(chunk_size):
            yield chunk

    def as_file(self) -> io.BufferedReader:
        """A binary file object (``read(n)``, ``readline()``...) for streaming parsers.

        Wrap it in ``io.TextIOWrapper`` for text parsers such as ``csv``.
        """
        return io.BufferedReader(_RawBody(self._reader), buffer_size=65536)


def _display_host(url: str, fallback: str = "the server") -> str:
    try:
        return _parse(url).host
    except TransportError:
        return fallback


@contextmanager
def _exchange(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    json: Any,
    timeout: float,
    max_bytes: int,
    max_redirects: int,
    allow_private: bool | None,
) -> Iterator[StreamResponse]:
    if not _METHOD.match(method.upper()):
        raise TransportError("HTTP method is invalid")
    deadline = _Deadline(timeout)
    watchdog = _Watchdog(deadline)
    try:
        try:
            ex = _open(
                method, url, headers, body, json, max_redirects, allow_private, deadline, watchdog
            )
        except TransportError as exc:
            logger.warning("%s %s failed: %s", method.upper(), _display_host(url, "-"), exc.reason)
            raise
        try:
            _check_declared_length(ex, max_bytes)
            yield StreamResponse(ex, _BodyReader(ex, max_bytes, deadline, watchdog))
        except TransportError as exc:
            logger.warning("%s %s failed: %s", method.upper(), ex.target.host, exc.reason)
            raise
        finally:
            ex.resp.close()
            ex.conn.close()
    finally:
        watchdog.cancel()


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    json: Any = None,
    timeout: float = 10.0,
    max_bytes: int = 10 * 1024**2,
    max_redirects: int = 5,
    allow_private: bool | None = None,
) -> Response:
    """Send one HTTP request and return the whole response.

    ``timeout`` is the total wall-clock budget in seconds (DNS, connect, TLS, redirects and body).
    ``json`` is serialised as the body with ``Content-Type: application/json`` unless the caller
    sets another. Caller headers override the defaults (``User-Agent``, ``Accept-Encoding``) but
    only follow redirects within the same origin. ``allow_private=None`` reads the Django setting
    ``TDP_ALLOW_PRIVATE_URLS``. Raises :class:`TransportError` (or :class:`BlockedAddressError`)
    on any failure; a 4xx/5xx status is a normal :class:`Response`.
    """
    with _exchange(
        method,
        url,
        headers=headers,
        body=body,
        json=json,
        timeout=timeout,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        allow_private=allow_private,
    ) as resp:
        content = b"".join(resp.iter_bytes())
        return Response(status=resp.status, headers=resp.headers, body=content, url=resp.url)


@contextmanager
def stream(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    json: Any = None,
    timeout: float = 30.0,
    max_bytes: int = 2 * 1024**3,
    max_redirects: int = 5,
    allow_private: bool | None = None,
) -> Iterator[StreamResponse]:
    """Send one HTTP request and yield a :class:`StreamResponse` whose body is read on demand.

    Same rules as :func:`request`; ``timeout`` covers the whole exchange including the time spent
    consuming the body inside the ``with`` block. The connection is closed when the block exits.

        with http.stream("GET", feed.url, timeout=300) as resp:
            if resp.status == 200:
                for record in parse(resp.as_file()):
                    ...
    """
    with _exchange(
        method,
        url,
        headers=headers,
        body=body,
        json=json,
        timeout=timeout,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        allow_private=allow_private,
    ) as resp:
        yield resp


def check_url(url: str, *, allow_private: bool | None = None, resolve: bool = True) -> None:
    """Validate a URL up front (forms): scheme, host syntax, resolution and the address policy.

    Raises :class:`BlockedAddressError` when the host is, or resolves to, a refused address and
    :class:`TransportError` for anything else wrong. Passing is no guarantee for later: DNS may
    change, which is why :func:`request` checks again at connect time. With `resolve=False` host
    names are not looked up (configuration kept in files is checked offline); IP literals still
    meet the address policy.
    """
    target = _parse(url)
    if not resolve and target.ip is None:
        return
    _checked_addresses(target, _private_allowed(allow_private), _Deadline(_CHECK_URL_TIMEOUT))
