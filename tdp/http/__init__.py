"""The one outbound HTTP client of TDP.

Feeds, TAXII collections, enrichers and webhooks all fetch through this package, so the rules for
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

This package is the public API (:func:`request`, :func:`stream`, :func:`check_url`); the rules
live in its modules:

``policy``       which IP addresses are refused, and why;
``urls``         parsing and validating URLs;
``connection``   resolving, checking every address, connecting to the checked IP, TLS;
``deadline``     the one wall-clock budget and the watchdog that enforces it;
``exchange``     request headers, sending, following redirects by hand;
``responses``    :class:`Response`, :class:`StreamResponse` and the capped body readers;
``errors``       :class:`TransportError` and :class:`BlockedAddressError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tdp.http.connection import _checked_addresses
from tdp.http.deadline import _Deadline, _Watchdog
from tdp.http.errors import BlockedAddressError, TransportError
from tdp.http.exchange import _METHOD, USER_AGENT, _open
from tdp.http.policy import _private_allowed
from tdp.http.responses import Response, StreamResponse, _BodyReader, _check_declared_length
from tdp.http.urls import _display_host, _parse

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

_CHECK_URL_TIMEOUT = 10.0


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
