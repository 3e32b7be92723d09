"""The REST API root, its OpenAPI schema and docs, with the pages' role rules."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_api_root_lists_collections(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/")
    assert response.status_code == 200
    assert response.json()["indicators"].endswith("/api/v1/indicators")


def test_the_api_needs_authentication(client: Client) -> None:
    response = APIClient().get("/api/v1/indicators")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_token_authentication_works(analyst) -> None:
    token = Token.objects.create(user=analyst)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/indicators").status_code == 200


def test_users_without_a_role_are_refused(nobody) -> None:
    client = APIClient()
    client.force_authenticate(nobody)
    response = client.get("/api/v1/indicators")
    assert response.status_code == 403
    assert "analyst role" in response.json()["error"]


def test_the_openapi_schema_describes_the_api(analyst_client: Client) -> None:
    response = analyst_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/api/v1/indicators" in response.json()["paths"]


def test_the_docs_page_loads_for_logged_in_users(analyst_client: Client) -> None:
    assert analyst_client.get("/api/docs/").status_code == 200
