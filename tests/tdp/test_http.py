"""tdp.http against real servers on 127.0.0.1: SSRF policy, redirects, limits, deadlines, TLS."""

from __future__ import annotations

import gzip
import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tdp import http
from tests.httpserver import ENDLESS, LocalHTTPServer, Route, self_signed_cert, tls_context

MB = 1024**2


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Map made-up host names to addresses; every other name goes to the real resolver."""
    table: dict[str, list[str]] = {}
    calls: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            calls.append(host)
            if not table[host]:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (ip, port, 0, 0) if ":" in ip else (ip, port),
                )
                for ip in table[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    table["__calls__"] = calls  # type: ignore[assignment]
    return table


# --- happy paths --------------------------------------------------------------------------


def test_it_gets_json_from_a_local_server_when_private_urls_are_allowed(server):
    server.route("/feed.json", json={"indicators": ["1.2.3.4"]}, headers={"X-Feed": "v2"})

    resp = http.request("GET", server.url("/feed.json"), allow_private=True)

    assert resp.status == 200
    assert resp.json() == {"indicators": ["1.2.3.4"]}
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-feed"] == "v2"
    assert resp.url == server.url("/feed.json")
    assert server.requests[0].headers["user-agent"] == http.USER_AGENT
    assert server.requests[0].headers["host"] == f"127.0.0.1:{server.port}"


def test_it_posts_json_with_a_json_content_type(server):
    server.route("/hook", status=202, body=b"queued")

    resp = http.request(
        "POST", server.url("/hook"), json={"event": "ioc.created"}, allow_private=True
    )

    assert (resp.status, resp.text()) == (202, "queued")
    received = server.requests[0]
    assert received.method == "POST"
    assert received.headers["content-type"] == "application/json"
    assert received.body == b'{"event": "ioc.created"}'


def test_it_posts_raw_bytes_as_given(server):
    server.route("/upload", status=201)

    http.request(
        "PUT",
        server.url("/upload"),
        body=b"<stix/>",
        headers={"Content-Type": "application/xml"},
        allow_private=True,
    )

    assert server.requests[0].body == b"<stix/>"
    assert server.requests[0].headers["content-type"] == "application/xml"


def test_caller_headers_override_the_default_user_agent(server):
    server.route("/", body=b"ok")

    http.request("GET", server.url(), headers={"user-agent": "Custom/2"}, allow_private=True)

    assert server.requests[0].headers["user-agent"] == "Custom/2"


def test_a_server_error_is_returned_as_a_response_not_raised(server):
    server.route("/boom", status=500, body=b"internal error")

    resp = http.request("GET", server.url("/boom"), allow_private=True)

    assert resp.status == 500
    assert resp.body == b"internal error"


def test_etag_revalidation_gets_a_304_with_an_empty_body(server):
    server.route("/feed.csv", body=b"1.2.3.4,c2\n", etag='"v7"')

    first = http.request("GET", server.url("/feed.csv"), allow_private=True)
    second = http.request(
        "GET",
        server.url("/feed.csv"),
        headers={"If-None-Match": first.headers["etag"]},
        allow_private=True,
    )

    assert (first.status, first.body) == (200, b"1.2.3.4,c2\n")
    assert (second.status, second.body) == (304, b"")
    assert second.headers["etag"] == '"v7"'


def test_a_gzip_body_is_decoded(server):
    server.route("/feed", body=gzip.compress(b"a,b\n" * 1000), headers={"Content-Encoding": "gzip"})

    resp = http.request("GET", server.url("/feed"), allow_private=True)

    assert resp.body == b"a,b\n" * 1000


def test_text_uses_the_charset_of_the_content_type():
    resp = http.Response(
        status=200,
        headers={"content-type": "text/plain; charset=ISO-8859-1"},
        body="café".encode("latin-1"),
        url="https://example.com/",
    )

    assert resp.text() == "café"


def test_a_response_repr_shows_neither_query_nor_body():
    resp = http.Response(status=200, headers={}, body=b"secret", url="https://a.example/?key=K")

    assert repr(resp) == "<Response 200 from a.example, 6 bytes>"


def test_a_body_that_is_not_json_raises_a_transport_error():
    resp = http.Response(status=200, headers={}, body=b"<html>", url="https://example.com/x?k=1")

    with pytest.raises(http.TransportError, match=r"example\.com is not valid JSON"):
        resp.json()


def test_a_head_request_returns_headers_without_body(server):
    server.route("/big", body=b"x" * 5000)

    resp = http.request("HEAD", server.url("/big"), allow_private=True)

    assert (resp.status, resp.body, resp.headers["content-length"]) == (200, b"", "5000")


# --- SSRF policy ----------------------------------------------------------------------------


def test_it_refuses_loopback_by_default_naming_the_address(server):
    server.route("/", body=b"secret admin page")

    with pytest.raises(http.BlockedAddressError, match=r"127\.0\.0\.1 is a loopback address"):
        http.request("GET", server.url(), allow_private=False)

    assert server.requests == []


def test_it_refuses_localhost_by_name_naming_what_it_resolves_to(server):
    with pytest.raises(http.BlockedAddressError, match=r"localhost resolves to .*loopback"):
        http.request("GET", server.url(host="localhost"), allow_private=False)

    assert server.requests == []


def test_it_reads_the_django_setting_when_allow_private_is_not_given(server, monkeypatch):
    server.route("/", body=b"ok")
    monkeypatch.setattr("tdp.http.policy.settings", SimpleNamespace(configured=True))
    with pytest.raises(http.BlockedAddressError):
        http.request("GET", server.url())

    monkeypatch.setattr(
        "tdp.http.policy.settings", SimpleNamespace(configured=True, TDP_ALLOW_PRIVATE_URLS=True)
    )
    assert http.request("GET", server.url()).status == 200


def test_unconfigured_django_settings_mean_private_urls_are_refused(monkeypatch):
    monkeypatch.setattr("tdp.http.policy.settings", SimpleNamespace(configured=False))

    with pytest.raises(http.BlockedAddressError):
        http.check_url("http://10.1.2.3/")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_it_refuses_metadata_address_even_when_private_allowed(url):
    with pytest.raises(http.BlockedAddressError, match="cloud metadata address"):
        http.check_url(url, allow_private=True)


def test_it_refuses_link_local_even_when_private_allowed():
    with pytest.raises(http.BlockedAddressError, match=r"169\.254\.1\.1 is a link-local address"):
        http.check_url("http://169.254.1.1/", allow_private=True)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.0.0.5", "a private address"),
        ("172.16.9.9", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.8.8.8", "a loopback address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - a URL host, not a bind
        ("224.0.0.1", "a multicast address"),
        ("255.255.255.255", "a reserved address"),
        ("198.18.0.1", "a reserved address"),
        ("[::1]", "a loopback address"),
        ("[::]", "an unspecified address"),
        ("[fc00::1]", "a private address"),
        ("[fe80::1]", "a link-local address"),
        ("[ff02::1]", "a multicast address"),
        ("[::ffff:10.0.0.1]", "an IPv4-mapped form of 10.0.0.1, a private address"),
        ("[::127.0.0.1]", "a reserved address"),
        ("[2002:7f00:1::]", "a 6to4 address wrapping 127.0.0.1, a loopback address"),
        ("[64:ff9b::a00:1]", "a NAT64 address wrapping 10.0.0.1, a private address"),
        ("[2001:0:4136:e378:8000:63bf:f5ff:fffe]", "a Teredo address wrapping 10.0.0.1"),
    ],
)
def test_it_refuses_non_public_address_literals_naming_why(address, why):
    with pytest.raises(http.BlockedAddressError) as info:
        http.check_url(f"http://{address}/", allow_private=False)

    assert why in info.value.reason
    assert address.strip("[]") in info.value.reason


@pytest.mark.parametrize(
    "url", ["http://8.8.8.8/", "https://[2606:4700:4700::1111]/dns-query", "http://1.1.1.1:8080/"]
)
def test_it_accepts_public_address_literals(url):
    http.check_url(url, allow_private=False)


def test_it_refuses_an_ipv4_mapped_ipv6_loopback_literal(server):
    with pytest.raises(http.BlockedAddressError, match=r"IPv4-mapped form of 127\.0\.0\.1"):
        http.request("GET", f"http://[::ffff:127.0.0.1]:{server.port}/", allow_private=False)

    assert server.requests == []


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f.1", "0x7f000001", "127.1", "0177.0.0.1", "017700000001", "127.0.1"]
)
def test_it_never_connects_to_loopback_spelled_as_a_number(server, host):
    server.route("/", body=b"should not be reached")

    with pytest.raises(http.TransportError):
        http.request("GET", f"http://{host}:{server.port}/", allow_private=True)
    with pytest.raises(http.TransportError):
        http.check_url(f"http://{host}/", allow_private=False)

    assert server.requests == []


def test_a_public_looking_name_resolving_to_a_private_address_is_refused(fake_dns):
    fake_dns["intel.example.com"] = ["10.0.0.1"]

    with pytest.raises(
        http.BlockedAddressError, match=r"intel\.example\.com resolves to 10\.0\.0\.1, a private"
    ):
        http.request("GET", "https://intel.example.com/feed", allow_private=False)


def test_a_name_is_refused_when_any_of_its_addresses_is_not_public(fake_dns):
    fake_dns["mixed.example.com"] = ["93.184.216.34", "192.168.0.10"]

    with pytest.raises(http.BlockedAddressError, match=r"192\.168\.0\.10"):
        http.check_url("https://mixed.example.com/", allow_private=False)


def test_it_connects_to_the_address_it_checked_without_a_second_lookup(server, fake_dns):
    server.route("/feed", body=b"ok")
    fake_dns["rebind.example.test"] = ["127.0.0.1"]

    resp = http.request("GET", f"http://rebind.example.test:{server.port}/feed", allow_private=True)

    assert resp.body == b"ok"
    assert fake_dns["__calls__"] == ["rebind.example.test"]
    assert server.requests[0].headers["host"] == f"rebind.example.test:{server.port}"


def test_an_unresolvable_name_is_a_transport_error(fake_dns):
    fake_dns["nothing.example.test"] = []

    with pytest.raises(http.TransportError, match=r"cannot resolve nothing\.example\.test"):
        http.request("GET", "https://nothing.example.test/")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "ftp://example.com/feed.csv",
        "dict://example.com:11211/stat",
        "javascript:alert(1)",
        "//example.com/feed",
        "example.com/feed",
    ],
)
def test_it_refuses_urls_that_are_not_http_or_https(url):
    with pytest.raises(http.TransportError, match="scheme"):
        http.check_url(url, allow_private=True)
    with pytest.raises(http.TransportError, match="scheme"):
        http.request("GET", url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http:///feed",
        "http://:80/feed",
        "https://exa mple.com/",
        "http://example.com/\r\nX-Injected: 1",
        "http://exam_ple..com/",
        "http://example.com:99999/",
        "",
    ],
)
def test_it_refuses_malformed_urls(url):
    with pytest.raises(http.TransportError):
        http.check_url(url, allow_private=True)


# --- redirects ------------------------------------------------------------------------------


def test_redirects_are_followed_and_the_final_url_is_reported(server):
    server.redirect("/a", "/b", status=301)
    server.redirect("/b", server.url("/c"), status=308)
    server.route("/c", json={"ok": True})

    resp = http.request("GET", server.url("/a"), allow_private=True)

    assert resp.json() == {"ok": True}
    assert resp.url == server.url("/c")
    assert [r.path for r in server.requests] == ["/a", "/b", "/c"]


def test_a_303_turns_a_post_into_a_get_without_body(server):
    server.redirect("/submit", "/result", status=303)
    server.route("/result", body=b"done")

    resp = http.request("POST", server.url("/submit"), json={"a": 1}, allow_private=True)

    assert resp.body == b"done"
    followed = server.requests[1]
    assert (followed.method, followed.body) == ("GET", b"")
    assert "content-type" not in followed.headers


def test_a_307_keeps_the_method_and_body(server):
    server.redirect("/v1/objects", "/v2/objects", status=307)
    server.route("/v2/objects", status=202)

    http.request("POST", server.url("/v1/objects"), body=b"payload", allow_private=True)

    assert (server.requests[1].method, server.requests[1].body) == ("POST", b"payload")


def test_redirect_to_metadata_address_is_refused(server):
    server.redirect("/feed", "http://169.254.169.254/latest/meta-data/", status=302)

    with pytest.raises(http.BlockedAddressError) as info:
        http.request("GET", server.url("/feed"), allow_private=True)

    assert info.value.reason == ("redirect refused: 169.254.169.254 is a cloud metadata address")


def test_redirect_to_a_name_resolving_to_a_metadata_address_is_refused(server, fake_dns):
    fake_dns["metadata.example.test"] = ["169.254.169.254"]
    server.redirect("/feed", "http://metadata.example.test/latest/meta-data/")

    with pytest.raises(
        http.BlockedAddressError,
        match=r"redirect refused: metadata\.example\.test resolves to 169\.254\.169\.254",
    ):
        http.request("GET", server.url("/feed"), allow_private=True)


def test_redirect_to_a_file_url_is_refused(server):
    server.redirect("/feed", "file:///etc/passwd")

    with pytest.raises(http.TransportError, match="redirect refused: URL scheme 'file'"):
        http.request("GET", server.url("/feed"), allow_private=True)


def test_too_many_redirects_is_an_error(server):
    server.redirect("/loop", "/loop")

    with pytest.raises(http.TransportError, match="too many redirects"):
        http.request("GET", server.url("/loop"), max_redirects=3, allow_private=True)

    assert len(server.requests) == 4


def test_caller_headers_do_not_follow_a_redirect_to_another_origin(server):
    with LocalHTTPServer() as other:
        other.route("/landing", body=b"ok")
        server.redirect("/feed", other.url("/landing"))
        server.redirect("/same", "/landing")
        server.route("/landing", body=b"ok")
        secrets = {"Authorization": "Bearer s3cr3t", "X-OTX-API-KEY": "k3y", "Accept": "text/csv"}

        http.request("GET", server.url("/feed"), headers=secrets, allow_private=True)
        http.request("GET", server.url("/same"), headers=secrets, allow_private=True)

        crossed = other.requests[0].headers
        assert "authorization" not in crossed
        assert "x-otx-api-key" not in crossed
        assert crossed["accept"] == "text/csv"
        assert crossed["user-agent"] == http.USER_AGENT
        same_origin = server.requests[-1].headers
        assert same_origin["authorization"] == "Bearer s3cr3t"
        assert same_origin["x-otx-api-key"] == "k3y"


def test_credentials_in_the_url_become_basic_auth(server):
    server.route("/", body=b"ok")

    http.request("GET", f"http://user:p%40ss@127.0.0.1:{server.port}/", allow_private=True)

    assert server.requests[0].headers["authorization"] == "Basic dXNlcjpwQHNz"


# --- sizes ----------------------------------------------------------------------------------


def test_an_endless_body_is_cut_as_soon_as_max_bytes_is_passed(server):
    server.route("/huge", stream=ENDLESS)
    started = time.monotonic()

    with pytest.raises(http.TransportError, match="response exceeds 1048576 bytes"):
        http.request("GET", server.url("/huge"), max_bytes=MB, timeout=10, allow_private=True)

    assert time.monotonic() - started < 5


def test_a_streamed_body_stops_at_max_bytes_without_reading_it_all(server):
    server.route("/huge", stream=2 * 1024**3)
    received = 0

    with (
        pytest.raises(http.TransportError, match="exceeds"),
        http.stream("GET", server.url("/huge"), max_bytes=MB, allow_private=True) as resp,
    ):
        assert resp.status == 200
        for chunk in resp.iter_bytes(chunk_size=100_000):
            received += len(chunk)

    assert received <= MB


def test_a_declared_content_length_over_the_cap_is_refused_before_reading(server):
    server.route("/liar", stream=10, content_length=2 * 1024**3)

    with pytest.raises(http.TransportError, match=r"declares 2147483648 bytes, over the 1048576"):
        http.request("GET", server.url("/liar"), max_bytes=MB, allow_private=True)


def test_the_decompressed_size_is_what_counts(server):
    bomb = gzip.compress(bytes(4 * MB))
    server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < MB

    with pytest.raises(http.TransportError, match="exceeds"):
        http.request("GET", server.url("/bomb"), max_bytes=MB, allow_private=True)


def test_a_body_exactly_at_the_cap_is_accepted(server):
    server.route("/exact", body=bytes(1000))

    assert len(http.request("GET", server.url("/exact"), max_bytes=1000, allow_private=True).body)


# --- time -----------------------------------------------------------------------------------


def test_a_slow_server_times_out_within_the_deadline(server):
    server.route("/slow", body=b"late", delay=10)
    started = time.monotonic()

    with pytest.raises(http.TransportError, match=r"timed out after 1 s \(127\.0\.0\.1\)"):
        http.request("GET", server.url("/slow"), timeout=1, allow_private=True)

    assert time.monotonic() - started < 1 + 2


def test_a_dripping_server_cannot_outlast_the_deadline(server):
    # One byte every 0.1 s never trips a per-read timeout; only a total deadline stops it.
    server.route("/drip", body=b"x" * 200, chunk_size=1, drip=0.1)
    started = time.monotonic()

    with pytest.raises(http.TransportError, match="timed out"):
        http.request("GET", server.url("/drip"), timeout=1, allow_private=True)

    assert time.monotonic() - started < 1 + 2


def test_a_server_dripping_its_headers_cannot_outlast_the_deadline():
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def drip_headers() -> None:
        conn, _ = listener.accept()
        with conn, suppress(OSError):
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.wait(0.1):
                conn.sendall(b"X")

    threading.Thread(target=drip_headers, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(http.TransportError, match="timed out after 1 s"):
            http.request(
                "GET",
                f"http://127.0.0.1:{listener.getsockname()[1]}/",
                timeout=1,
                allow_private=True,
            )
    finally:
        stop.set()
        listener.close()

    assert time.monotonic() - started < 1 + 2


def test_the_deadline_covers_consuming_a_stream(server):
    server.route("/drip", stream=ENDLESS, chunk_size=10, drip=0.05)
    started = time.monotonic()

    with (
        pytest.raises(http.TransportError, match="timed out"),
        http.stream("GET", server.url("/drip"), timeout=1, allow_private=True) as resp,
    ):
        for _chunk in resp.iter_bytes():
            pass

    assert time.monotonic() - started < 1 + 2


def test_a_refused_connection_is_a_transport_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(http.TransportError, match=f"could not connect to 127.0.0.1 port {port}"):
        http.request("GET", f"http://127.0.0.1:{port}/", allow_private=True)


# --- streaming ------------------------------------------------------------------------------


def test_stream_as_file_feeds_a_line_parser(server):
    lines = "".join(f"10.0.0.{i},scanner\n" for i in range(2000))
    server.route("/feed.csv", body=lines, chunk_size=777)

    with http.stream("GET", server.url("/feed.csv"), allow_private=True) as resp:
        parsed = [line.split(",")[0] for line in io.TextIOWrapper(resp.as_file(), "utf-8")]

    assert len(parsed) == 2000
    assert parsed[-1] == "10.0.0.1999"


def test_stream_as_file_reads_in_requested_sizes(server):
    server.route("/blob", body=b"abcdefghij")

    with http.stream("GET", server.url("/blob"), allow_private=True) as resp:
        fh = resp.as_file()
        assert fh.read(3) == b"abc"
        assert fh.read() == b"defghij"
        assert fh.read(1) == b""


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[LocalHTTPServer, Path]]:
    try:
        cert, key = self_signed_cert(tmp_path, ["localhost"])
    except RuntimeError as exc:
        pytest.skip(str(exc))
    with LocalHTTPServer(ssl_context=tls_context(cert, key)) as srv:
        srv.route("/", body=b"over tls")
        yield srv, cert


def test_https_works_when_the_certificate_matches_the_url_host(tls_server, monkeypatch):
    srv, cert = tls_server
    monkeypatch.setattr("tdp.http.connection._CA_CERTS", str(cert))

    resp = http.request("GET", srv.url(host="localhost"), allow_private=True)

    assert resp.body == b"over tls"


def test_https_refuses_an_untrusted_certificate(tls_server):
    srv, _cert = tls_server

    with pytest.raises(http.TransportError, match="TLS certificate of localhost was not accepted"):
        http.request("GET", srv.url(host="localhost"), allow_private=True)

    assert srv.requests == []


def test_https_checks_the_url_host_not_the_address_it_connects_to(
    tls_server, monkeypatch, fake_dns
):
    srv, cert = tls_server
    monkeypatch.setattr("tdp.http.connection._CA_CERTS", str(cert))
    fake_dns["feeds.example.test"] = ["127.0.0.1"]

    with pytest.raises(http.TransportError, match=r"feeds\.example\.test was not accepted"):
        http.request("GET", srv.url(host="feeds.example.test"), allow_private=True)


def test_https_to_a_plain_http_server_is_a_tls_error(server):
    with pytest.raises(http.TransportError, match="TLS"):
        http.request("GET", server.url().replace("http:", "https:"), allow_private=True)


# --- secrecy --------------------------------------------------------------------------------


def test_logs_and_errors_never_contain_query_strings_credentials_or_header_values(server, caplog):
    caplog.set_level(logging.DEBUG, logger="tdp.http")
    server.route("/feed", body=b"ok")
    server.route("/slow", delay=5)
    secret_url = f"http://alice:PWSECRET@127.0.0.1:{server.port}/feed?apikey=QSECRET"
    headers = {"X-Api-Key": "HSECRET"}
    errors = []

    http.request("GET", secret_url, headers=headers, allow_private=True)
    for call in (
        lambda: http.request("GET", secret_url, headers=headers, allow_private=False),
        lambda: http.request(
            "GET",
            server.url("/slow?apikey=QSECRET"),
            headers=headers,
            timeout=0.5,
            allow_private=True,
        ),
        lambda: http.request("GET", "gopher://u:PWSECRET@x/?QSECRET", headers=headers),
        lambda: http.request("GET", server.url("/"), headers={"X-Key": "HSECRET\r\nX: 1"}),
    ):
        with pytest.raises(http.TransportError) as info:
            call()
        errors.append(info.value.reason)

    assert any("127.0.0.1" in r.getMessage() and "200" in r.getMessage() for r in caplog.records)
    text = caplog.text + " ".join(errors)
    for secret in ("PWSECRET", "QSECRET", "HSECRET", "apikey", "alice"):
        assert secret not in text


def test_a_route_handler_can_answer_dynamically(server):
    server.route("/dyn", handler=lambda req: Route(status=201 if req.body else 400))

    assert http.request("POST", server.url("/dyn"), body=b"x", allow_private=True).status == 201
    assert http.request("POST", server.url("/dyn"), allow_private=True).status == 400
