"""Benchmark automation end to end: cases opened by real scans → the outbox → RQ workers →
enrichment and a 3-action playbook (set_priority, tag, a signed webhook to a local server).

Usage: ``.venv/bin/python bench/automation.py [--cases 10000] [--workers 2] [--batch 100]
[--paced-rate 8] [--paced-cases 480] [--worker-class both] [--profile 1000]
[--modes backlog,live,paced,profile] [--redis-db 3]``

Uses its own database (`tdp_bench_auto` beside DATABASE_URL's, recreated each run) and Redis
database ``--redis-db`` (flushed). Each case is opened the production way: content events, one
per author, each naming one of the bench's domain indicators, go through
`detection.scan.scan_events` in batches of ``--batch``, so the hit, its case (the default rule
groups per author) and the `case_created` outbox row are written in one transaction and the
commit kicks a drain on the `high` queue. Enrichment runs on the trigger (the default
`TDP_ENRICH_ON_TRIGGER`: internal history and URL anatomy for domains). The playbook is
`case_created` → set_priority P1, tag, webhook (HMAC-signed, to a threaded HTTP server in this
process that answers 200 at once). ``--workers`` processes run `manage.py rqworker high default
low` as `scripts/run.sh` does (the forking `rq.worker.Worker`, or `rq.worker.SimpleWorker`),
and this process calls the scheduler's minute tick (`kick_automation`) every 60 s as
`rqcron tdp/cron.py` would.

Modes (each on cases of its own):

- ``backlog``: ``--cases`` cases opened with no worker running, then the workers start: the
  drain-only rate (cases / (last run finished - workers started)).
- ``live``: the workers run while ``--cases`` cases are opened as fast as the scans go: the
  end-to-end rate (cases / (last run finished - first hit written); target >= 300 cases/s with
  2 workers) and the latency from a hit being written (`Hit.created_at`, the start of its
  scan's transaction) and from its commit to the playbook's first action
  (`PlaybookRun.first_action_at`), p50 and p95.
- ``paced``: the same latencies at a steady ``--paced-rate`` cases/s (ten scans a second).
- ``profile``: ``--profile`` cases drained in this process (one drain, no RQ) with each phase
  timed and its SQL queries counted, to show where an event's time goes.

Every run checks that each case got exactly one successful run and one webhook (one
Idempotency-Key each), and two enrichment results per indicator. Numbers vary with the machine
and its load; run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file shares its name with the `automation` app: take bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

DATABASE = "tdp_bench_auto"
TARGET_RATE = 300
SECRET = "bench-webhook-secret"
WORKER_CLASSES = {
    "fork": "rq.worker.Worker",
    "simple": "rq.worker.SimpleWorker",
}


def prepare_environment(redis_db: int) -> dict[str, str]:
    """Point this process at the bench database and Redis database, recreate and migrate."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tdp")
    url = urllib.parse.urlsplit(base)
    os.environ["DATABASE_URL"] = url._replace(path=f"/{DATABASE}").geturl()
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ["REDIS_URL"] = redis.rsplit("/", 1)[0] + f"/{redis_db}"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["TDP_ALLOW_PRIVATE_URLS"] = "true"  # the webhook goes to 127.0.0.1
    os.environ["DJANGO_SETTINGS_MODULE"] = "tdp.settings"
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=os.environ, check=True)
    return dict(os.environ)


# --- Workers and the minute tick ---------------------------------------------------------------


