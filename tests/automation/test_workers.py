"""Automation on real RQ workers: `manage.py rqworker high default low` processes (as
`scripts/run.sh` starts them) against real Redis and PostgreSQL, with real webhook and
enrichment servers on 127.0.0.1. Success, a 500 then success, timeouts, Redis stopped while a
case is opened (nothing lost), a worker SIGKILLed mid-playbook (no webhook sent twice), and a
case opened just after a drain finished (its kick must still queue a drain).

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
from tdp.models import AuditEntry
from tests.factories import make_case
from tests.httpserver import LocalHTTPServer, RecordedRequest, Route

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wh-s3cret-for-tests"
API_KEY = "rep-k3y-never-stored-0042"

try:  # one xdist worker runs these (they share Redis's queues with their subprocesses)
    ONE_XDIST_WORKER = [pytest.mark.xdist_group("workers")]
except pytest.fail.Exception:  # -p no:xdist: the marker is not registered and nothing to group
    ONE_XDIST_WORKER = []

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.slow,
    *ONE_XDIST_WORKER,
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


def start_worker(
    log: Path, *, burst: bool = True, extra_args: tuple[str, ...] = (), **env: str
) -> subprocess.Popen:
    """`manage.py rqworker high default low` in its own process group, logging to ``log``."""
    command = [sys.executable, "manage.py", "rqworker", "high", "default", "low", *extra_args]
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


def run_burst_worker(
    log: Path, timeout: float = 30, extra_args: tuple[str, ...] = (), **env: str
) -> None:
    """Run a burst worker until the queues are empty; fail with its log if it does not exit 0."""
    process = start_worker(log, extra_args=extra_args, **env)
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


def test_a_500_is_retried_by_the_worker_then_succeeds(server, tmp_path) -> None:
    hook_answers = iter([Route(status=500), Route(status=503), Route(json={"ok": True})])
    server.route("/hook", handler=lambda request: next(hook_answers))
    rep_answers = iter([Route(status=500), Route(json={"score": 7})])
    server.route("/rep/evil.example", handler=lambda request: next(rep_answers))
    HttpEnricher.objects.create(
        name="rep", applies_to=["domain"], url_template=server.url("/rep/{value}")
    )
    playbook([hook(server, retries=3)])
    case = make_case(value="evil.example")

    run_burst_worker(tmp_path / "worker.log")

    run = PlaybookRun.objects.get()
    assert run.status == "success", run.error
    assert run.steps[0]["output"]["attempts"] == 3
    sent = requests_to(server, "/hook")
    assert len(sent) == 3
    assert {r.headers["idempotency-key"] for r in sent} == {
        f"case_created:case:{case.pk}:{run.playbook_id}:0"
    }
    # The enricher's 500 deferred it to a `low` job, which the same worker ran: stored.
    assert len(requests_to(server, "/rep/evil.example")) == 2
    assert Enrichment.objects.get(provider="http:rep").data == {"score": 7}
    assert queued_jobs() == {"high": 0, "default": 0, "low": 0}
    assert failed_jobs() == 0


def test_timeouts_fail_the_run_and_defer_enrichment_until_a_retry(server, tmp_path) -> None:
    server.route("/hook", body=b"{}", delay=5)
    server.route("/rep/evil.example", json={"score": 1}, delay=5)
    HttpEnricher.objects.create(
        name="rep",
        applies_to=["domain"],
        url_template=server.url("/rep/{value}"),
        timeout_seconds=1,
    )
    playbook([{"type": "set_priority", "priority": "P2"}, hook(server, retries=1, timeout=1)])
    case = make_case(value="evil.example")
    started = time.monotonic()

    run_burst_worker(tmp_path / "worker.log")

    assert time.monotonic() - started < 12  # bounded by the timeouts, not the 5 s delays
    run = PlaybookRun.objects.get()
    assert run.status == "failed"
    assert "timed out after 1 s" in run.error and "after 2 attempts" in run.error
    assert [s["status"] for s in run.steps] == ["done", "failed"]
    assert len(requests_to(server, "/hook")) == 2
    event = AutomationEvent.objects.get(trigger="case_created")
    assert event.processed_at is not None and event.error == ""  # the run holds the failure
    # The enricher timed out in the drain and again in its `low` job: RQ retries it later.
    assert not Enrichment.objects.filter(provider="http:rep").exists()
    low = django_rq.get_queue("low")
    assert low.scheduled_job_registry.count == 1
    assert failed_jobs() == 0

    # The services recover; the retry's time comes (a worker's scheduler enqueues it) and a
    # lead presses Retry on the failed run (see test_views): both finish.
    server.route("/hook", json={"ok": True})
    server.route("/rep/evil.example", json={"score": 1})
    (job_id,) = low.scheduled_job_registry.get_job_ids()
    low.connection.zadd(low.scheduled_job_registry.key, {job_id: time.time() - 1})
    from automation.playbooks.runner import retry_run

    retry_run(run)  # commits: the kick queues a drain
    run_burst_worker(tmp_path / "worker.log", extra_args=("--with-scheduler",))

    run.refresh_from_db()
    assert run.status == "success", run.error
    assert [s["status"] for s in run.steps] == ["done", "done"]
    keys = {r.headers["idempotency-key"] for r in requests_to(server, "/hook")}
    assert keys == {f"case_created:case:{case.pk}:{run.playbook_id}:1"}
    case.refresh_from_db()
    assert case.priority == 2
    done_once = AuditEntry.objects.filter(action="case.priority_set", user_name="playbook:pb")
    assert done_once.count() == 1  # the finished step was not repeated
    assert Enrichment.objects.get(provider="http:rep").data == {"score": 1}
    assert low.scheduled_job_registry.count == 0


# --- Redis stopped ----------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own on a free port, without persistence (a restart loses
    every queued job, the worst case for the outbox)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        options = {"port": self.port, "bind": "127.0.0.1", "dir": self.directory, "save": ""}
        options["appendonly"] = "no"
        command = [binary]
        for name, value in options.items():
            command += [f"--{name}", str(value)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        wait_for(self._answers, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(7) == b"+PONG\r\n"
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis(settings, tmp_path) -> Iterator[str]:
    """Point this process at a private Redis (same database number); yields its REDIS_URL base
    for the workers (tests.settings appends the database)."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    db = settings.REDIS_URL.rsplit("/", 1)[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{redis.port}/{db}"
    settings.RQ_QUEUES = {
        name: {**config, "URL": settings.REDIS_URL} for name, config in settings.RQ_QUEUES.items()
    }
    try:
        yield redis
    finally:
        redis.stop()


