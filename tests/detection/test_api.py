"""The intake API: POST /api/v1/events, the batch job, and GET /api/v1/events/batches/{id}."""

import json
from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from detection import api, batches
from detection.jobs import scan_batch_job
from detection.models import ContentEvent, Hit, ScanBatch
from tests.factories import make_content_event, make_indicator, make_user

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events"
EVIL = "visit evil.example now"


def batch_url(batch_id: object) -> str:
    return f"{EVENTS}/batches/{batch_id}"


def post_events(client: APIClient, items: list, **kwargs) -> object:
    return client.post(EVENTS, items, format="json", **kwargs)


def queued_jobs() -> int:
    return django_rq.get_queue("scan").count


# --- access -----------------------------------------------------------------------------------


def test_anonymous_posts_get_a_json_401() -> None:
    response = post_events(APIClient(), [make_content_event("hi")])
    assert response.status_code == 401
    assert response.json()["error"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "Token"
    assert not ScanBatch.objects.exists()


def test_anonymous_batch_lookups_get_a_json_401(analyst) -> None:
    batch = batches.submit_batch([make_content_event("hi")], actor=analyst)
    response = APIClient().get(batch_url(batch.pk))
    assert response.status_code == 401
    assert "error" in response.json()


def test_users_without_a_role_get_a_json_403(nobody) -> None:
    client = APIClient()
    client.force_authenticate(nobody)
    response = post_events(client, [make_content_event("hi")])
    assert response.status_code == 403
    assert response.json()["error"] == "You need the analyst role to use the API."
    assert not ScanBatch.objects.exists()


def test_a_token_authenticates(analyst, django_capture_on_commit_callbacks) -> None:
    token = Token.objects.create(user=analyst)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_events(client, [make_content_event("hi")])
    assert response.status_code == 202
    assert ScanBatch.objects.get(pk=response.json()["batch"]).submitted_by == analyst


def test_get_on_the_intake_is_405(api_client: APIClient) -> None:
    response = api_client.get(EVENTS)
    assert response.status_code == 405
    assert "not allowed" in response.json()["error"]


# --- posting ----------------------------------------------------------------------------------


def test_a_json_array_is_queued_as_one_batch(
    api_client: APIClient, analyst, django_capture_on_commit_callbacks
) -> None:
    items = [make_content_event(EVIL, id="e1"), make_content_event("hello", id="e2")]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_events(api_client, items)
    assert response.status_code == 202
    body = response.json()
    batch = ScanBatch.objects.get(pk=body["batch"])
    assert body == {"batch": str(batch.pk), "events": 2, "rejected": 0, "errors": []}
    assert (batch.status, batch.submitted_by, len(batch.pending_events)) == ("queued", analyst, 2)
    assert queued_jobs() == 1


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "text/plain"])
def test_json_lines_are_accepted(
    api_client: APIClient, content_type: str, django_capture_on_commit_callbacks
) -> None:
    lines = [make_content_event(EVIL, id="e1"), make_content_event("hi", id="e2")]
    body = "\n".join(json.dumps(item) for item in lines) + "\n\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(EVENTS, body, content_type=content_type)
    assert response.status_code == 202
    assert (response.json()["events"], response.json()["rejected"]) == (2, 0)
    assert queued_jobs() == 1


def test_more_than_10000_events_are_refused(api_client: APIClient) -> None:
    items = [make_content_event("hi", id=f"e{i}") for i in range(10_001)]
    response = post_events(api_client, items)
    assert response.status_code == 400
    assert response.json()["error"] == "at most 10,000 events per request, got 10,001"
    assert not ScanBatch.objects.exists()