class Workers:
    """``count`` `rqworker high default low` processes (stopped with SIGTERM, then SIGKILL)."""

    def __init__(self, count: int, worker_class: str, env: dict[str, str]) -> None:
        self.count, self.worker_class, self.env = count, worker_class, env
        self.processes: list[subprocess.Popen] = []
        self.log = ROOT / "var" / "bench_automation_workers.log"

    def start(self) -> float:
        """Start them and wait until all are registered in Redis; returns when (epoch s)."""
        import django_rq
        from rq import Worker

        command = [sys.executable, "manage.py", "rqworker", "high", "default", "low"]
        command += ["--worker-class", self.worker_class]
        names = [f"bench-{os.getpid()}-{time.monotonic_ns()}-{i}" for i in range(self.count)]
        self.log.parent.mkdir(exist_ok=True)
        with self.log.open("ab") as log:
            self.processes = [
                subprocess.Popen(
                    [*command, "--name", name],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                for name in names
            ]
        connection = django_rq.get_connection("high")
        deadline = time.monotonic() + 60
        while not set(names) <= {w.name for w in Worker.all(connection=connection)}:
            if time.monotonic() > deadline:
                sys.exit("FAIL: the workers did not start")
            time.sleep(0.05)
        return time.time()

    def stop(self) -> float:
        """Stop them; returns the CPU seconds they used (work horses included)."""
        import signal

        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        cpu = 0.0
        deadline = time.monotonic() + 15
        for process in self.processes:
            while process.returncode is None:  # wait4: its rusage counts the reaped work horses
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    process.returncode = os.waitstatus_to_exitcode(status)
                    cpu += usage.ru_utime + usage.ru_stime
                    break
                if time.monotonic() > deadline:
                    with suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                time.sleep(0.05)
        self.processes = []
        return cpu


class MinuteTick(threading.Thread):
    """What `rqcron tdp/cron.py` does for automation: `kick_automation()` every 60 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.ticks: list[float] = []

    def run(self) -> None:
        from django.db import connection

        from automation.jobs import kick_automation

        while not self.stopping.wait(60):
            if kick_automation():
                self.ticks.append(time.time())
        connection.close()


# --- Opening cases -----------------------------------------------------------------------------


def indicator_values(mode: str, count: int) -> list[str]:
    return [f"bench-{mode}-{i}.example" for i in range(count)]


def open_cases(mode: str, count: int, batch: int, *, rate: float | None = None) -> dict[str, float]:
    """Scan ``count`` events (one per author, one indicator each) in batches; returns each
    author's commit time (epoch s). ``rate`` paces the batches (cases/s)."""
    from detection.scan import scan_events

    values = indicator_values(mode, count)
    committed: dict[str, float] = {}
    started = time.monotonic()
    for offset in range(0, count, batch):
        if rate:
            pause = started + offset / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        events = [
            {
                "id": f"{mode}-ev-{i}",
                "kind": "post",
                "occurred_at": datetime.now(UTC).isoformat(),
                "author": {"id": f"{mode}-{i}", "handle": f"user{i}"},
                "text": f"claim your prize at {values[i]} before it is gone",
                "urls": [],
            }
            for i in range(offset, min(offset + batch, count))
        ]
        result = scan_events(events, dry_run=False)
        assert result.cases == len(events), (result.cases, len(events))
        now = time.time()
        for event in events:
            committed[event["author"]["id"]] = now
    return committed


def wait_for_runs(mode: str, count: int, timeout: float = 3600) -> None:
    """Until every case of ``mode`` has a finished playbook run (fails on a stall)."""
    from automation.models import PlaybookRun
    from cases.models import Case

    ids = Case.objects.filter(author_id__startswith=f"{mode}-").values("pk")
    finished = PlaybookRun.objects.filter(object_type="case", object_id__in=ids).exclude(
        status="running"
    )
    deadline = time.monotonic() + timeout
    last, last_change, polls = -1, time.monotonic(), 0
    while (done := finished.count()) < count:
        polls += 1
        if polls % 50 == 0:
            collect_drain_jobs()
        if done != last:
            last, last_change = done, time.monotonic()
        if time.monotonic() > deadline or time.monotonic() - last_change > 150:
            sys.exit(f"FAIL: {mode}: {done} of {count} runs finished, no progress")
        time.sleep(0.2)


# --- Figures -----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(mode: str, count: int, committed: dict[str, float], server: Any) -> dict[str, Any]:
    """Check the mode's outcome and compute its rates and latencies."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.author_id, r.status, h.created_at, r.started_at, r.first_action_at,
                   r.finished_at, r.steps
            FROM cases_case c
            JOIN detection_hit h ON h.case_id = c.id
            JOIN automation_playbookrun r ON r.object_type = 'case' AND r.object_id = c.id
            WHERE c.author_id LIKE %s
            """,
            [f"{mode}-%"],
        )
        rows = cursor.fetchall()
        cursor.execute(
            """
            SELECT count(*) FROM automation_enrichment e JOIN intel_indicator i
            ON i.id = e.indicator_id WHERE i.value LIKE %s AND e.error = ''
            """,
            [f"bench-{mode}-%"],
        )
        enrichments = cursor.fetchone()[0]
    statuses = defaultdict(int)
    for row in rows:
        statuses[row[1]] += 1
    keys = [  # the webhook's X-Bench-Case header is the case's author: "<mode>-<n>"
        r.headers.get("idempotency-key", "")
        for r in list(server.requests)
        if r.headers.get("x-bench-case", "").startswith(f"{mode}-")
    ]
    problems = []
    if len(rows) != count or statuses["success"] != count:
        problems.append(f"runs {dict(statuses)} for {len(rows)} of {count} cases")
    if len(keys) != count or len(set(keys)) != count:
        problems.append(f"{len(keys)} webhooks, {len(set(keys))} keys for {count} cases")
    if enrichments != 2 * count:
        problems.append(f"{enrichments} enrichment results for {count} indicators (want 2 each)")
    first_hit = min(row[2] for row in rows).timestamp()
    last_done = max(row[5] for row in rows).timestamp()
    from_hit = [(row[4] - row[2]).total_seconds() for row in rows]
    from_commit = [row[4].timestamp() - committed[row[0]] for row in rows]
    to_start = [(row[3] - row[2]).total_seconds() for row in rows]
    run_time = [(row[5] - row[3]).total_seconds() for row in rows]
    steps = [json.loads(row[6]) if isinstance(row[6], str) else row[6] for row in rows]
    webhook_ms = [step[2].get("duration_ms", 0) for step in steps]
    return {
        "count": count,
        "problems": problems,
        "first_hit": first_hit,
        "last_done": last_done,
        "last_commit": max(committed.values()),
        "from_hit": from_hit,
        "from_commit": from_commit,
        "to_start": to_start,
        "run_time": run_time,
        "webhook_ms": webhook_ms,
    }


