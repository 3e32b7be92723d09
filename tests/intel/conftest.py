"""Fixtures for the feed tests: a real HTTP server on 127.0.0.1 and fast feed settings."""

import os
from collections.abc import Iterator

import pytest
from django.db import connection

from tests.httpserver import LocalHTTPServer


@pytest.fixture
def fast_feeds(settings) -> None:
    """Retries without sleeping, short timeouts, a small size cap: feed tests stay fast."""
    settings.TDP_FEED_RETRY_DELAYS = [0, 0]
    settings.TDP_FEED_TIMEOUT = 5
    settings.TDP_FEED_MAX_BYTES = 10 * 1024**2
    settings.TDP_FEED_JOB_TIMEOUT = 3600


@pytest.fixture
def private_urls(settings) -> None:
    """The explicit opt-in that lets pulls reach the test's own server on 127.0.0.1."""
    settings.TDP_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def feed_server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture
def command_env() -> dict[str, str]:
    """Environment for a `manage.py` subprocess that works on this test's database.

    Only transactional tests (`django_db(transaction=True, ...)`) commit what it should see.
    """
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}"
    )
    return dict(
        os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tests.settings", LOG_LEVEL="WARNING"
    )
