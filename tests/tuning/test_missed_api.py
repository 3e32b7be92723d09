"""POST /api/v1/missed and GET /api/v1/metrics/missed: recording misses, what would catch them."""

import pytest
from rest_framework.test import APIClient

from intel.models import Status
from tdp.models import AuditEntry
from tests.factories import make_content_event, make_indicator
from tuning.models import MissedReport

pytestmark = pytest.mark.django_db

MISSED = "/api/v1/missed"
METRICS = "/api/v1/metrics/missed"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def miss(client: APIClient, event: dict, policy: str = "phishing", note: str = "") -> object:
    return client.post(MISSED, {"event": event, "policy": policy, "note": note}, format="json")


def test_a_miss_is_recorded_with_201_and_an_audit_entry(api_client, analyst) -> None:
    event = make_content_event("nothing known here", id="m1")
    response = miss(api_client, event, note="obvious phish")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["event_id"], body["policy"], body["note"]) == ("m1", "phishing", "obvious phish")
    assert (body["reported_by"], body["would_catch"]) == ("ana", [])
    report = MissedReport.objects.get()
    assert (report.reported_by, report.event["author"]["id"]) == (analyst, "a1")
    assert AuditEntry.objects.filter(action="tuning.missed.report", user=analyst).exists()


def test_would_catch_lists_existing_intel_including_expired_indicators(api_client) -> None:
    expired = make_indicator("evil.example", status=Status.EXPIRED, confidence=80)
    active = make_indicator("https://bad.example/login", type="url")
    make_indicator("unrelated.example")
    event = make_content_event(
        "log in at cdn.evil.example please", urls=["https://bad.example/login"]
    )
    body = miss(api_client, event).json()
    caught = {c["indicator"]: c for c in body["would_catch"]}
    assert set(caught) == {expired.pk, active.pk}
    assert caught[expired.pk] == {
        "indicator": expired.pk,
        "type": "domain",
        "value": "evil.example",
        "status": "expired",
        "tlp": "AMBER",
        "confidence": 80,
        "field": "text",
        "observable": "cdn.evil.example",
    }
    assert (caught[active.pk]["status"], caught[active.pk]["field"]) == ("active", "urls")


def test_allowlisted_and_revoked_intel_is_listed_with_its_status(api_client) -> None:
    make_indicator("partner.example", status=Status.ALLOWLISTED)
    make_indicator("scam@mail.example", type="email", status=Status.REVOKED)
    event = make_content_event("write to scam@mail.example or visit partner.example")
    statuses = {c["value"]: c["status"] for c in miss(api_client, event).json()["would_catch"]}
    assert statuses == {"partner.example": "allowlisted", "scam@mail.example": "revoked"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"event": {"id": "x"}, "policy": "spam"}, "event: kind must be one of"),
        ({"event": "not an object", "policy": "spam"}, "event: an event is a JSON object"),
        (
            {
                "event": {**make_content_event(), "occurred_at": "2026-11-25T12:00:00"},
                "policy": "spam",
            },
            "occurred_at has no time zone",
        ),
        ({"event": make_content_event(), "policy": "nonsense"}, "policy"),
        ({"event": make_content_event("x" * 300_000), "policy": "spam"}, "larger than 256 KB"),
        ({"policy": "spam"}, "event"),
    ],
)
def test_invalid_reports_are_refused_with_a_json_400(api_client, body, message) -> None:
    response = api_client.post(MISSED, body, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not MissedReport.objects.exists()


def test_anonymous_and_roleless_clients_are_refused(nobody) -> None:
    event = make_content_event("hi")
    assert miss(APIClient(), event).status_code == 401
    assert miss(client_for(nobody), event).status_code == 403
    assert APIClient().get(METRICS).status_code == 401
    assert client_for(nobody).get(METRICS).status_code == 403
    assert not MissedReport.objects.exists()


def test_the_metrics_list_misses_per_policy_with_what_would_catch_each(api_client) -> None:
    expired = make_indicator("old.example", status=Status.EXPIRED)
    miss(api_client, make_content_event("see old.example", id="p1"), policy="phishing")
    miss(api_client, make_content_event("nothing", id="p2"), policy="phishing")
    miss(api_client, make_content_event("spam spam", id="s1"), policy="spam")
    response = api_client.get(METRICS)
    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 30
    by_policy = {p["policy"]: p for p in body["policies"]}
    assert [p["policy"] for p in body["policies"]] == ["phishing", "spam"]  # most misses first
    phishing = by_policy["phishing"]
    assert (phishing["label"], phishing["misses"], phishing["caught"]) == ("Phishing", 2, 1)
    reports = {r["event_id"]: r for r in phishing["reports"]}
    assert [c["indicator"] for c in reports["p1"]["would_catch"]] == [expired.pk]
    assert reports["p2"]["would_catch"] == []
    assert (by_policy["spam"]["misses"], by_policy["spam"]["caught"]) == (1, 0)


def test_the_metrics_filter_by_policy_days_and_limit(api_client) -> None:
    for n in range(3):
        miss(api_client, make_content_event("x", id=f"e{n}"), policy="scam")
    miss(api_client, make_content_event("x", id="other"), policy="spam")
    MissedReport.objects.filter(event_id="e0").update(created_at="2020-01-01T00:00:00Z")
    body = api_client.get(METRICS, {"policy": "scam", "days": 7, "limit": 1}).json()
    [scam] = body["policies"]
    assert (scam["policy"], scam["misses"], len(scam["reports"])) == ("scam", 2, 1)
    assert scam["reports"][0]["event_id"] == "e2"  # newest first


@pytest.mark.parametrize("query", [{"days": 0}, {"days": "x"}, {"limit": 5000}, {"policy": "x"}])
def test_bad_metric_parameters_are_a_json_400(api_client, query) -> None:
    response = api_client.get(METRICS, query)
    assert response.status_code == 400
    assert "error" in response.json()


def test_tlp_red_intel_is_left_out_for_users_who_are_not_cleared(
    api_client, cleared_analyst
) -> None:
    red = make_indicator("red.example", tlp="RED", status=Status.EXPIRED)
    amber = make_indicator("amber.example")
    event = make_content_event("red.example and amber.example", id="tlp1")
    body = miss(api_client, event).json()
    assert [c["indicator"] for c in body["would_catch"]] == [amber.pk]
    listed = api_client.get(METRICS).json()["policies"][0]["reports"][0]["would_catch"]
    assert [c["indicator"] for c in listed] == [amber.pk]
    cleared = client_for(cleared_analyst).get(METRICS).json()
    shown = {c["indicator"] for c in cleared["policies"][0]["reports"][0]["would_catch"]}
    assert shown == {red.pk, amber.pk}


def test_both_endpoints_are_in_the_openapi_schema(admin_client_) -> None:
    schema = admin_client_.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "post" in schema["paths"]["/api/v1/missed"]
    assert "get" in schema["paths"]["/api/v1/metrics/missed"]
