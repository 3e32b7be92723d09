"""The triage API: the case list (filters, cursor pages, TLP:RED), one case with its hits,
"get next", and labelling cases and hits (400, 403, 404 and 409 refusals)."""

import base64
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case, HitLabel
from cases.triage import claim_next
from detection.models import Hit, Rule
from detection.scan import scan_events
from tests.factories import (
    make_case,
    make_content_event,
    make_indicator,
    make_rule,
    make_source,
    make_user,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/cases"
NEXT = "/api/v1/cases/next"


def detail(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}"


def label_url(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/label"


def hit_label_url(hit: Hit) -> str:
    return f"/api/v1/hits/{hit.pk}/label"


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def assign_to(case: Case, user: Any) -> Case:
    Case.objects.filter(pk=case.pk).update(assignee=user, status=Case.Status.IN_REVIEW)
    case.refresh_from_db()
    return case


def shadow_hit() -> Hit:
    """A hit of a shadow rule: recorded, but in no case."""
    Rule.objects.update(is_enabled=False)
    make_rule("shadow", mode=Rule.Mode.SHADOW)
    make_indicator("shadow.example")
    scan_events([make_content_event("see shadow.example")], dry_run=False)
    return Hit.objects.get(case__isnull=True)


# --- access -----------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", LIST),
    ("get", "{detail}"),
    ("post", NEXT),
    ("post", "{label}"),
    ("post", "{hit_label}"),
]


def _path(template: str) -> str:
    case = make_case()
    return template.format(
        detail=detail(case), label=label_url(case), hit_label=hit_label_url(case.hits.first())
    )


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_requests_are_refused(method: str, path: str) -> None:
    response = getattr(APIClient(), method)(_path(path), {}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["error"] == "Authentication credentials were not provided."


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_users_without_a_role_get_a_json_403(nobody, method: str, path: str) -> None:
    path = _path(path)
    body = {"disposition": "true_positive", "version": 1}
    response = getattr(client_for(nobody), method)(path, body, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "You need the analyst role to use the API."
    assert not Case.objects.filter(assignee=nobody).exists()
    assert not HitLabel.objects.exists()


def test_a_token_authenticates(analyst) -> None:
    case = make_case()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    response = client.get(LIST)
    assert response.status_code == 200
    assert ids(response) == [case.pk]


@pytest.mark.parametrize(("method", "path"), [("post", LIST), ("delete", "{detail}")])
def test_wrong_methods_get_a_json_405(api_client: APIClient, method: str, path: str) -> None:
    response = getattr(api_client, method)(_path(path))
    assert response.status_code == 405
    assert "not allowed" in response.json()["error"]


# --- list -------------------------------------------------------------------------------------


def test_the_list_shows_cases_in_queue_shape(api_client: APIClient) -> None:
    case = make_case(author="a1", events=2)
    response = api_client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert (body["next"], body["previous"]) == (None, None)
    [item] = body["results"]
    assert set(item) == {
        "id",
        "url",
        "version",
        "status",
        "disposition",
        "reason",
        "note",
        "priority",
        "sla_due_at",
        "policy",
        "rule",
        "assignee",
        "author_id",
        "author_handle",
        "hit_count",
        "created_at",
        "resolved_at",
    }
    assert item["id"] == case.pk
    assert item["url"] == f"http://testserver/api/v1/cases/{case.pk}"
    assert item["priority"] == f"P{case.priority}"
    assert item["status"] == "new"
    assert item["rule"] == "Known-bad intel"
    assert item["policy"] == case.policy_label
    assert (item["assignee"], item["author_id"], item["author_handle"]) == (None, "a1", "user_a1")
    assert (item["hit_count"], item["version"], item["resolved_at"]) == (2, 1, None)


def test_the_list_is_in_queue_order(api_client: APIClient) -> None:
    later = make_case(author="a1")
    urgent = make_case(author="a2", confidence=95)
    assert urgent.priority < later.priority
    assert ids(api_client.get(LIST)) == [urgent.pk, later.pk]


def test_the_assignee_filter_takes_me_none_and_a_username(api_client: APIClient, analyst) -> None:
    mine = assign_to(make_case(author="a1"), analyst)
    theirs = assign_to(make_case(author="a2"), make_user("bob"))
    free = make_case(author="a3")
    assert ids(api_client.get(LIST, {"assignee": "me"})) == [mine.pk]
    assert ids(api_client.get(LIST, {"assignee": "none"})) == [free.pk]
    assert ids(api_client.get(LIST, {"assignee": "bob"})) == [theirs.pk]
    assert ids(api_client.get(LIST, {"assignee": "nobody-here"})) == []
    assert sorted(ids(api_client.get(LIST))) == sorted([mine.pk, theirs.pk, free.pk])


@pytest.mark.parametrize("value", ["{n}", "P{n}", "p{n}"])
def test_the_priority_filter_takes_a_number_or_p_label(api_client: APIClient, value: str) -> None:
    urgent = make_case(author="a1", confidence=95)
    make_case(author="a2")
    response = api_client.get(LIST, {"priority": value.format(n=urgent.priority)})
    assert response.status_code == 200
    assert ids(response) == [urgent.pk]


@pytest.mark.parametrize("value", ["P5", "0", "high"])
def test_an_unknown_priority_is_a_400(api_client: APIClient, value: str) -> None:
    make_case()
    response = api_client.get(LIST, {"priority": value})
    assert response.status_code == 400
    assert "priority" in response.json()["error"]


def test_the_status_filter_defaults_to_open_cases(api_client: APIClient) -> None:
    open_case = make_case(author="a1")
    taken = assign_to(make_case(author="a2"), make_user())
    done = make_case(author="a3")
    Case.objects.filter(pk=done.pk).update(status="resolved", disposition="true_positive")
    assert sorted(ids(api_client.get(LIST))) == sorted([open_case.pk, taken.pk])
    assert ids(api_client.get(LIST, {"status": "resolved"})) == [done.pk]
    assert ids(api_client.get(LIST, {"status": "in_review"})) == [taken.pk]
    assert ids(api_client.get(LIST, {"status": "new"})) == [open_case.pk]
    assert len(ids(api_client.get(LIST, {"status": "all"}))) == 3
    assert api_client.get(LIST, {"status": "closed"}).status_code == 400


def test_the_rule_filter_takes_an_id_or_the_exact_name(api_client: APIClient) -> None:
    case = make_case()
    rule = Rule.objects.get(name="Known-bad intel")
    other = make_rule("Other rule")
    assert ids(api_client.get(LIST, {"rule": rule.pk})) == [case.pk]
    assert ids(api_client.get(LIST, {"rule": "Known-bad intel"})) == [case.pk]
    assert ids(api_client.get(LIST, {"rule": other.pk})) == []
    assert ids(api_client.get(LIST, {"rule": "known-bad"})) == []


def test_the_policy_filter(api_client: APIClient) -> None:
    case = make_case()
    assert ids(api_client.get(LIST, {"policy": case.policy_label})) == [case.pk]
    other = next(p for p in Rule.PolicyLabel.values if p != case.policy_label)
    assert ids(api_client.get(LIST, {"policy": other})) == []


def test_cursor_pages_do_not_overlap_and_link_back(api_client: APIClient) -> None:
    cases = [make_case(author=f"a{n}") for n in range(5)]
    first = api_client.get(LIST, {"limit": 2}).json()
    assert first["previous"] is None
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()
    pages = [[c["id"] for c in page["results"]] for page in (first, second, third)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(pk for page in pages for pk in page) == sorted(c.pk for c in cases)
    assert third["next"] is None
    back = api_client.get(second["previous"]).json()
    assert [c["id"] for c in back["results"]] == pages[0]
    assert back["previous"] is None


def test_a_page_starts_after_the_last_case_shown_even_when_cases_are_claimed(
    api_client: APIClient, analyst
) -> None:
    cases = [make_case(author=f"a{n}") for n in range(4)]
    first = api_client.get(LIST, {"limit": 2, "status": "new"}).json()
    shown = [c["id"] for c in first["results"]]
    for pk in shown:  # claimed: no longer `new`, so an offset would skip two cases
        assign_to(Case.objects.get(pk=pk), analyst)
    second = api_client.get(first["next"]).json()
    assert sorted(shown + ids_of(second)) == sorted(c.pk for c in cases)


def ids_of(page: dict) -> list[int]:
    return [item["id"] for item in page["results"]]


def test_a_forged_cursor_is_a_404(api_client: APIClient) -> None:
    forged = base64.b64encode(b"p=1|yesterday|7").decode()
    response = api_client.get(LIST, {"cursor": forged})
    assert response.status_code == 404
    assert response.json()["error"] == "Invalid cursor"


def test_the_list_query_count_does_not_grow_with_cases(analyst) -> None:
    def count_list_queries(expected: int) -> int:
        client = client_for(type(analyst).objects.get(pk=analyst.pk))  # no cached role
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(LIST).json()["results"]) == expected
        return len(queries)

    make_case(author="a0")
    one = count_list_queries(1)
    for n in range(1, 6):
        assign_to(make_case(author=f"a{n}"), make_user())
    assert count_list_queries(6) == one <= 4  # role, clearance (2), the page


# --- TLP:RED ----------------------------------------------------------------------------------


def test_a_red_case_is_hidden_from_an_uncleared_analyst(api_client: APIClient) -> None:
    red = make_case(author="a1", tlp="RED")
    green = make_case(author="a2", tlp="GREEN")
    assert ids(api_client.get(LIST)) == [green.pk]
    response = api_client.get(detail(red))
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_cleared_analyst_sees_red_cases(cleared_analyst) -> None:
    red = make_case(tlp="RED")
    client = client_for(cleared_analyst)
    assert ids(client.get(LIST)) == [red.pk]
    assert client.get(detail(red)).json()["id"] == red.pk


def test_red_cases_cannot_be_labelled_or_claimed_without_clearance(api_client: APIClient) -> None:
    red = make_case(tlp="RED")
    body = {"disposition": "true_positive", "version": red.version}
    assert api_client.post(label_url(red), body, format="json").status_code == 404
    hit = red.hits.get()
    assert api_client.post(hit_label_url(hit), body, format="json").status_code == 404
    assert api_client.post(NEXT).status_code == 204
    red.refresh_from_db()
    assert (red.status, red.assignee_id, red.version) == ("new", None, 1)


# --- detail -----------------------------------------------------------------------------------


def test_the_detail_shows_the_hits_and_their_labels(api_client: APIClient, analyst) -> None:
    case = make_case(value="evil.example", events=2)
    first, second = case.hits.order_by("occurred_at", "id")
    HitLabel.objects.create(
        hit=first,
        case=case,
        disposition="false_positive",
        reason="benign_site",
        note="a news site",
        rule=first.rule,
        indicator=first.indicator,
        indicator_type="domain",
        indicator_value="evil.example",
        labelled_by=analyst,
    )
    response = api_client.get(detail(case))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == case.pk
    assert body["url"].endswith(detail(case))
    hits = {hit["id"]: hit for hit in body["hits"]}
    assert set(hits) == {first.pk, second.pk}
    shown = hits[first.pk]
    assert set(shown) >= {"id", "event", "rule", "indicator", "field", "label"}
    assert shown["event"] == first.event_id
    assert shown["rule"] == "Known-bad intel"
    assert shown["indicator"] == {"type": "domain", "value": "evil.example"}
    assert shown["field"] == first.field
    assert shown["label"]["disposition"] == "false_positive"
    assert shown["label"]["reason"] == "benign_site"
    assert shown["label"]["note"] == "a news site"
    assert shown["label"]["labelled_by"] == "ana"
    assert shown["label"]["labelled_at"]
    assert hits[second.pk]["label"] is None


def test_an_unknown_case_is_a_json_404(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/cases/999999")
    assert response.status_code == 404
    assert "error" in response.json()


# --- get next ---------------------------------------------------------------------------------


def test_next_claims_the_most_urgent_case_then_answers_204(api_client: APIClient, analyst) -> None:
    later = make_case(author="a1")
    urgent = make_case(author="a2", confidence=95)
    response = api_client.post(NEXT)
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["version"]) == (urgent.pk, urgent.version + 1)
    assert (body["assignee"], body["status"]) == ("ana", "in_review")
    urgent.refresh_from_db()
    assert urgent.assignee == analyst
    assert api_client.post(NEXT).json()["id"] == later.pk
    response = api_client.post(NEXT)
    assert response.status_code == 204
    assert response.content == b""


def test_next_skips_cases_someone_has(api_client: APIClient) -> None:
    assign_to(make_case(author="a1"), make_user())
    assert api_client.post(NEXT).status_code == 204


# --- labelling a case -------------------------------------------------------------------------


def test_labelling_resolves_the_case_and_labels_its_hits(api_client: APIClient, analyst) -> None:
    source = make_source("Feed A")
    indicator = make_indicator("evil.example", sources=(source,))
    case = make_case(indicator=indicator, events=2)
    body = {
        "disposition": "false_positive",
        "reason": "benign_site",
        "note": "a bakery",
        "version": case.version,
    }
    response = api_client.post(label_url(case), body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["disposition"], data["reason"], data["note"]) == (
        "resolved",
        "false_positive",
        "benign_site",
        "a bakery",
    )
    assert data["version"] == case.version + 1
    assert data["assignee"] == "ana"
    assert data["resolved_at"]
    assert {hit["label"]["disposition"] for hit in data["hits"]} == {"false_positive"}
    labels = HitLabel.objects.filter(case=case)
    assert labels.count() == 2
    for label in labels:
        assert label.source_ids == [source.pk]
        assert (label.reason, label.labelled_by) == ("benign_site", analyst)
        assert label.indicator_value == "evil.example"


def test_a_false_positive_without_a_reason_is_a_400(api_client: APIClient) -> None:
    case = make_case()
    body = {"disposition": "false_positive", "version": case.version}
    response = api_client.post(label_url(case), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "a false positive needs a reason code"
    case.refresh_from_db()
    assert (case.status, case.version) == ("new", 1)
    assert not HitLabel.objects.exists()


def test_the_reason_other_needs_a_note(api_client: APIClient) -> None:
    case = make_case()
    body = {"disposition": "false_positive", "reason": "other", "version": case.version}
    response = api_client.post(label_url(case), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "the reason 'other' needs a note"
    body["note"] = "a parody account"
    assert api_client.post(label_url(case), body, format="json").status_code == 200


def test_an_unknown_reason_code_is_a_400(api_client: APIClient) -> None:
    case = make_case()
    body = {"disposition": "false_positive", "reason": "bored", "version": case.version}
    response = api_client.post(label_url(case), body, format="json")
    assert response.status_code == 400
    assert "unknown reason code 'bored'" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"disposition": "true_positive"}, "version"),
        ({"disposition": "maybe", "version": 1}, "disposition"),
        ({"version": 1}, "disposition"),
        ({"disposition": "true_positive", "version": "one"}, "version"),
    ],
)
def test_a_malformed_label_is_a_400_naming_the_field(
    api_client: APIClient, body: dict, field: str
) -> None:
    case = make_case()
    response = api_client.post(label_url(case), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    case.refresh_from_db()
    assert case.status == "new"


def test_a_stale_version_is_a_409_with_the_case_as_it_is_now(
    api_client: APIClient, analyst
) -> None:
    case = make_case()
    claim_next(make_user("bob"))  # version 2, assigned to bob
    body = {"disposition": "true_positive", "version": 1}
    response = api_client.post(label_url(case), body, format="json")
    assert response.status_code == 409
    data = response.json()
    assert "changed by someone else" in data["error"]
    assert (data["id"], data["version"], data["status"], data["assignee"]) == (
        case.pk,
        2,
        "in_review",
        "bob",
    )
    assert "hits" in data
    case.refresh_from_db()
    assert (case.status, case.version) == ("in_review", 2)


def test_an_analyst_cannot_label_someone_elses_case(api_client: APIClient) -> None:
    case = assign_to(make_case(), make_user("bob"))
    body = {"disposition": "true_positive", "version": case.version}
    response = api_client.post(label_url(case), body, format="json")
    assert response.status_code == 403
    assert "assigned to bob" in response.json()["error"]
    case.refresh_from_db()
    assert case.status == "in_review"


def test_a_lead_can_label_someone_elses_case(lead) -> None:
    case = assign_to(make_case(), make_user("bob"))
    body = {"disposition": "duplicate", "version": case.version}
    response = client_for(lead).post(label_url(case), body, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assignee"]) == ("resolved", "bob")


def test_labelling_an_unknown_case_is_a_404(api_client: APIClient) -> None:
    body = {"disposition": "true_positive", "version": 1}
    response = api_client.post("/api/v1/cases/999999/label", body, format="json")
    assert response.status_code == 404


# --- labelling one hit ------------------------------------------------------------------------


def test_labelling_a_hit_returns_its_case_with_the_label(api_client: APIClient, analyst) -> None:
    case = make_case(events=2)
    hit, other = case.hits.order_by("id")
    body = {"disposition": "false_positive", "reason": "stale_indicator", "version": 1}
    response = api_client.post(hit_label_url(hit), body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["version"], data["status"]) == (case.pk, 2, "new")
    hits = {h["id"]: h for h in data["hits"]}
    assert hits[hit.pk]["label"]["disposition"] == "false_positive"
    assert hits[hit.pk]["label"]["labelled_by"] == "ana"
    assert hits[other.pk]["label"] is None
    label = HitLabel.objects.get(hit=hit)
    assert (label.case_id, label.reason) == (case.pk, "stale_indicator")


def test_labelling_a_hit_with_a_stale_version_is_a_409(api_client: APIClient) -> None:
    case = make_case()
    hit = case.hits.get()
    body = {"disposition": "true_positive", "version": 1}
    assert api_client.post(hit_label_url(hit), body, format="json").status_code == 200
    response = api_client.post(hit_label_url(hit), body, format="json")
    assert response.status_code == 409
    assert response.json()["version"] == 2
    assert HitLabel.objects.get(hit=hit).disposition == "true_positive"


def test_a_hit_label_follows_the_case_rules(api_client: APIClient, lead) -> None:
    case = assign_to(make_case(), make_user("bob"))
    hit = case.hits.get()
    body = {"disposition": "true_positive", "version": case.version}
    assert api_client.post(hit_label_url(hit), body, format="json").status_code == 403
    fp = {"disposition": "false_positive", "version": case.version}
    assert client_for(lead).post(hit_label_url(hit), fp, format="json").status_code == 400
    assert client_for(lead).post(hit_label_url(hit), body, format="json").status_code == 200
    assert HitLabel.objects.get(hit=hit).labelled_by == lead


def test_labelling_an_unknown_hit_is_a_404(api_client: APIClient) -> None:
    body = {"disposition": "true_positive", "version": 1}
    assert api_client.post("/api/v1/hits/999999/label", body, format="json").status_code == 404


def test_a_hit_in_no_case_is_a_400(api_client: APIClient) -> None:
    hit = shadow_hit()
    body = {"disposition": "true_positive", "version": 1}
    response = api_client.post(hit_label_url(hit), body, format="json")
    assert response.status_code == 400
    assert "in no case" in response.json()["error"]


# --- schema and root --------------------------------------------------------------------------


def test_the_schema_documents_the_endpoints(api_client: APIClient) -> None:
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/cases",
        "/api/v1/cases/next",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/label",
        "/api/v1/hits/{id}/label",
    } <= set(paths)
    label = paths["/api/v1/cases/{id}/label"]["post"]["responses"]
    assert {"200", "400", "403", "404", "409"} <= set(label)
    assert "204" in paths["/api/v1/cases/next"]["post"]["responses"]


def test_the_api_root_links_the_cases(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/").json()["cases"].endswith(LIST)