def test_malformed_json_is_a_json_400(api_client: APIClient) -> None:
    response = api_client.post(EVENTS, '[{"id": "e1",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("JSON parse error")
    assert not ScanBatch.objects.exists()


def test_a_malformed_json_line_is_a_json_400_naming_it(api_client: APIClient) -> None:
    body = json.dumps(make_content_event("hi")) + "\n{not json\n"
    response = api_client.post(EVENTS, body, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["error"].startswith("line 2 is not JSON")


@pytest.mark.parametrize("body", [{"id": "e1"}, []])
def test_a_body_without_a_list_of_events_is_a_400(api_client: APIClient, body: object) -> None:
    response = api_client.post(EVENTS, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]
    assert not ScanBatch.objects.exists()


def test_a_body_over_the_size_cap_is_a_413(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "MAX_BODY_BYTES", 100)
    response = post_events(api_client, [make_content_event("x" * 200)])
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert not ScanBatch.objects.exists()


def test_invalid_events_are_counted_and_the_valid_ones_queued(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    items = [
        make_content_event(EVIL, id="good1"),
        make_content_event("hi", occurred_at="2026-11-25T12:00:00"),
        "not an event",
        make_content_event("hi", id="good2"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_events(api_client, items)
    assert response.status_code == 202
    body = response.json()
    assert (body["events"], body["rejected"]) == (2, 2)
    assert body["errors"] == [
        {"index": 1, "reason": "occurred_at has no time zone"},
        {"index": 2, "reason": "an event is a JSON object"},
    ]
    batch = ScanBatch.objects.get(pk=body["batch"])
    assert [event["id"] for event in batch.pending_events] == ["good1", "good2"]
    assert queued_jobs() == 1


def test_only_the_first_20_rejections_are_listed(api_client: APIClient) -> None:
    response = post_events(api_client, [{"id": i} for i in range(25)])
    body = response.json()
    assert (body["events"], body["rejected"], len(body["errors"])) == (0, 25, 20)


def test_a_batch_without_valid_events_is_done_at_once(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_events(api_client, ["x", "y"])
    assert response.status_code == 202
    assert ScanBatch.objects.get(pk=response.json()["batch"]).status == "done"
    assert queued_jobs() == 0


def test_a_submitted_batch_is_audited(api_client: APIClient, analyst) -> None:
    from tdp.audit import entries_for

    response = post_events(api_client, [make_content_event("hi"), "bad"])
    [entry] = entries_for(ScanBatch.objects.get(pk=response.json()["batch"]))
    assert (entry.action, entry.user) == ("scan_batch.submit", analyst)


# --- the job ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_worker_scans_the_batch_and_stores_hits() -> None:
    indicator = make_indicator("evil.example")
    client = APIClient()
    client.force_authenticate(make_user("integration"))
    items = [make_content_event(EVIL, id="e1"), make_content_event("nothing", id="e2")]
    response = post_events(client, items)  # committed: the job is queued for real
    assert response.status_code == 202

    assert django_rq.get_worker("scan").work(burst=True)

    batch = ScanBatch.objects.get(pk=response.json()["batch"])
    assert (batch.status, batch.events, batch.matches, batch.hits) == ("done", 2, 1, 1)
    assert batch.pending_events == []
    assert batch.started_at <= batch.finished_at
    [hit] = Hit.objects.all()
    assert (hit.event_id, hit.indicator, hit.rule.name) == ("e1", indicator, "Known-bad intel")
    assert ContentEvent.objects.count() == 2


def test_rerunning_a_crashed_batch_adds_no_duplicate_hits(analyst) -> None:
    make_indicator("evil.example")
    batch = batches.submit_batch([make_content_event(EVIL, id="e1")], actor=analyst)
    pending = batch.pending_events
    assert scan_batch_job(str(batch.pk)) == "done"
    # The worker died after storing the hits but before recording the outcome.
    ScanBatch.objects.filter(pk=batch.pk).update(
        status="running",
        started_at=timezone.now() - timedelta(hours=1),
        pending_events=pending,
    )

    assert scan_batch_job(str(batch.pk)) == "done"

    batch.refresh_from_db()
    assert (batch.matches, batch.hits) == (1, 0)
    assert Hit.objects.count() == 1


def test_a_second_job_for_a_claimed_batch_does_nothing(analyst) -> None:
    batch = batches.submit_batch([make_content_event("hi")], actor=analyst)
    ScanBatch.objects.filter(pk=batch.pk).update(status="running", started_at=timezone.now())
    assert scan_batch_job(str(batch.pk)) is None
    assert ScanBatch.objects.get(pk=batch.pk).status == "running"


def test_a_failed_scan_is_recorded(analyst, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(batches, "scan_events", broken)
    batch = batches.submit_batch([make_content_event("hi")], actor=analyst)
    assert scan_batch_job(str(batch.pk)) == "failed"
    batch.refresh_from_db()
    assert batch.error == "scan failed (RuntimeError)"  # details in the log, not the API
    assert len(batch.pending_events) == 1  # kept for a retry


def test_a_batch_stays_queued_when_redis_is_down(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    def unreachable(name: str):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(django_rq, "get_queue", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_events(api_client, [make_content_event("hi")])
    assert response.status_code == 202

    status = api_client.get(batch_url(response.json()["batch"]))
    assert status.json()["status"] == "queued"


# --- batch status -----------------------------------------------------------------------------


def test_the_submitter_sees_the_batch_status(api_client: APIClient, analyst) -> None:
    batch = batches.submit_batch([make_content_event("hi"), "bad"], actor=analyst)
    response = api_client.get(batch.get_absolute_url())
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["events"], body["rejected"]) == (
        str(batch.pk),
        "queued",
        1,
        1,
    )
    assert {"matches", "hits", "errors", "error", "started_at", "finished_at"} <= set(body)


def test_another_analyst_gets_a_404(api_client: APIClient) -> None:
    batch = batches.submit_batch([make_content_event("hi")], actor=make_user("other"))
    response = api_client.get(batch_url(batch.pk))
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_lead_sees_every_batch(lead) -> None:
    batch = batches.submit_batch([make_content_event("hi")], actor=make_user("other"))
    client = APIClient()
    client.force_authenticate(lead)
    assert client.get(batch_url(batch.pk)).status_code == 200


def test_batch_counts_leave_out_tlp_red_intel_for_users_not_cleared(
    api_client: APIClient, analyst, cleared_analyst
) -> None:
    make_indicator("evil.example")
    make_indicator("secret.example", tlp="RED")
    items = [
        make_content_event(EVIL, id="e1", author="a1"),
        make_content_event("see secret.example", id="e2", author="a2"),
    ]
    batch = batches.submit_batch(items, actor=analyst)
    assert scan_batch_job(str(batch.pk)) == "done"
    batch.refresh_from_db()
    assert (batch.matches, batch.hits, batch.cases) == (2, 2, 2)
    assert (batch.restricted_matches, batch.restricted_hits, batch.restricted_cases) == (1, 1, 1)

    # The submitter is not cleared: a count that moved would tell them a value is on a RED list.
    body = api_client.get(batch_url(batch.pk)).json()
    assert (body["matches"], body["hits"], body["cases"]) == (1, 1, 1)
    cleared = APIClient()
    cleared.force_authenticate(cleared_analyst)
    ScanBatch.objects.filter(pk=batch.pk).update(submitted_by=cleared_analyst)
    body = cleared.get(batch_url(batch.pk)).json()
    assert (body["matches"], body["hits"], body["cases"]) == (2, 2, 2)


# --- schema and root --------------------------------------------------------------------------


def test_the_schema_lists_both_endpoints(api_client: APIClient) -> None:
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = json.loads(response.content)["paths"]
    post = paths["/api/v1/events"]["post"]
    assert {"application/json", "application/x-ndjson"} <= set(post["requestBody"]["content"])
    assert {"202", "400"} <= set(post["responses"])
    assert "200" in paths["/api/v1/events/batches/{id}"]["get"]["responses"]


def test_the_api_root_links_the_intake(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/").json()["events"].endswith("/api/v1/events")


def test_hits_a_threshold_promotes_count_as_restricted_when_their_intel_is_red(
    api_client: APIClient, analyst
) -> None:
    from detection.models import Rule

    Rule.objects.create(name="Two strikes", threshold=2, policy_label="spam")
    make_indicator("secret.example", tlp="RED")
    make_indicator("evil.example")
    first = batches.submit_batch(
        [make_content_event("see secret.example", id="e1", author="a1")], actor=analyst
    )
    assert scan_batch_job(str(first.pk)) == "done"
    second = batches.submit_batch([make_content_event(EVIL, id="e2", author="a1")], actor=analyst)
    assert scan_batch_job(str(second.pk)) == "done"
    second.refresh_from_db()
    # New hits: the default rule's and "Two strikes"'s on evil.example, and the first scan's
    # "Two strikes" hit on the RED value, promoted now; its new case holds RED intel.
    assert (second.hits, second.restricted_hits) == (3, 1)
    assert (second.cases, second.restricted_cases) == (1, 1)
    body = api_client.get(batch_url(second.pk)).json()
    assert (body["matches"], body["hits"], body["cases"]) == (2, 2, 0)
