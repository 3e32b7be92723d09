"""Login, roles and navigation: every page but login and /healthz needs a login and a role."""

import pytest
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ANALYST_PAGES = [
    "/intel/indicators/",
    "/intel/indicators/add/",
    "/intel/paste/",
    "/intel/imports/new/",
    "/intel/allowlist/",
]
ADMIN_PAGES = ["/audit/", "/jobs/"]


@pytest.mark.parametrize("path", ANALYST_PAGES + ADMIN_PAGES + ["/", "/api/docs/"])
def test_anonymous_users_are_sent_to_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ANALYST_PAGES)
def test_users_without_a_role_get_403(nobody, path: str) -> None:
    client = Client()
    client.force_login(nobody)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_analysts_get_403_on_admin_pages(analyst_client: Client, path: str) -> None:
    assert analyst_client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_leads_get_403_on_admin_pages(lead_client: Client, path: str) -> None:
    assert lead_client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES + ANALYST_PAGES)
def test_admins_open_every_page(admin_client_: Client, path: str) -> None:
    assert admin_client_.get(path).status_code == 200


def test_login_page_logs_a_user_in(client: Client, analyst) -> None:
    response = client.post("/login/", {"username": analyst.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/intel/indicators/").status_code == 200


def test_login_with_a_wrong_password_says_so(client: Client, analyst) -> None:
    response = client.post("/login/", {"username": analyst.username, "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_navigation_depends_on_the_role(analyst_client: Client, admin_client_: Client) -> None:
    analyst_page = analyst_client.get("/intel/indicators/").content.decode()
    admin_page = admin_client_.get("/intel/indicators/").content.decode()
    assert 'href="/intel/indicators/"' in analyst_page
    assert 'href="/audit/"' not in analyst_page
    assert 'href="/audit/"' in admin_page
    assert 'href="/jobs/"' in admin_page


def test_logout_needs_post(analyst_client: Client) -> None:
    assert analyst_client.get("/logout/").status_code == 405
    assert analyst_client.post("/logout/").status_code == 302
    assert analyst_client.get("/intel/indicators/").status_code == 302
