"""Benchmark the intake end to end: POST /api/v1/events → RQ (one burst worker) → Postgres.

Usage: ``.venv/bin/python bench/detect_e2e.py [--events 50000] [--indicators 10000]
[--redis-db 1] [--seed 7]``

Uses its own database (`tdp_bench_e2e` beside DATABASE_URL's, recreated each run) and Redis
database ``--redis-db`` (flushed), so development data is untouched. Loads ``--indicators``
active domain indicators, then posts ``--events`` events (~300 bytes of text, 1% carrying one
of the indicators) as JSON lines in requests of 10,000 with a token, through the real URL
routing, authentication and parsing (Django's test client, no network). One burst worker of
the class the `scan` queue runs with (`rq.worker.SimpleWorker`: no fork, so the matcher is
built once and kept) then scans the batches in this process: events, hits, cases and their
automation outbox rows. Reports the API's events/s, the worker's, and end to end (first post
to last hit written; target >= 5,000/s), with each phase's CPU time in this process (it does
not move with the machine's load; PostgreSQL's own CPU is not in it), and checks that every
planted event produced exactly one hit.

Generation is not timed. Numbers vary with the machine and its load; run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Python puts this directory first on sys.path, where bench/queue.py would shadow the
# standard library's queue module (psycopg and RQ import it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

BATCH = 10_000
WORDS = "free gift claim prize login verify account crypto airdrop bonus hello today".split()


def prepare_environment(redis_db: int) -> None:
    """Point this process at the bench database and Redis database, recreate and migrate."""
    import subprocess

    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tdp")
    url = urllib.parse.urlsplit(base)
    os.environ["DATABASE_URL"] = url._replace(path="/tdp_bench_e2e").geturl()
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ["REDIS_URL"] = redis.rsplit("/", 1)[0] + f"/{redis_db}"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tdp.settings")
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS tdp_bench_e2e WITH (FORCE)")
        conn.execute("CREATE DATABASE tdp_bench_e2e")
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=os.environ, check=True)


def make_events(count: int, indicators: list[str], rng: random.Random) -> tuple[list[dict], int]:
    """``count`` events, 1% of them mentioning one indicator; returns (events, planted)."""
    events, planted = [], 0
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(45))
        if rng.random() < 0.01:
            text += f" see {rng.choice(indicators)} now"
            planted += 1
        events.append(
            {
                "id": f"bench-{i}",
                "kind": "post",
                "occurred_at": "2026-11-25T12:00:00+00:00",
                "author": {"id": f"a{rng.randrange(5000)}", "handle": "someone"},
                "text": text,
                "urls": [f"https://cdn.example/{rng.randrange(10**6)}.jpg"],
            }
        )
    return events, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--redis-db", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    prepare_environment(args.redis_db)

    import django

    django.setup()
    import django_rq
    from django.db import connections
    from django.test import Client
    from rest_framework.authtoken.models import Token
    from rq.worker import SimpleWorker

    from detection.models import Hit, ScanBatch
    from intel.models import Indicator
    from tests.factories import make_user

    django_rq.get_connection("default").flushdb()
    rng = random.Random(args.seed)
    values = [f"bad{i}-{rng.randrange(10**9)}.example" for i in range(args.indicators)]
    Indicator.objects.bulk_create(
        (Indicator(type="domain", value=v) for v in values), batch_size=10_000
    )
    token = Token.objects.create(user=make_user("bench", role="analyst"))
    events, planted = make_events(args.events, values, rng)
    bodies = [
        "\n".join(json.dumps(e) for e in events[i : i + BATCH])
        for i in range(0, len(events), BATCH)
    ]
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="localhost")

    cpu_started = time.process_time()
    started = time.perf_counter()
    for body in bodies:
        response = client.post(
            "/api/v1/events", body, content_type="application/x-ndjson", secure=True
        )
        assert response.status_code == 202, response.content[:300]
    posted, cpu_posted = time.perf_counter(), time.process_time()
    connections.close_all()  # the worker starts on a fresh connection, as a worker process would
    django_rq.get_worker("scan", worker_class=SimpleWorker).work(burst=True)
    finished, cpu_finished = time.perf_counter(), time.process_time()

    statuses = list(ScanBatch.objects.values_list("status", flat=True))
    spans = [
        (b.finished_at - b.started_at).total_seconds()
        for b in ScanBatch.objects.order_by("started_at")
    ]
    hits = Hit.objects.count()
    api_s, worker_s, total_s = posted - started, finished - posted, finished - started
    print(f"events: {args.events:,} in {len(bodies)} requests; indicators: {args.indicators:,}")
    api_cpu, worker_cpu = cpu_posted - cpu_started, cpu_finished - cpu_posted
    print(
        f"API (validate, store batch, queue): {api_s:.2f} s, {args.events / api_s:,.0f} events/s"
        f" (CPU {api_cpu:.2f} s)"
    )
    print(
        f"worker (scan, store events, hits, cases): {worker_s:.2f} s,"
        f" {args.events / worker_s:,.0f}/s (CPU {worker_cpu:.2f} s)"
    )
    print(f"per batch scan (first … last): {' '.join(f'{x:.2f}' for x in spans)} s")
    print(f"end to end: {total_s:.2f} s, {args.events / total_s:,.0f} events/s (target >= 5,000)")
    print(f"hits: {hits:,} (planted {planted:,}); batches: {statuses.count('done')} done")
    if hits != planted or set(statuses) != {"done"}:
        sys.exit("FAIL: every planted event must give one hit and every batch must be done")


if __name__ == "__main__":
    main()
