"""The one wall-clock budget of an exchange, and the watchdog that enforces it.

``timeout`` covers DNS, connect, TLS, headers and body together. Per-operation socket timeouts
alone can't bound that (a server that drips one byte a second never trips them), so when the
deadline passes the watchdog shuts the socket down, which unblocks any read or handshake.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress

from urllib3.connection import HTTPConnection

from tdp.http.errors import TransportError


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
