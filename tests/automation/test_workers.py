"""Automation on real RQ workers: `manage.py rqworker high default low` processes (as
`scripts/run.sh` starts them) against real Redis and PostgreSQL, with real webhook and
enrichment servers on 127.0.0.1. Success, a 500 then success, timeouts, Redis stopped while a
case is opened (nothing lost), and a worker SIGKILLed mid-playbook (no webhook sent twice).

The workers are subprocesses: they see the test database through DATABASE_URL, so these tests
commit for real (`transaction=True`), and the test's Redis database through tests.settings (the
same TDP_TEST_REDIS_DB / PYTEST_XDIST_WORKER environment).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import django_rq
import pytest
from django.db import connection

from automation import outbox
from automation.jobs import kick_automation
from automation.models import AutomationEvent, Enrichment, HttpEnricher, PlaybookRun
from automation.playbooks import save_playbook
from cases.models import Case
from tests.factories import make_case
from tests.httpserver import LocalHTTPServer, RecordedRequest, Route

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wh-s3cret-for-tests"
API_KEY = "rep-k3y-never-stored-0042"

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.xdist_group("workers"),
    pytest.mark.slow,
]


@pytest.fixture(autouse=True)
def _automation(settings) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = True
    settings.TDP_WEBHOOK_BACKOFF = 0.05
    outbox.forget_consumers()


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as local:
        yield local


# --- Workers ----------------------------------------------------------------------------------


def worker_env(**extra: str) -> dict[str, str]:
    """This test process's environment for a worker: the test database and Redis database."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}",
        "TDP_ALLOW_PRIVATE_URLS": "true",
        "TDP_WEBHOOK_BACKOFF": "0.05",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def start_worker(log: Path, *, burst: bool = True, **env: str) -> subprocess.Popen:
    """`manage.py rqworker high default low` in its own process group, logging to ``log``."""
    command = [sys.executable, "manage.py", "rqworker", "high", "default", "low"]
    if burst:
        command.append("--burst")
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=worker_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_burst_worker(log: Path, timeout: float = 30, **env: str) -> None:
    """Run a burst worker until the queues are empty; fail with its log if it does not exit 0."""
    process = start_worker(log, **env)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail(f"the burst worker did not finish in {timeout} s:\n{log.read_text()}")
    assert code == 0, log.read_text()


def wait_for(check: Callable[[], object], timeout: float = 10, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def hook(server: LocalHTTPServer, path: str = "/hook", **action: object) -> dict:
    return {"type": "webhook", "url": server.url(path), "secret": SECRET, **action}


def playbook(actions: list[dict], **fields: object) -> None:
    data = {"name": "pb", "trigger": "case_created", "actions": actions, **fields}
    save_playbook(data, actor="test")


def requests_to(server: LocalHTTPServer, path: str) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.split("?")[0] == path]


def queued_jobs() -> dict[str, int]:
    return {name: django_rq.get_queue(name).count for name in ("high", "default", "low")}


def failed_jobs() -> int:
    return sum(
        django_rq.get_queue(name).failed_job_registry.count for name in ("high", "default", "low")
    )


# --- Success, retries, timeouts ---------------------------------------------------------------


def test_a_worker_enriches_a_new_case_then_runs_its_playbook(server, tmp_path) -> None:
    server.route("/rep/evil.example", json={"score": 100, "noise": "dropped"})
    server.route("/hook", json={"ok": True})
    HttpEnricher.objects.create(
        name="rep",
        applies_to=["domain"],
        url_template=server.url("/rep/{value}"),
        api_key=API_KEY,
        api_key_header="x-apikey",
        fields=["score"],
    )
    playbook(
        [
            {"type": "set_priority", "priority": "P1"},
            {"type": "tag", "tags": ["known-bad"]},
            hook(server, body={"case": "{{ case.id }}", "values": "{{ case.indicator_values }}"}),
        ],
        conditions={"enrichment": {"http:rep.score": 100}},  # the enrichment came first
    )
    case = make_case(value="evil.example")
    assert queued_jobs()["high"] == 1  # the commit kicked a drain

    run_burst_worker(tmp_path / "worker.log")

    (lookup,) = requests_to(server, "/rep/evil.example")
    assert lookup.headers["x-apikey"] == API_KEY
    stored = Enrichment.objects.get(provider="http:rep")
    assert stored.data == {"score": 100}
    assert API_KEY not in json.dumps(stored.data) + stored.error
    run = PlaybookRun.objects.get()
    assert run.status == "success", run.error
    assert [s["status"] for s in run.steps] == ["done", "done", "done"]
    assert run.started_at <= run.first_action_at <= run.finished_at
    (sent,) = requests_to(server, "/hook")
    assert json.loads(sent.body) == {"case": case.pk, "values": ["evil.example"]}
    expected = "sha256=" + hmac.new(SECRET.encode(), sent.body, hashlib.sha256).hexdigest()
    assert sent.headers["x-tdp-signature"] == expected
    assert sent.headers["idempotency-key"] == f"case_created:case:{case.pk}:{run.playbook_id}:2"
    case.refresh_from_db()
    assert (case.priority, case.tags) == (1, ["known-bad"])
    event = AutomationEvent.objects.get(trigger="case_created")
    assert (event.attempts, event.error) == (1, "")
    assert event.processed_at is not None
    assert queued_jobs() == {"high": 0, "default": 0, "low": 0}
    assert failed_jobs() == 0
