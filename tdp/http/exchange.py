"""Sending a request and following redirects by hand.

Every hop is parsed, resolved and checked against the address policy again, so a redirect can't
lead the client somewhere a URL could not. Headers set by the caller (API keys) are only carried
to the same origin; to another origin only the harmless ones in ``_CROSS_ORIGIN_HEADERS`` follow.
``301``/``302``/``303`` turn the request into a ``GET`` without a body (except for ``HEAD``).
"""

from __future__ import annotations

import base64
import json as _json
import logging
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from urllib3.connection import HTTPConnection
from urllib3.response import HTTPResponse

from tdp.http.connection import _checked_addresses, _connect, _translated
from tdp.http.deadline import _Deadline, _Watchdog
from tdp.http.errors import BlockedAddressError, TransportError
from tdp.http.policy import _private_allowed
from tdp.http.urls import _parse, _Target

# The whole client logs as "tdp.http", whichever of its modules speaks.
logger = logging.getLogger("tdp.http")

USER_AGENT = "TDP/1.0 (+threat-intel workbench)"

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

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_METHOD = re.compile(r"^[A-Z]+$")

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