_seen_jobs: set[str] = set()
_job_events: dict[str, list[int]] = defaultdict(list)


def collect_drain_jobs() -> None:
    """Note the drain jobs finished since the last call (RQ keeps results for 500 s)."""
    import django_rq
    from rq.job import Job

    queue = django_rq.get_queue("high")
    for job_id in queue.finished_job_registry.get_job_ids():
        if job_id in _seen_jobs:
            continue
        _seen_jobs.add(job_id)
        job = Job.fetch(job_id, connection=queue.connection)
        if job.func_name.endswith("drain_automation"):
            _job_events[job.worker_name or "?"].append(job.return_value() or 0)


def drain_jobs() -> dict[str, list[int]]:
    """Events drained by each drain job since the last call, per worker."""
    collect_drain_jobs()
    found = dict(_job_events)
    _job_events.clear()
    return found


def latency_line(label: str, values: list[float]) -> str:
    return (
        f"{label}: p50 {percentile(values, 0.5) * 1000:,.0f} ms, "
        f"p95 {percentile(values, 0.95) * 1000:,.0f} ms, max {max(values) * 1000:,.0f} ms"
    )


def report(mode: str, figures: dict[str, Any], extra: dict[str, float]) -> None:
    count = figures["count"]
    print(f"\n== {mode}: {count:,} cases")
    for name, value in extra.items():
        print(f"{name}: {value:,.2f}")
    span = figures["last_done"] - figures["first_hit"]
    print(f"first hit written → last run finished: {span:.2f} s = {count / span:,.0f} cases/s")
    print(latency_line("hit written → first action", figures["from_hit"]))
    print(latency_line("scan committed → first action", figures["from_commit"]))
    print(latency_line("hit written → run started", figures["to_start"]))
    print(latency_line("run started → run finished", figures["run_time"]))
    print(
        f"webhook step: p50 {percentile(figures['webhook_ms'], 0.5):.1f} ms, "
        f"p95 {percentile(figures['webhook_ms'], 0.95):.1f} ms"
    )
    print(
        f"worker CPU (user + system, work horses included): {figures['worker_cpu_ms']:.1f} ms per case"
    )
    jobs = figures.get("jobs") or {}
    print(
        f"drain jobs: {sum(len(v) for v in jobs.values())}; events drained per worker: "
        + ", ".join(str(sum(v)) for v in jobs.values())
    )
    for problem in figures["problems"]:
        print(f"PROBLEM: {problem}")


