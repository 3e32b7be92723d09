"""The REST API's shared parts: the /api/v1/ root and JSON error responses.

Each app adds its endpoints in its own `api.py`; they reuse the app's FilterSets, the
`visible_to` querysets and the service functions, so the API and the pages obey the same rules.
"""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import exception_handler

API_ENDPOINTS: dict[str, str] = {
    "indicators": "api_indicator_list",
    "events": "api_event_intake",
    "cases": "api_case_list",
    "metrics": "api_metrics_precision",
    "missed": "api_missed_create",
    "missed_metrics": "api_missed_metrics",
}


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error body shaped as `{"error": message, "detail": ...}`."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        message = str(data["detail"])
    elif isinstance(data, dict):
        message = "; ".join(
            f"{field}: {' '.join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))}"
            for field, msgs in data.items()
        )
    else:
        message = str(data)
    response.data = {"error": message, "detail": data}
    return response


@extend_schema(exclude=True)
@api_view(["GET"])
def api_root(request: Request) -> Response:
    """List the API's collections with their URLs."""
    links = {}
    for name, url_name in API_ENDPOINTS.items():
        try:
            links[name] = reverse(url_name, request=request)
        except Exception:  # noqa: S112  endpoints of apps not installed yet are skipped
            continue
    links["schema"] = reverse("api_schema", request=request)
    links["docs"] = reverse("api_docs", request=request)
    return Response(links)