def test_cases_opened_while_redis_is_down_are_processed_once_it_is_back(
    server, private_redis, tmp_path, caplog
) -> None:
    server.route("/hook", json={"ok": True})
    playbook([hook(server)])
    redis_url = f"redis://127.0.0.1:{private_redis.port}/0"
    before = make_case(author="a1", value="one.example")
    assert queued_jobs()["high"] == 1
    private_redis.stop()  # the queued drain job is lost with it

    during = make_case(author="a2", value="two.example")  # the commit succeeds

    assert Case.objects.filter(pk__in=[before.pk, during.pk]).count() == 2
    assert "automation kick failed" in caplog.text
    assert outbox.pending_count() == 2
    private_redis.start()
    assert queued_jobs()["high"] == 0
    assert kick_automation() is True  # the scheduler's minute tick
    run_burst_worker(tmp_path / "worker.log", REDIS_URL=redis_url)

    runs = PlaybookRun.objects.order_by("object_id")
    assert [(r.object_id, r.status) for r in runs] == [
        (before.pk, "success"),
        (during.pk, "success"),
    ]
    bodies = sorted(json.loads(r.body)["case"]["id"] for r in requests_to(server, "/hook"))
    assert bodies == [before.pk, during.pk]  # one webhook per case
    assert outbox.pending_count() == 0
    assert kick_automation() is False  # nothing waits any more


# --- A worker killed mid-playbook -------------------------------------------------------------


def test_a_worker_killed_mid_playbook_is_resumed_without_repeating_a_webhook(
    server, tmp_path
) -> None:
    server.route("/first", json={"ok": True})
    server.route("/slow", json={"ok": True}, delay=8)
    playbook(
        [
            hook(server, "/first"),
            hook(server, "/slow", retries=0, timeout=20),
            {"type": "tag", "tags": ["after"]},
        ]
    )
    case = make_case()
    log = tmp_path / "worker.log"
    worker = start_worker(log, burst=False)
    try:
        wait_for(lambda: requests_to(server, "/slow"), timeout=15, what="the slow webhook")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-request
        worker.wait()

    run = PlaybookRun.objects.get()
    assert run.status == "running"
    assert [s["status"] for s in run.steps] == ["done", "started"]
    event = AutomationEvent.objects.get(trigger="case_created")
    assert event.claimed_at is not None and event.processed_at is None
    # The claim is fresh: the minute tick queues a drain, but nobody steals the event yet.
    assert kick_automation() is True
    run_burst_worker(log)
    assert PlaybookRun.objects.get().steps == run.steps
    # STALE_CLAIM later, the next tick's drain claims it again and resumes the run.
    AutomationEvent.objects.filter(pk=event.pk).update(
        claimed_at=event.claimed_at - outbox.STALE_CLAIM - timedelta(seconds=1)
    )
    server.route("/slow", json={"ok": True})
    assert kick_automation() is True
    run_burst_worker(log)

    run.refresh_from_db()
    assert run.status == "success", run.error
    assert [s["status"] for s in run.steps] == ["done", "done", "done"]
    assert len(requests_to(server, "/first")) == 1  # finished before the kill: never repeated
    slow = requests_to(server, "/slow")  # in flight at the kill: sent again, same key
    assert len(slow) == 2
    assert {r.headers["idempotency-key"] for r in slow} == {
        f"case_created:case:{case.pk}:{run.playbook_id}:1"
    }
    case.refresh_from_db()
    assert case.tags == ["after"]
    event.refresh_from_db()
    assert event.processed_at is not None and event.attempts == 2


# --- Wake-ups ---------------------------------------------------------------------------------


def test_a_case_opened_just_after_a_drain_finished_does_not_wait_for_the_minute_tick(
    server, tmp_path
) -> None:
    server.route("/hook", json={"ok": True})
    playbook([hook(server)])
    worker = start_worker(tmp_path / "worker.log", burst=False)
    try:
        from rq import Worker

        connection_ = django_rq.get_connection("high")
        wait_for(lambda: Worker.count(connection=connection_), what="the worker to start")
        first = make_case(author="a1")
        wait_for(
            lambda: PlaybookRun.objects.filter(object_id=first.pk, status="success").exists(),
            what="the first case's run",
        )
        second = make_case(author="a2")  # committed well under a second after the first

        # The README: "a drain job is queued on the high queue when that transaction commits".
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and outbox.pending_count():
            time.sleep(0.1)
        assert outbox.pending_count() == 0, (
            "the second case's event is still waiting: its kick was swallowed by the first's "
            "one-second NX key after the drain had already finished, so only the cron tick "
            "(up to 60 s later) would drain it"
        )
        assert PlaybookRun.objects.get(object_id=second.pk).status == "success"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