# --- Modes -------------------------------------------------------------------------------------


def run_backlog(args: argparse.Namespace, env: dict[str, str], server: Any, label: str) -> dict:
    from django.db import connections

    mode = f"backlog_{label}"
    start = time.perf_counter()
    committed = open_cases(mode, args.cases, args.batch)
    created_s = time.perf_counter() - start
    connections.close_all()
    workers = Workers(args.workers, WORKER_CLASSES[label], env)
    started = workers.start()
    try:
        wait_for_runs(mode, args.cases)
    finally:
        cpu = workers.stop()
    figures = measure(mode, args.cases, committed, server)
    figures["worker_cpu_ms"] = cpu / args.cases * 1000
    figures["jobs"] = drain_jobs()
    drain_s = figures["last_done"] - started
    report(
        mode,
        figures,
        {
            "opening the cases (no workers), s": created_s,
            "opening rate, cases/s": args.cases / created_s,
            "drain only (workers started → last run finished), s": drain_s,
            "drain-only rate, cases/s": args.cases / drain_s,
        },
    )
    figures["drain_rate"] = args.cases / drain_s
    figures["open_rate"] = args.cases / created_s
    return figures


def run_live(
    args: argparse.Namespace,
    env: dict[str, str],
    server: Any,
    label: str,
    *,
    paced: bool = False,
) -> dict:
    from django.db import connections

    mode = f"{'paced' if paced else 'live'}_{label}"
    count = args.paced_cases if paced else args.cases
    connections.close_all()
    workers = Workers(args.workers, WORKER_CLASSES[label], env)
    workers.start()
    try:
        start = time.perf_counter()
        if paced:
            batch = max(1, round(args.paced_rate / 10))  # ten scans a second
            committed = open_cases(mode, count, batch, rate=args.paced_rate)
        else:
            committed = open_cases(mode, count, args.batch)
        created_s = time.perf_counter() - start
        wait_for_runs(mode, count)
    finally:
        cpu = workers.stop()
    figures = measure(mode, count, committed, server)
    figures["worker_cpu_ms"] = cpu / count * 1000
    figures["jobs"] = drain_jobs()
    tail = figures["last_done"] - figures["last_commit"]
    report(
        mode,
        figures,
        {
            "opening the cases (workers running), s": created_s,
            "opening rate, cases/s": count / created_s,
            "last scan committed → last run finished, s": tail,
        },
    )
    figures["open_rate"] = count / created_s
    return figures


OTHER = "other (drain loop, event UPDATEs)"


