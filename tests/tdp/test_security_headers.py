"""Every response carries the strict CSP, request id and Vary: HX-Request."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_send_a_strict_content_security_policy(analyst_client: Client) -> None:
    response = analyst_client.get("/intel/indicators/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


def test_pages_have_no_inline_script(analyst_client: Client) -> None:
    html = analyst_client.get("/intel/indicators/").content.decode()
    assert "<script>" not in html
    assert " on" + "click=" not in html


def test_responses_vary_on_hx_request_and_carry_a_request_id(client: Client) -> None:
    response = client.get("/healthz")
    assert "HX-Request" in response["Vary"]
    assert len(response["X-Request-ID"]) == 32


def test_a_sane_incoming_request_id_is_kept(client: Client) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_a_malicious_incoming_request_id_is_replaced(client: Client) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert response["X-Request-ID"] != "<script>alert(1)</script>"
