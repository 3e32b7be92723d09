"""`GET /api/v1/metrics/precision`: rows, parameters, errors, access and the schema."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases import triage
from tests.metrics.conftest import NOON, hits_with_labels, make_case_for, make_hit

pytestmark = pytest.mark.django_db

URL = reverse("api_metrics_precision")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_returns_rows_per_rule(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=3, fp=1, unlabelled=1, at=NOON)
    response = client_for(lead).get(URL, {"by": "rule"})
    assert response.status_code == 200
    assert response.json() == [
        {
            "key": "Phish",
            "hits": 5,
            "labelled": 4,
            "true_positive": 3,
            "false_positive": 1,
            "precision": 0.75,
        }
    ]


@pytest.mark.parametrize(
    ("by", "key"),
    [("policy", "phishing"), ("feed", "Feed A"), ("indicator", "domain:a.example")],
)
def test_it_groups_by_policy_feed_and_indicator(world, lead, by, key) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, fp=1, at=NOON)
    rows = client_for(lead).get(URL, {"by": by}).json()
    assert rows[0]["key"] == key and rows[0]["precision"] == 0.5


def test_precision_is_null_without_labels(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], unlabelled=2, at=NOON)
    [row] = client_for(lead).get(URL, {"by": "rule"}).json()
    assert row["labelled"] == 0 and row["precision"] is None


def test_since_and_until_take_iso_dates_and_times(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    client = client_for(lead)
    assert client.get(URL, {"by": "rule", "since": "2026-10-14"}).json()[0]["hits"] == 1
    assert client.get(URL, {"by": "rule", "since": "2026-10-14T12:00:01Z"}).json() == []
    assert client.get(URL, {"by": "rule", "until": "2026-10-14T12:00:00+00:00"}).json() == []
    assert client.get(URL, {"by": "rule", "until": "2026-10-15"}).json()[0]["hits"] == 1


def test_a_label_made_a_moment_ago_is_in_the_next_answer(world, lead, analyst) -> None:
    from metrics import rollups

    case = make_case_for(world["phish"], at=NOON)
    make_hit(world["phish"], world["a_only"], at=NOON, case=case)
    rollups.refresh(full=True)
    client = client_for(lead)
    assert client.get(URL, {"by": "rule"}).json()[0]["precision"] is None
    triage.label_case(case.pk, user=analyst, disposition="false_positive", reason="benign_site")
    [row] = client.get(URL, {"by": "rule"}).json()
    assert (row["false_positive"], row["precision"]) == (1, 0.0)


def test_tlp_red_indicators_are_left_out_for_uncleared_users(world, lead, uncleared_lead) -> None:
    hits_with_labels(world["phish"], world["red"], fp=1, at=NOON)
    assert client_for(lead).get(URL, {"by": "indicator"}).json()[0]["key"] == "domain:red.example"
    assert client_for(uncleared_lead).get(URL, {"by": "indicator"}).json() == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "by"),
        ({"by": "author"}, "by"),
        ({"by": "rule", "since": "last tuesday"}, "since"),
        ({"by": "rule", "until": "2026-13-01"}, "until"),
        ({"by": "rule", "since": "2026-10-02", "until": "2026-10-01"}, "until"),
        ({"by": "rule", "limit": "0"}, "limit"),
        ({"by": "rule", "limit": "x"}, "limit"),
    ],
)
def test_bad_parameters_get_a_400_naming_the_field(lead, params, field) -> None:
    response = client_for(lead).get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith(f"{field}:")
    assert field in body["detail"]


def test_it_is_for_leads_and_admins(analyst, admin_user) -> None:
    response = client_for(analyst).get(URL, {"by": "rule"})
    assert response.status_code == 403
    assert "lead" in response.json()["error"]
    assert client_for(admin_user).get(URL, {"by": "rule"}).status_code == 200
    assert APIClient().get(URL, {"by": "rule"}).status_code in (401, 403)


def test_it_only_answers_get(lead) -> None:
    assert client_for(lead).post(URL, {"by": "rule"}).status_code == 405


def test_it_is_in_the_openapi_schema(lead) -> None:
    schema = client_for(lead).get(reverse("api_schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/metrics/precision"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names >= {"by", "since", "until", "limit"}
    by = next(p for p in operation["parameters"] if p["name"] == "by")
    assert by["required"] is True
    assert set(by["schema"]["enum"]) == {"rule", "indicator", "feed", "policy"}
