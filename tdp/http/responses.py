"""Responses and their bodies, read within the size cap and the deadline.

Bodies are capped by ``max_bytes``: a declared ``Content-Length`` over the cap is refused up
front, the stream is cut as soon as the cap is passed, and the decompressed size is what counts.
:class:`Response` holds a whole body, :class:`StreamResponse` reads one on demand; both are
re-exported from :mod:`tdp.http`.
"""

from __future__ import annotations

import codecs
import io
import json as _json
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from tdp.http.connection import _translated
from tdp.http.deadline import _Deadline, _Watchdog
from tdp.http.errors import TransportError
from tdp.http.exchange import _Exchange
from tdp.http.urls import _display_host


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
