"""Admin-configured JSON-over-HTTP enrichers: one `automation.models.HttpEnricher` row each.

The row's `url_template` gets `{value}` (URL-quoted, `/` included), `{type}` and
`{value_b64}` (unpadded URL-safe base64 of the value, the id VirusTotal's `/urls/` endpoint
wants). The API key travels only in the configured header, through `tdp.http` (SSRF-safe,
one deadline, a size cap, headers never carried to another origin). Only the `fields` (dotted
paths, list items by index) are kept, nested as in the response, so playbook conditions can
test `"http:<name>.<path>"`. The key never reaches stored data, errors or logs: `tdp.http`
never puts header values in its errors, and anything stored is scrubbed of the key as well.

429, 5xx, timeouts and connection failures raise `TemporaryFailure` (retried with backoff);
other non-2xx answers, bodies that aren't JSON and refused addresses raise `HttpEnricherError`,
stored as the result's error.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, urlsplit

from automation.enrichers.base import Enricher, TemporaryFailure
from automation.models import HttpEnricher
from tdp import http

PREFIX = "http:"
MAX_BYTES = 1024**2
MAX_TIMEOUT = 60.0
MAX_RETRY_AFTER = 3600.0
REDACTED = "[redacted]"


class RateLimited(TemporaryFailure):
    """A provider's call budget is spent (ours, or it answered 429): retry after a while."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HttpEnricherError(Exception):
    """A permanent failure of an HTTP enricher; the message is safe to store and show."""


def provider_name(row: HttpEnricher) -> str:
    """The provider name results of ``row`` are stored under: ``http:<name>``."""
    return PREFIX + row.name


def build_url(template: str, type_: str, value: str) -> str:
    """``template`` with its placeholders filled (plain replacement, not `str.format`)."""
    encoded = base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode("ascii")
    return (
        template.replace("{value}", quote(value, safe=""))
        .replace("{type}", quote(type_, safe=""))
        .replace("{value_b64}", encoded)
    )


def _walk(data: Any, parts: list[str]) -> tuple[bool, Any]:
    for part in parts:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False, None
    return True, data


def pick_fields(data: Any, paths: list[str]) -> dict[str, Any]:
    """The values at ``paths`` (dotted; digits index lists), nested as found; missing ones are
    left out. No paths keep everything; a response that is not an object comes back as
    ``{"response": ...}``."""
    if not paths:
        return data if isinstance(data, dict) else {"response": data}
    kept: dict[str, Any] = {}
    for path in paths:
        parts = path.strip().split(".")
        found, value = _walk(data, parts)
        if not found:
            continue
        target = kept
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):  # an earlier path kept the whole parent
                break
        else:
            target[parts[-1]] = value
    return kept


def redact(data: Any, secret: str) -> Any:
    """``data`` with every occurrence of ``secret`` in its strings (keys too) replaced."""
    if not secret:
        return data
    if isinstance(data, str):
        return data.replace(secret, REDACTED)
    if isinstance(data, list):
        return [redact(item, secret) for item in data]
    if isinstance(data, dict):
        return {redact(key, secret): redact(item, secret) for key, item in data.items()}
    return data


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    return min(float(value), MAX_RETRY_AFTER) if value.isdigit() else None


class HttpJsonEnricher(Enricher):
    """One `HttpEnricher` row as an enricher (name ``http:<name>``, limits from the row)."""

    def __init__(self, row: HttpEnricher) -> None:
        self.row = row
        self.name = provider_name(row)
        self.applies_to = frozenset(row.applies_to)
        self.ttl_seconds = row.ttl_seconds
        self.rate_per_minute = row.rate_per_minute or None

    def __repr__(self) -> str:  # the row holds the API key: never show more than the name
        return f"<HttpJsonEnricher {self.name}>"

    def _fail(self, message: str) -> HttpEnricherError:
        return HttpEnricherError(redact(message, self.row.api_key))

    def enrich(self, type_: str, value: str) -> dict[str, Any]:
        """GET the row's URL for ``value`` and keep the configured fields of its JSON answer."""
        row = self.row
        url = build_url(row.url_template, type_, value)
        host = urlsplit(url).hostname or "?"
        headers = {"Accept": "application/json"}
        if row.api_key and row.api_key_header:
            headers[row.api_key_header] = row.api_key
        try:
            http.check_url(url, resolve=False)
            response = http.request(
                "GET",
                url,
                headers=headers,
                timeout=min(row.timeout_seconds, MAX_TIMEOUT),
                max_bytes=MAX_BYTES,
                max_redirects=3,
            )
        except http.BlockedAddressError as exc:
            raise self._fail(f"refused: {exc.reason}") from None
        except http.TransportError as exc:
            if exc.reason.startswith(("URL", "response exceeds", "response declares")):
                raise self._fail(exc.reason) from None
            raise TemporaryFailure(redact(exc.reason, row.api_key)) from None
        if response.status == 429:
            raise RateLimited(f"{host} answered 429", _retry_after(response.headers))
        if response.status >= 500:
            raise TemporaryFailure(f"{host} answered {response.status}")
        if not 200 <= response.status < 300:
            raise self._fail(f"{host} answered {response.status}")
        try:
            payload = response.json()
        except http.TransportError:
            raise self._fail(f"the answer of {host} is not JSON") from None
        return redact(pick_fields(payload, row.fields), row.api_key)
