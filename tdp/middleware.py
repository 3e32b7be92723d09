"""Cross-cutting HTTP middleware: request ids and security headers (CSP, Vary: HX-Request)."""

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from tdp.logging import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
RQ_DASHBOARD_PREFIX = "/jobs/"


class RequestIdMiddleware:
    """Give each request an id (or keep a sane incoming X-Request-ID) for logs and audit rows."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    """Send the strict Content-Security-Policy and vary caches on htmx requests.

    Responses that vary with HX-Request (full page vs. partial) must not be cached as one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if request.path.startswith(RQ_DASHBOARD_PREFIX):
            policy = settings.CONTENT_SECURITY_POLICY_RQ_DASHBOARD
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        vary = response.headers.get("Vary", "")
        if "HX-Request" not in vary:
            response.headers["Vary"] = f"{vary}, HX-Request" if vary else "HX-Request"
        return response
