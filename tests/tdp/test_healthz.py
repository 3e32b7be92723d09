"""/healthz: JSON health of the database, Redis and the RQ workers."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_reports_all_ok_without_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"db": "ok", "redis": "ok", "workers": 0}


def test_it_counts_registered_workers(client: Client) -> None:
    import django_rq
    from rq import Worker

    worker = Worker([django_rq.get_queue("default")], connection=django_rq.get_connection())
    worker.register_birth()
    try:
        assert client.get("/healthz").json()["workers"] == 1
    finally:
        worker.register_death()


def test_it_says_503_naming_redis_when_redis_is_down(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["db"] == "ok"
    assert body["redis"].startswith("down")
    assert body["workers"] == 0


def test_pages_that_do_not_need_redis_render_while_it_is_down(
    analyst_client: Client, settings
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    for name in ("/intel/indicators/", "/intel/indicators/add/", "/intel/paste/"):
        assert analyst_client.get(name).status_code == 200, name


def test_it_rejects_post(client: Client) -> None:
    assert client.post("/healthz").status_code == 405
