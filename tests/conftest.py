"""Shared fixtures: users for each role, a clean Redis database per test, API clients."""

import contextlib

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from tdp.health import redis_client
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _clean_redis(request: pytest.FixtureRequest) -> None:
    """Every test starts with an empty Redis database of its own (see tests/settings.py)."""
    with contextlib.suppress(Exception):  # a test that stops Redis handles that itself
        redis_client().flushdb()


@pytest.fixture
def analyst(db):
    return make_user("ana", role="analyst")


@pytest.fixture
def cleared_analyst(db):
    return make_user("clara", role="analyst", cleared=True)


@pytest.fixture
def lead(db):
    return make_user("leo", role="lead", cleared=True)


@pytest.fixture
def admin_user(db):
    return make_user("ada", role="admin", cleared=True)


@pytest.fixture
def nobody(db):
    """A logged-in user without any role."""
    return make_user("nemo", role=None)


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def analyst_client(analyst) -> Client:
    return _client_for(analyst)


@pytest.fixture
def cleared_client(cleared_analyst) -> Client:
    return _client_for(cleared_analyst)


@pytest.fixture
def lead_client(lead) -> Client:
    return _client_for(lead)


@pytest.fixture
def admin_client_(admin_user) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def api_client(analyst) -> APIClient:
    client = APIClient()
    client.force_authenticate(analyst)
    return client


@pytest.fixture
def roles_exist(db) -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {"analyst", "lead", "admin"}
