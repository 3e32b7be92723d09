"""Resolving, checking and connecting: the only code that opens sockets.

The host is resolved once (in a helper thread, so a hanging resolver can't outlive the
deadline), every resolved address is checked against the SSRF policy (:mod:`tdp.http.policy`;
one refused address refuses the whole host), and the connection is made to the checked IP itself
while the ``Host`` header and the TLS SNI/hostname check keep the original name, so a second DNS
answer cannot point somewhere else (DNS rebinding). TLS is always verified against the system CA
store (``SSL_CERT_FILE`` honoured). Network exceptions become :class:`TransportError` with a
reason that names at most the host.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.ssl_match_hostname import CertificateError

from tdp.http.deadline import _Deadline, _Watchdog
from tdp.http.errors import BlockedAddressError, TransportError
from tdp.http.policy import IPAddress, _refusal
from tdp.http.urls import _Target

# CA bundle for TLS verification; None means the system store (what OpenSSL finds, honouring
# SSL_CERT_FILE / SSL_CERT_DIR). Tests point it at a throwaway CA.
_CA_CERTS: str | None = None


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
