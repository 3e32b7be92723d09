"""The intel API: /api/v1/indicators (list, filters, cursor pages, add) and one indicator."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from intel.models import TLP, Indicator, Status
from tdp.models import AuditEntry
from tests.factories import make_indicator, make_source

pytestmark = pytest.mark.django_db

LIST = "/api/v1/indicators"


def detail(indicator: Indicator) -> str:
    return f"/api/v1/indicators/{indicator.pk}"


def values(response) -> list[str]:
    return [item["value"] for item in response.json()["results"]]


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("get", LIST), ("post", LIST), ("get", "{detail}")])
def test_anonymous_requests_get_a_json_403(method: str, path: str) -> None:
    path = path.format(detail=detail(make_indicator()))
    response = getattr(APIClient(), method)(path, {"value": "evil.example"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "Authentication credentials were not provided."


@pytest.mark.parametrize(("method", "path"), [("get", LIST), ("post", LIST), ("get", "{detail}")])
def test_users_without_a_role_get_a_json_403(nobody, method: str, path: str) -> None:
    client = APIClient()
    client.force_authenticate(nobody)
    path = path.format(detail=detail(make_indicator()))
    response = getattr(client, method)(path, {"value": "new.example"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "You need the analyst role to use the API."
    assert not Indicator.objects.filter(value="new.example").exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", LIST), ("delete", LIST), ("post", "{detail}"), ("delete", "{detail}")],
)
def test_wrong_methods_get_a_json_405(api_client: APIClient, method: str, path: str) -> None:
    path = path.format(detail=detail(make_indicator()))
    response = getattr(api_client, method)(path)
    assert response.status_code == 405
    assert "not allowed" in response.json()["error"]


def test_a_token_authenticates(analyst) -> None:
    make_indicator("evil.example")
    token = Token.objects.create(user=analyst)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(LIST)
    assert response.status_code == 200
    assert values(response) == ["evil.example"]


# --- list -------------------------------------------------------------------------------------


def test_the_list_shows_indicators_with_their_sources(api_client: APIClient) -> None:
    make_indicator("evil.example", sources=(make_source("Feed B"), make_source("Feed A")))
    response = api_client.get(LIST)
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["value"] == "evil.example"
    assert item["sources"] == ["Feed A", "Feed B"]
    assert {"id", "type", "status", "confidence", "tlp", "tags", "expires_at"} <= set(item)


def test_the_list_takes_the_page_filters(api_client: APIClient) -> None:
    partner = make_source("Partner")
    make_indicator("evil.example", tags=["phishing"], confidence=90, sources=(partner,))
    make_indicator("evil-too.example", tags=["phishing"], confidence=20)
    make_indicator("192.0.2.1", type="ipv4", confidence=90)
    make_indicator("gone.example", status=Status.REVOKED, confidence=90)
    assert values(api_client.get(LIST, {"q": "EVIL"})) == ["evil-too.example", "evil.example"]
    assert values(api_client.get(LIST, {"type": "ipv4"})) == ["192.0.2.1"]
    assert values(api_client.get(LIST, {"status": "revoked"})) == ["gone.example"]
    assert values(api_client.get(LIST, {"source": partner.pk})) == ["evil.example"]
    assert values(api_client.get(LIST, {"tag": "phishing", "confidence_min": 50})) == [
        "evil.example"
    ]
    assert values(api_client.get(LIST, {"tlp": "RED"})) == []


def test_an_invalid_filter_is_a_json_400(api_client: APIClient) -> None:
    response = api_client.get(LIST, {"type": "nonsense"})
    assert response.status_code == 400
    assert "type" in response.json()["error"]


def test_the_list_pages_with_a_cursor(api_client: APIClient) -> None:
    created = [make_indicator(f"n{n}.example").value for n in range(5)]
    first = api_client.get(LIST, {"limit": 2}).json()
    assert [i["value"] for i in first["results"]] == created[:-3:-1]
    assert first["previous"] is None
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()
    seen = [i["value"] for page in (first, second, third) for i in page["results"]]
    assert seen == created[::-1]
    assert third["next"] is None


def test_the_list_needs_few_queries(api_client: APIClient, django_assert_max_num_queries) -> None:
    sources = [make_source(f"Feed {n}") for n in range(3)]
    for n in range(30):
        make_indicator(f"n{n}.example", sources=sources)
    with django_assert_max_num_queries(6):
        response = api_client.get(LIST)
    assert len(response.json()["results"]) == 30


# --- one indicator ----------------------------------------------------------------------------


def test_one_indicator_comes_with_its_provenance(api_client: APIClient) -> None:
    indicator = make_indicator("evil.example", sources=(make_source("Partner"),))
    response = api_client.get(detail(indicator))
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["value"], data["sources"]) == (
        indicator.pk,
        "evil.example",
        ["Partner"],
    )
    assert data["provenance"][0]["source"] == "Partner"
    assert data["provenance"][0]["reference"] == "test"


def test_a_missing_indicator_is_a_json_404(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/indicators/999999")
    assert response.status_code == 404
    assert "error" in response.json()


# --- adding -----------------------------------------------------------------------------------


def test_posting_one_object_returns_201_with_the_created_indicator(
    api_client: APIClient, analyst
) -> None:
    response = api_client.post(
        LIST,
        {"value": "hxxps://Evil[.]example/login", "tags": ["Phishing"], "tlp": "GREEN"},
        format="json",
    )
    assert response.status_code == 201
    data = response.json()
    indicator = Indicator.objects.get()
    assert data["indicator"]["id"] == indicator.pk
    assert data["indicator"]["value"] == "https://evil.example/login"
    assert (data["created"], data["received"]) == (1, 1)
    assert (indicator.type, indicator.tlp, indicator.tags) == ("url", TLP.GREEN, ["phishing"])
    assert indicator.provenance.get().reference == "api"
    assert AuditEntry.objects.get(action="indicator.create").user == analyst


def test_posting_a_known_value_returns_the_existing_indicator(api_client: APIClient) -> None:
    existing = make_indicator("evil.example", confidence=40)
    response = api_client.post(LIST, {"value": "EVIL.example", "confidence": 80}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert (data["created"], data["updated"]) == (0, 1)
    assert data["indicator"]["id"] == existing.pk
    assert data["indicator"]["confidence"] == 80


def test_posting_a_named_source_creates_an_api_source(api_client: APIClient) -> None:
    api_client.post(LIST, {"value": "evil.example", "source": "SOAR"}, format="json")
    source = Indicator.objects.get().provenance.get().source
    assert (source.name, source.kind) == ("SOAR", "api")


# Transactional: items with different sources are separate ingest batches, each committed.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_posting_a_list_returns_the_counts(api_client: APIClient) -> None:
    make_indicator("known.example")
    payload = [
        {"value": "evil.example"},
        {"value": "192.0.2.1", "source": "Partner"},
        {"value": "known.example"},
        {"value": "999.1.1.1"},
        {"value": "a" * 64, "type": "pdq"},
    ]
    response = api_client.post(LIST, payload, format="json")
    assert response.status_code == 201
    data = response.json()
    assert (data["received"], data["created"], data["updated"], data["rejected"]) == (5, 3, 1, 1)
    assert "above 255" in data["errors"][0]["reason"]
    assert "indicator" not in data
    assert Indicator.objects.get(type="pdq").value == "a" * 64


def test_posting_an_invalid_value_is_a_json_400(api_client: APIClient) -> None:
    response = api_client.post(LIST, {"value": "010.0.0.1"}, format="json")
    assert response.status_code == 400
    assert "leading zero" in response.json()["error"]
    assert Indicator.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "value"),
        ({"value": "evil.example", "type": "bogus"}, "type"),
        ({"value": "evil.example", "confidence": 101}, "confidence"),
        ({"value": "evil.example", "tlp": "PURPLE"}, "tlp"),
        ([{"value": "evil.example"}, {"value": ""}], "value"),
    ],
)
def test_an_invalid_payload_is_a_json_400_naming_the_field(
    api_client: APIClient, payload, field: str
) -> None:
    response = api_client.post(LIST, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert Indicator.objects.count() == 0


def test_more_than_ten_thousand_items_are_refused(api_client: APIClient) -> None:
    payload = [{"value": f"n{n}.example"} for n in range(10_001)]
    response = api_client.post(LIST, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "at most 10,000 indicators per request"
    assert Indicator.objects.count() == 0
