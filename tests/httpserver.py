"""A real HTTP(S) server on 127.0.0.1 for tests: no network mocking, an ephemeral port.

    from tests.httpserver import ENDLESS, LocalHTTPServer, Route

    with LocalHTTPServer() as server:
        server.route("/feed.json", json={"indicators": []})
        server.route("/feed.csv", body="a,b\\n", etag='"v1"')       # If-None-Match: "v1" -> 304
        server.route("/slow", body=b"late", delay=5)                # 5 s before answering
        server.route("/drip", body=b"x" * 100, chunk_size=1, drip=0.1)
        server.route("/big", stream=ENDLESS)                        # zeros until hang-up
        server.route("/liar", stream=10, content_length=2 * 1024**3)  # declares 2 GB
        server.route("/boom", status=500, body=b"oops")
        server.redirect("/old", "/feed.json", status=301)           # or an absolute URL
        server.route("/dyn", handler=lambda req: Route(status=201 if req.body else 400))

        url = server.url("/feed.json")          # http://127.0.0.1:PORT/feed.json
        ...                                     # tdp.http.request("GET", url, allow_private=True)
        server.requests[-1].headers["user-agent"]

Every request is recorded in ``server.requests`` (method, path with query, lower-case headers,
body). Unknown paths get 404. Responses always carry ``Connection: close``. Pass
``ssl_context=`` (see :func:`tls_context` and :func:`self_signed_cert`) for HTTPS. Closing the
server (leaving the ``with`` block) also stops endless streams and pending delays.
"""

from __future__ import annotations

import json as _json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "ENDLESS",
    "LocalHTTPServer",
    "RecordedRequest",
    "Route",
    "self_signed_cert",
    "tls_context",
]

ENDLESS = -1  # Route(stream=ENDLESS): stream zeros until the client disconnects


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # including the query string
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Route:
    """What the server answers on one path.

    status, headers, body (bytes or str, sent as UTF-8) or json (serialised, with a JSON
    Content-Type) describe the response. delay: seconds to wait before the status line. stream:
    instead of body, send this many zero bytes (ENDLESS: never stop), chunked unless
    content_length is given. chunk_size / drip: the body goes out in pieces of chunk_size bytes
    with drip seconds between them. content_length: the Content-Length header to send, true or
    not. etag: sent as ETag; a matching If-None-Match gets 304 without body. handler: called with
    the RecordedRequest, returns the Route to answer with (dynamic responses).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    json: Any = None
    delay: float = 0.0
    stream: int | None = None
    chunk_size: int = 65536
    drip: float = 0.0
    content_length: int | None = None
    etag: str | None = None
    handler: Callable[[RecordedRequest], Route] | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when playbooks send concurrently.
    request_queue_size = 128
    block_on_close = False
    routes: dict[str, Route]
    requests: list[RecordedRequest]
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def handle(self) -> None:
        # The client went away or rejected our certificate: that's its business.
        with suppress(OSError):
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.settimeout(10)
                self.connection.do_handshake()
            super().handle()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.server.requests.append(request)
        self.close_connection = True

        route = self.server.routes.get(self.path.split("?", 1)[0])
        if route is None:
            route = Route(status=404, body=b"not found")
        if route.handler is not None:
            route = route.handler(request)
        if route.delay and self.server.stopping.wait(route.delay):
            return

        headers = dict(route.headers)
        payload = route.body.encode() if isinstance(route.body, str) else route.body
        if route.json is not None:
            payload = _json.dumps(route.json).encode()
            headers.setdefault("Content-Type", "application/json")
        status = route.status
        if route.etag is not None:
            headers["ETag"] = route.etag
            if request.headers.get("if-none-match") == route.etag:
                status, payload = 304, b""
        chunked = False
        if status == 304 or (self.command == "HEAD" and route.stream is None):
            headers.setdefault("Content-Length", str(len(payload)))
        elif route.content_length is not None:
            headers["Content-Length"] = str(route.content_length)
        elif route.stream is not None:
            headers["Transfer-Encoding"] = "chunked"
            chunked = True
        else:
            headers.setdefault("Content-Length", str(len(payload)))
        headers["Connection"] = "close"

        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD" or status == 304:
            return
        self._send_body(route, payload, chunked)

    def _send_body(self, route: Route, payload: bytes, chunked: bool) -> None:
        size = max(1, route.chunk_size)
        if route.stream is None:
            pieces = (payload[i : i + size] for i in range(0, len(payload), size))
        else:
            pieces = _zeros(route.stream, size)
        for n, piece in enumerate(pieces):
            if self.server.stopping.is_set():
                return
            if n and route.drip and self.server.stopping.wait(route.drip):
                return
            self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


def _zeros(total: int, size: int) -> Any:
    block = bytes(size)
    sent = 0
    while total == ENDLESS or sent < total:
        piece = block if total == ENDLESS else block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


class LocalHTTPServer:
    """A threaded HTTP server on 127.0.0.1:<ephemeral>; use as a context manager."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.routes = {}
        self._httpd.requests = []
        self._httpd.stopping = threading.Event()
        self.scheme = "http"
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first."""
        return self._httpd.requests

    def url(self, path: str = "/", *, host: str = "127.0.0.1") -> str:
        """Absolute URL of ``path`` on this server (``host`` may be e.g. "localhost")."""
        return f"{self.scheme}://{host}:{self.port}{path}"

    def route(self, path: str, route: Route | None = None, **options: Any) -> Route:
        """Answer requests for ``path`` (query ignored) with ``route`` or ``Route(**options)``."""
        self._httpd.routes[path] = route if route is not None else Route(**options)
        return self._httpd.routes[path]

    def redirect(self, path: str, location: str, status: int = 302) -> Route:
        """Answer ``path`` with a redirect to ``location`` (relative or absolute)."""
        return self.route(path, status=status, headers={"Location": location})

    def close(self) -> None:
        """Stop serving, end streams and delays, free the port."""
        self._httpd.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def self_signed_cert(directory: Path, hostnames: list[str]) -> tuple[Path, Path]:
    """Write a self-signed certificate for ``hostnames`` (DNS names or IPs) with the openssl CLI.

    Returns (certificate, key) paths. The certificate is its own CA, so pointing a client's CA
    bundle at it makes it trusted. Raises RuntimeError if openssl is missing.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is not installed")
    sans = ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in hostnames)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={hostnames[0]}",
            "-addext",
            f"subjectAltName={sans}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context for :class:`LocalHTTPServer`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True