class Phases:
    """Exclusive wall time and SQL queries per phase of a drain, by wrapping functions."""

    def __init__(self) -> None:
        self.time: dict[str, float] = defaultdict(float)
        self.queries: dict[str, int] = defaultdict(int)
        self.stack: list[list[Any]] = [[OTHER, time.perf_counter(), 0.0]]

    @contextmanager
    def phase(self, name: str):
        self.stack.append([name, time.perf_counter(), 0.0])
        try:
            yield
        finally:
            _, begun, children = self.stack.pop()
            elapsed = time.perf_counter() - begun
            self.time[name] += elapsed - children
            self.stack[-1][2] += elapsed

    def wrap(self, module: Any, attribute: str, name: str) -> None:
        original = getattr(module, attribute)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return original(*args, **kwargs)

        setattr(module, attribute, wrapper)

    def count_query(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries[self.stack[-1][0]] += 1
        return execute(sql, params, many, context)


def run_profile(args: argparse.Namespace, server: Any) -> None:
    """Drain ``--profile`` events in this process with each phase timed; then the same with
    the session's `synchronous_commit` off, to show what the commits per event cost."""
    from django.db import connection

    import automation.enrichment
    import automation.processing
    from automation import outbox
    from automation.playbooks import actions, runner

    for mode in ("profile", "profile_async"):
        committed = open_cases(mode, args.profile, args.batch)
        phases = Phases()
        wrapped = [
            (outbox, "claim", "claim (UPDATE … SKIP LOCKED + SELECT)"),
            (automation.processing, "build_contexts", "contexts of the batch"),
            (automation.processing, "refresh_enrichment", "contexts of the batch"),
            (automation.enrichment, "enrich_indicators", "enrichment (2 built-in enrichers)"),
            (automation.processing.AutomationSettings, "load", "kill switch + playbooks_for"),
            (automation.processing, "playbooks_for", "kill switch + playbooks_for"),
            (runner, "_get_or_create_runs", "runs: INSERT … ON CONFLICT + SELECT"),
            (runner, "evaluate", "run: conditions"),
            (runner, "_save_runs", "runs: step saves (one UPDATE per step of the batch)"),
            (actions, "do_set_priority", "action set_priority (lock, save, audit)"),
            (actions, "do_tag", "action tag (update, audit)"),
            (runner, "_send", "webhook step: render, sign, send (a thread pool)"),
        ]
        originals = [(target, name, getattr(target, name)) for target, name, _ in wrapped]
        for target, name, label in wrapped:
            phases.wrap(target, name, label)
        saved_actions = dict(runner.ACTIONS)
        for name in ("set_priority", "tag", "webhook"):
            runner.ACTIONS[name] = getattr(actions, f"do_{name}")  # the wrapped ones
        if mode == "profile_async":
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
        start = time.perf_counter()
        try:
            with connection.execute_wrapper(phases.count_query):
                if args.cprofile and mode == "profile":
                    import cProfile
                    import pstats

                    profiler = cProfile.Profile()
                    done = profiler.runcall(outbox.drain, seconds=3600)
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
                else:
                    done = outbox.drain(seconds=3600)
        finally:
            total = time.perf_counter() - start
            for target, name, original in originals:
                setattr(target, name, original)
            runner.ACTIONS.update(saved_actions)
            if mode == "profile_async":
                with connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO on")
        phases.time[OTHER] = total - sum(t for n, t in phases.time.items() if n != OTHER)
        print(f"\n== {mode}: {done:,} events drained in one process (no RQ), {total:.2f} s")
        if mode == "profile_async":
            print("(the session's synchronous_commit off: commits do not wait for the WAL flush)")
        print(
            f"{done / total:,.0f} events/s; {total / done * 1000:.1f} ms and "
            f"{sum(phases.queries.values()) / done:.1f} SQL queries per event"
        )
        print("| phase | ms per event | share | SQL queries per event |")
        print("|---|---|---|---|")
        for name, seconds in sorted(phases.time.items(), key=lambda item: -item[1]):
            print(
                f"| {name} | {seconds / done * 1000:.2f} | {seconds / total:.0%} "
                f"| {phases.queries.get(name, 0) / done:.1f} |"
            )
        figures = measure(mode, args.profile, committed, server)
        for problem in figures["problems"]:
            print(f"PROBLEM: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--paced-rate", type=float, default=8)  # below capacity: latency
    parser.add_argument("--paced-cases", type=int, default=480)
    parser.add_argument("--worker-class", choices=["fork", "simple", "both"], default="both")
    parser.add_argument("--profile", type=int, default=1_000)
    parser.add_argument("--cprofile", action="store_true", help="cProfile the profile drain")
    parser.add_argument("--modes", default="backlog,live,paced,profile")
    parser.add_argument("--redis-db", type=int, default=3)
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    labels = ["fork", "simple"] if args.worker_class == "both" else [args.worker_class]
    env = prepare_environment(args.redis_db)

    import django

    django.setup()
    import django_rq

    from automation import outbox
    from automation.playbooks import save_playbook
    from detection.scan import forget_matcher
    from intel.models import Indicator
    from tests.httpserver import LocalHTTPServer

    django_rq.get_connection("high").flushdb()
    plan = [
        (mode, label) for mode in ("backlog", "live", "paced") if mode in modes for label in labels
    ]
    if "profile" in modes:
        plan.append(("profile", ""))
        plan.append(("profile_async", ""))
    counts = {"backlog": args.cases, "live": args.cases, "paced": args.paced_cases}
    values = []
    for mode, label in plan:
        count = args.profile if mode.startswith("profile") else counts[mode]
        values += indicator_values(f"{mode}_{label}" if label else mode, count)
    Indicator.objects.bulk_create(
        (Indicator(type="domain", value=v) for v in values), batch_size=10_000
    )
    forget_matcher()

    results: dict[str, dict] = {}
    tick = MinuteTick()
    tick.start()
    with LocalHTTPServer() as server:
        server.route("/hook", json={"ok": True})
        save_playbook(
            {
                "name": "bench",
                "trigger": "case_created",
                "conditions": {"indicator_type": ["domain"]},
                "actions": [
                    {"type": "set_priority", "priority": "P1"},
                    {"type": "tag", "tags": ["bench"]},
                    {
                        "type": "webhook",
                        "url": server.url("/hook"),
                        "secret": SECRET,
                        "headers": {"X-Bench-Case": "{{ case.author_id }}"},
                        "body": {"case": "{{ case.id }}", "values": "{{ case.indicator_values }}"},
                    },
                ],
            },
            actor="bench",
        )
        outbox.forget_consumers()
        for mode, label in plan:
            if mode == "backlog":
                results[f"backlog_{label}"] = run_backlog(args, env, server, label)
            elif mode == "live":
                results[f"live_{label}"] = run_live(args, env, server, label)
            elif mode == "paced":
                results[f"paced_{label}"] = run_live(args, env, server, label, paced=True)
            elif mode == "profile":
                run_profile(args, server)
    tick.stopping.set()
    print(f"\nminute ticks that queued a drain: {len(tick.ticks)}")
    summary(args, results)
    if any(figures["problems"] for figures in results.values()):
        sys.exit("FAIL: see PROBLEM lines above")


def summary(args: argparse.Namespace, results: dict[str, dict]) -> None:
    """The Markdown table for bench/README.md."""
    if not results:
        return
    print(f"\n| measurement ({args.workers} workers) | target | " + " | ".join(results) + " |")
    print("|---|---|" + "---|" * len(results))

    def row(name: str, target: str, cell: Any) -> None:
        cells = []
        for figures in results.values():
            try:
                cells.append(cell(figures))
            except KeyError:
                cells.append("—")
        print(f"| {name} | {target} | " + " | ".join(cells) + " |")

    row("cases", "—", lambda f: f"{f['count']:,}")
    row("opening rate (scans), cases/s", "—", lambda f: f"{f['open_rate']:,.0f}")
    row(
        "end to end, first hit → last run finished, cases/s",
        f"≥ {TARGET_RATE}",
        lambda f: f"{f['count'] / (f['last_done'] - f['first_hit']):,.0f}",
    )
    row("drain only, cases/s", "—", lambda f: f"{f['drain_rate']:,.0f}")
    row("worker CPU per case", "—", lambda f: f"{f['worker_cpu_ms']:.1f} ms")
    for key, name in (("from_hit", "hit written"), ("from_commit", "scan committed")):
        row(
            f"{name} → first action, p50 / p95",
            "report",
            lambda f, key=key: (
                f"{percentile(f[key], 0.5):,.2f} / {percentile(f[key], 0.95):,.2f} s"
            ),
        )
    row(
        "webhook step p50 / p95",
        "—",
        lambda f: (
            f"{percentile(f['webhook_ms'], 0.5):.1f} / {percentile(f['webhook_ms'], 0.95):.1f} ms"
        ),
    )


if __name__ == "__main__":
    main()
