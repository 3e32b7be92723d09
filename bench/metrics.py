"""Benchmark the metrics pages and the precision API on 1,000,000 hits, 200,000 cases and
1,000,000 indicators.

Usage: ``.venv/bin/python bench/metrics.py [--cases 200000] [--indicators 1000000] [--runs 10]
[--reset] [--skip-full] [--build-only]``

Uses its own database (`tdp_bench_metrics` beside DATABASE_URL's). The data is generated once
with set-based SQL and kept (a rerun with the same sizes skips generation; ``--reset`` drops the
database first):

- ``--indicators`` indicators of every type created over 180 days (85% active, 0.5% TLP:RED),
  reported by 12 sources (8 of them feeds with hourly runs), 30% by two sources, 5% by three;
- ``--cases`` cases over 90 days with 5 live hits each on average (1,000,000 hits for 200,000
  cases) under seven rules, plus 5% more shadow hits under two shadow rules; hits pick
  indicators with a heavy skew (a few are hit thousands of times, most never);
- 60% of the cases resolved with every hit labelled (55% TP, 30% FP, 10% duplicate, 5%
  inconclusive), a tenth of them by automation; 5% of people's resolutions second-reviewed;
- five playbooks with 60,000 runs of one to three steps.

Then it times a full rollup refresh and an incremental one after fresh activity: cases labelled
"a moment ago" across several days (through `cases.triage`) and new hits since the refresh, so
the reads below pay for the live part a real tick interval leaves. Finally it times every metrics
page and the precision API in process through Django's test client (routing, middleware,
sessions, templates; no network) as a cleared lead, DEBUG off, median and p95 of ``--runs`` runs
after two warm-ups, with the SQL queries of each request. Target: every one <= 300 ms.
Generation is not timed. Run it alone.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file shares its name with the `metrics` app: take bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

DATABASE = "tdp_bench_metrics"
LEAD, UNCLEARED = "bench-lead", "bench-lead-uncleared"
ANALYSTS = 30
SOURCES, FEEDS = 12, 8
HIT_PATTERN = (1, 1, 1, 2, 2, 3, 4, 6, 10, 20)  # live hits per case, cycled: 5 on average
TARGET_MS = 300
RULES = [  # name, policy label, share of the cases
    ("Known-bad intel", "other", 0.35),
    ("Phishing URLs", "phishing", 0.20),
    ("Scam accounts and wallets", "scam", 0.15),
    ("Spam domains", "spam", 0.15),
    ("Coordinated campaigns", "coordinated_inauthentic_behaviour", 0.05),
    ("Malware hashes", "malware", 0.07),
    ("CSE hash match", "cse_hash_match", 0.03),
]
SHADOW_RULES = [("Shadow: new phishing kit", "phishing"), ("Shadow: crypto drainers", "scam")]


def live_hits(cases: int) -> int:
    """Live hits for ``cases`` cases (case i gets HIT_PATTERN[7i mod 10])."""
    return sum(HIT_PATTERN[(i * 7) % 10] for i in range(1, cases + 1))


def expected_hits(cases: int) -> int:
    """Every hit: the live ones and 5% more in shadow mode."""
    return live_hits(cases) + live_hits(cases) // 20


# --- Database ---------------------------------------------------------------------------------


def prepare_database(cases: int, indicators: int, reset: bool) -> bool:
    """Point this process at the bench database, create and migrate it; True when it already
    holds the data of these sizes (anything else is dropped and recreated)."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tdp")
    url = urllib.parse.urlsplit(base)
    bench_url = url._replace(path=f"/{DATABASE}").geturl()
    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="tdp.settings",
        DEBUG="False",
        SECRET_KEY="bench-metrics-not-secret",  # noqa: S106
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
        TDP_METRICS_FULL_REFRESH_HOURS="0",  # the bench asks for full refreshes itself
    )
    admin = url._replace(path="/postgres").geturl()

    def recreate() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def migrate() -> None:
        command = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
        subprocess.run(command, cwd=ROOT, env=os.environ, check=True)

    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
    if reset or not exists:
        recreate()
    migrate()
    with psycopg.connect(bench_url) as conn:
        found = conn.execute(
            "SELECT (SELECT count(*) FROM cases_case), (SELECT count(*) FROM intel_indicator), "
            "(SELECT count(*) FROM auth_user WHERE username = %s)",
            [LEAD],
        ).fetchone()
    if found == (cases, indicators, 1):
        return True
    if any(found):
        print(f"bench data does not match the sizes asked for (found {found}); recreating")
        recreate()
        migrate()
    return False


def sql(cursor: object, label: str, statement: str, params: object = None) -> None:
    """Run one generation statement and say how long it took."""
    start = time.perf_counter()
    cursor.execute(statement, [] if params is None else params)  # always: "%%" means "%"
    print(f"  {label:<40} {cursor.rowcount:>10,} rows  {time.perf_counter() - start:6.1f} s")


def generate(cases: int, indicators: int) -> None:
    """Load users, sources, feeds, indicators, rules, cases, hits, labels, QA and playbooks."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from detection.models import Rule
    from tests.factories import make_user

    print(f"generating {cases:,} cases, {expected_hits(cases):,} hits, {indicators:,} indicators")
    started = time.perf_counter()
    user_model = get_user_model()
    analyst = Group.objects.get(name="analyst")
    with transaction.atomic():
        users = user_model.objects.bulk_create(
            user_model(username=f"bench-analyst-{n:02d}", password="!")  # noqa: S106
            for n in range(1, ANALYSTS + 1)
        )
        user_model.groups.through.objects.bulk_create(
            user_model.groups.through(user_id=user.pk, group_id=analyst.pk) for user in users
        )
        make_user(LEAD, role="lead", cleared=True)
        make_user(UNCLEARED, role="lead", cleared=False)
        bounds, low = [], 0.0
        for name, policy, share in RULES:
            rule, _ = Rule.objects.update_or_create(name=name, defaults={"policy_label": policy})
            bounds.append(f"({rule.pk}, {low}, {low + share})")
            low += share
        bounds[-1] = bounds[-1].rsplit(",", 1)[0] + ", 2)"  # the last bucket takes rounding
        shadow = [
            Rule.objects.update_or_create(
                name=name, defaults={"policy_label": policy, "mode": "shadow"}
            )[0].pk
            for name, policy in SHADOW_RULES
        ]
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.20261125)")
            sql(
                cursor,
                "sources",
                "INSERT INTO intel_source (name, kind, description, default_confidence, "
                "default_tlp, created_at) SELECT 'Bench source ' || s, "
                "CASE WHEN s <= %s THEN 'feed' ELSE 'file' END, '', 50, 'AMBER', "
                "now() - interval '200 days' FROM generate_series(1, %s) s",
                [FEEDS, SOURCES],
            )
            sql(
                cursor,
                "feeds",
                """
                INSERT INTO intel_feed (name, source_id, kind, url, file, format, parser,
                    default_type, confidence, severity, tlp, tags, mode, schedule, enabled,
                    auth_kind, auth_header, auth_username, auth_secret, etag, last_modified,
                    taxii_added_after, next_run_at, last_run_at, last_success_at, last_error,
                    indicator_count, created_at, updated_at)
                SELECT 'Bench feed ' || right(s.name, 2)::int, s.id, 'http',
                    'https://feeds.example/' || s.id, '', 'auto', '{}', '', 50, 'medium',
                    'AMBER', '{}', 'incremental', 'every 1h', true, 'none', '', '', '', '', '',
                    '', now() + interval '1 hour', now() - interval '20 minutes',
                    now() - (s.id %% 3) * interval '1 hour' - interval '20 minutes', '', 0,
                    now() - interval '200 days', now()
                FROM intel_source s WHERE s.kind = 'feed'
                """,
            )
            sql(
                cursor,
                "feed runs (hourly, 90 days)",
                """
                INSERT INTO intel_feedrun (feed_id, trigger, status, started_at, finished_at,
                    duration_ms, bytes, received, created, updated, unchanged, rejected, skipped,
                    expired, error, errors)
                SELECT f.id, 'schedule',
                    CASE WHEN random() < 0.03 THEN 'failed' WHEN random() < 0.5 THEN 'unchanged'
                        ELSE 'success' END,
                    now() - h * interval '1 hour', now() - h * interval '1 hour' + interval '30 s',
                    30000, 1000000, 5000, 50, 10, 4940, 0, 0, 0, '', '[]'
                FROM intel_feed f, generate_series(1, 90 * 24) h
                """,
            )
            sql(
                cursor,
                "indicators (180 days, ids in time order)",
                """
                INSERT INTO intel_indicator (id, type, value, status, confidence, severity, tlp,
                    tags, description, first_seen_at, last_seen_at, expires_at, created_at,
                    updated_at)
                SELECT i, t, CASE t
                        WHEN 'url' THEN 'https://bench' || i || '.example/login.php'
                        WHEN 'domain' THEN 'bench' || i || '.example'
                        WHEN 'ipv4' THEN (11 + i %% 200) || '.' || (i >> 16 & 255) || '.'
                            || (i >> 8 & 255) || '.' || (i & 255)
                        WHEN 'sha256' THEN md5(i::text) || md5((-i)::text)
                        WHEN 'md5' THEN md5(i::text)
                        WHEN 'keyword' THEN 'bench phrase ' || i
                        WHEN 'email' THEN 'user' || i || '@mail.example'
                        WHEN 'account' THEN '@bench_' || i
                        ELSE '0x' || md5(i::text) END,
                    CASE WHEN r < 0.85 THEN 'active' WHEN r < 0.95 THEN 'expired'
                        WHEN r < 0.98 THEN 'revoked' ELSE 'allowlisted' END,
                    10 + (i * 7) %% 91, 'medium',
                    CASE WHEN (i * 13) %% 200 = 0 THEN 'RED' WHEN r < 0.4 THEN 'GREEN'
                        ELSE 'AMBER' END,
                    '{}', '', created, created, created + interval '365 days', created, created
                FROM (
                    SELECT i, random() AS r,
                        now() - (1 - i::float / %(n)s) * interval '180 days' AS created,
                        CASE WHEN b < 40 THEN 'url' WHEN b < 70 THEN 'domain'
                            WHEN b < 78 THEN 'ipv4' WHEN b < 86 THEN 'sha256'
                            WHEN b < 89 THEN 'md5' WHEN b < 93 THEN 'keyword'
                            WHEN b < 96 THEN 'email' WHEN b < 99 THEN 'account'
                            ELSE 'crypto_wallet' END AS t
                    FROM generate_series(1, %(n)s) i, LATERAL (SELECT (i * 37) %% 100 AS b) x
                ) g
                """,
                {"n": indicators},
            )
            sql(
                cursor,
                "provenance (1-3 sources each)",
                """
                INSERT INTO intel_indicatorsource (indicator_id, source_id, first_seen_at,
                    last_seen_at, confidence, reference)
                SELECT i.id, s.ids[1 + (i.id * 7 + k * 5) %% %(sources)s], i.created_at,
                    i.created_at, 50, 'bench'
                FROM intel_indicator i,
                    (SELECT array_agg(id ORDER BY id) AS ids FROM intel_source) s,
                    generate_series(0, 2) k
                WHERE k = 0 OR (k = 1 AND i.id %% 10 < 3) OR (k = 2 AND i.id %% 20 = 0)
                """,
                {"sources": SOURCES},
            )
            sql(
                cursor,
                "cases (90 days)",
                f"""
                WITH rules (rule_id, lo, hi) AS (VALUES {", ".join(bounds)}),
                analysts AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user
                    WHERE username LIKE 'bench-analyst-%%'),
                base AS (
                    SELECT i, random() AS rs, random() AS rp, random() AS rt, random() AS rr,
                        random() AS rd, random() AS rx, random() AS ra
                    FROM generate_series(1, %(cases)s) i
                ),
                shaped AS (
                    SELECT b.*, r.rule_id,
                        CASE WHEN rs < 0.60 THEN 'resolved' WHEN rs < 0.85 THEN 'new'
                            WHEN rs < 0.95 THEN 'in_review' ELSE 'escalated' END AS status,
                        CASE WHEN rp < 0.05 THEN 1 WHEN rp < 0.20 THEN 2 WHEN rp < 0.70 THEN 3
                            ELSE 4 END AS priority,
                        (ARRAY{list(HIT_PATTERN)})[1 + (i * 7) %% 10] AS hits,
                        ra < 0.1 AS auto
                    FROM base b JOIN rules r ON b.rr >= r.lo AND b.rr < r.hi
                ),
                timed AS (
                    SELECT s.*,
                        now() - (CASE WHEN status = 'resolved' THEN rt ELSE rt * rt END)
                            * interval '90 days' AS created,
                        (ARRAY[4, 24, 72, 168])[priority] * interval '1 hour' AS sla
                    FROM shaped s
                )
                INSERT INTO cases_case (id, grouping, group_key, status, disposition, reason,
                    note, priority, sla_due_at, policy_label, author_id, author_handle,
                    hit_count, first_hit_at, last_hit_at, is_restricted, version, created_at,
                    updated_at, first_touched_at, resolved_at, qa_status, assignee_id,
                    resolved_by_id, rule_id, tags)
                SELECT i, 'per_author', 'a' || i, status,
                    CASE WHEN status <> 'resolved' THEN '' WHEN rd < 0.55 THEN 'true_positive'
                        WHEN rd < 0.85 THEN 'false_positive' WHEN rd < 0.95 THEN 'duplicate'
                        ELSE 'inconclusive' END,
                    '', '', priority, created + sla, r.policy_label, 'a' || i, 'h' || i, hits,
                    created, created + (hits - 1) * interval '5 minutes', false, 3, created,
                    created,
                    CASE WHEN status = 'new' THEN NULL
                        WHEN status = 'resolved' AND auto THEN created + interval '1 minute'
                        ELSE least(now(), created + sla * rx * 0.3) END,
                    CASE WHEN status <> 'resolved' THEN NULL
                        WHEN auto THEN created + interval '2 minutes'
                        ELSE least(now(), created + sla * rx * 1.2) END,
                    '',
                    CASE WHEN status = 'new' OR (status = 'resolved' AND auto) THEN NULL
                        ELSE ids[1 + (i * 13) %% {ANALYSTS}] END,
                    CASE WHEN status = 'resolved' AND NOT auto
                        THEN ids[1 + (i * 13) %% {ANALYSTS}] END,
                    rule_id, '{{}}'
                FROM timed JOIN detection_rule r ON r.id = timed.rule_id, analysts
                """,
                {"cases": cases},
            )
            sql(
                cursor,
                "hits (live in cases, shadow; ids in time order)",
                """
                INSERT INTO detection_hit (event_id, event_day, field, value, start, "end",
                    author_id, occurred_at, mode, is_over_threshold, created_at, indicator_id,
                    rule_id, case_id)
                SELECT h.event_id, h.at::date, 'text', ind.value, NULL, NULL, h.author_id, h.at,
                    h.mode, true, h.at, ind.id, h.rule_id, h.case_id
                FROM (
                    SELECT 'ev-' || c.id || '-' || k AS event_id, c.rule_id, c.author_id,
                        c.id AS case_id, 'live' AS mode,
                        c.created_at + (k - 1) * interval '5 minutes' AS at,
                        1 + floor(%(n)s * power(random(), 3))::bigint AS ind_id
                    FROM cases_case c, generate_series(1, c.hit_count) k
                    UNION ALL
                    SELECT 'sh-' || s, (%(shadow)s::bigint[])[1 + s %% 2], 'a' || s, NULL,
                        'shadow', now() - random() * interval '90 days',
                        1 + floor(%(n)s * power(random(), 3))::bigint
                    FROM generate_series(1, %(shadow_hits)s) s
                ) h JOIN intel_indicator ind ON ind.id = h.ind_id
                ORDER BY h.at
                """,
                {
                    "n": indicators,
                    "shadow": shadow,
                    "shadow_hits": live_hits(cases) // 20,
                },
            )
            sql(
                cursor,
                "restricted cases (TLP:RED hits)",
                "UPDATE cases_case SET is_restricted = true WHERE id IN (SELECT h.case_id "
                "FROM detection_hit h JOIN intel_indicator i ON i.id = h.indicator_id "
                "WHERE i.tlp = 'RED' AND h.case_id IS NOT NULL)",
            )
            sql(
                cursor,
                "hit labels of resolved cases",
                """
                WITH src AS (SELECT indicator_id, array_agg(source_id ORDER BY source_id) AS ids
                    FROM intel_indicatorsource GROUP BY indicator_id)
                INSERT INTO cases_hitlabel (hit_id, case_id, disposition, reason, note,
                    from_case, rule_id, indicator_id, indicator_type, indicator_value,
                    source_ids, labelled_by_id, labelled_at)
                SELECT h.id, c.id, c.disposition, '', '', true, h.rule_id, h.indicator_id,
                    i.type, i.value, coalesce(src.ids, '{}'), c.resolved_by_id, c.resolved_at
                FROM detection_hit h JOIN cases_case c ON c.id = h.case_id
                    JOIN intel_indicator i ON i.id = h.indicator_id
                    LEFT JOIN src ON src.indicator_id = h.indicator_id
                WHERE c.status = 'resolved'
                """,
            )
            sql(
                cursor,
                "QA reviews (5% of people's resolutions)",
                """
                INSERT INTO cases_qareview (case_id, original_disposition, original_analyst_id,
                    reviewer_id, disposition, agrees, note, sampled_at, reviewed_at)
                SELECT c.id, c.disposition, c.resolved_by_id, c.assignee_id, c.disposition,
                    random() < 0.9, '', c.resolved_at, least(now(), c.resolved_at + interval '1 day')
                FROM cases_case c
                WHERE c.status = 'resolved' AND c.resolved_by_id IS NOT NULL AND c.id %% 20 = 0
                """,
            )
            sql(
                cursor,
                "playbooks",
                """
                INSERT INTO automation_playbook (name, description, is_enabled, dry_run, trigger,
                    conditions, actions, position, created_at, updated_at)
                SELECT 'Bench playbook ' || p, '', true, p = 5, 'case_created', '{}', '[]', p,
                    now(), now()
                FROM generate_series(1, 5) p
                """,
            )
            sql(
                cursor,
                "playbook runs (90 days)",
                """
                INSERT INTO automation_playbookrun (playbook_id, event_id, idempotency_key,
                    trigger, object_type, object_id, status, dry_run, matched, steps, error,
                    started_at, finished_at, first_action_at)
                SELECT pb.ids[1 + r %% 5], NULL, 'bench-' || r, 'case_created', 'case', r,
                    st, st = 'dry_run', '{}',
                    CASE st WHEN 'skipped' THEN '[]'::jsonb
                        WHEN 'failed' THEN '[{"type": "tag", "status": "done"},
                            {"type": "webhook", "status": "failed"},
                            {"type": "resolve", "status": "not_run"}]'::jsonb
                        WHEN 'dry_run' THEN '[{"type": "resolve", "status": "would_run"}]'::jsonb
                        ELSE '[{"type": "enrich", "status": "done"},
                            {"type": "tag", "status": "done"}]'::jsonb END,
                    '', at, at + interval '2 seconds', at + interval '1 second'
                FROM (
                    SELECT r, now() - random() * interval '90 days' AS at,
                        CASE WHEN random() < 0.70 THEN 'success' WHEN random() < 0.35 THEN 'failed'
                            WHEN random() < 0.75 THEN 'skipped' ELSE 'dry_run' END AS st
                    FROM generate_series(1, 60000) r
                ) g, (SELECT array_agg(id ORDER BY id) AS ids FROM automation_playbook) pb
                """,
            )
            for table in ("intel_indicator", "cases_case"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  {'VACUUM ANALYZE':<40} {'':>10}       {time.perf_counter() - start:6.1f} s")
    print(f"generated in {time.perf_counter() - started:.0f} s")


def fresh_activity(user: object) -> dict[str, int]:
    """What a tick interval brings: open cases of recent and older days labelled through
    `cases.triage`, and new hits since the last refresh."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from cases import triage
    from cases.models import Case

    now = timezone.now()
    picked = []
    for days_ago, count in ((0, 8), (1, 6), (2, 4), (9, 2)):
        picked += list(
            Case.objects.filter(
                status="new",
                created_at__gte=now - timedelta(days=days_ago + 1),
                created_at__lt=now - timedelta(days=days_ago),
            ).values_list("pk", flat=True)[:count]
        )
    for pk in picked:
        triage.label_case(pk, user=user, disposition="true_positive")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO detection_hit (event_id, event_day, field, value, start, "end",
                author_id, occurred_at, mode, is_over_threshold, created_at, indicator_id,
                rule_id, case_id)
            SELECT 'new-' || s || '-' || extract(epoch FROM now())::bigint, now()::date, 'text',
                i.value, NULL, NULL, 'n' || s, now(), 'shadow', true, now(), i.id,
                (SELECT id FROM detection_rule WHERE mode = 'shadow' ORDER BY id LIMIT 1), NULL
            FROM generate_series(1, 2000) s JOIN intel_indicator i ON i.id = s * 37
            """
        )
        new_hits = cursor.rowcount
    return {"cases labelled": len(picked), "new hits": new_hits}


# --- Measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    """The runs of one measurement."""

    name: str
    times: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    @property
    def met(self) -> str:
        return "met" if self.median <= TARGET_MS else "**not met**"


def measure(name: str, action: Callable[[], object], runs: int, warmups: int = 2) -> Result:
    """Time ``action()`` ``runs`` times after ``warmups`` calls, counting its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmups):
        action()
    result = Result(name)
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            action()
            elapsed = (time.perf_counter() - start) * 1000
        result.times.append(elapsed)
        result.queries.append(len(ctx.captured_queries))
        result.db_ms.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
    print(
        f"  {name:<70} median {result.median:7.1f} ms  p95 {result.p95:7.1f} ms  "
        f"SQL {statistics.median(result.db_ms):6.1f} ms in {max(result.queries):>3} queries  "
        f"{result.met}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reset", action="store_true", help="drop the bench database first")
    parser.add_argument("--skip-full", action="store_true", help="skip the full refresh")
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="generate the data and refresh the rollups, time nothing (needs no bench lock)",
    )
    args = parser.parse_args()
    present = prepare_database(args.cases, args.indicators, args.reset)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from detection.models import Hit
    from metrics import rollups
    from metrics.models import HitDay, IndicatorWindow

    if present:
        print(f"reusing the bench data in {DATABASE}")
    else:
        generate(args.cases, args.indicators)
    users = get_user_model().objects
    lead, uncleared = users.get(username=LEAD), users.get(username=UNCLEARED)
    print(f"\ndata: {Hit.objects.count():,} hits in {HitDay.objects.count()} days (before refresh)")

    print("\n1. rollup refresh")
    if not args.skip_full or rollups.last_run() is None:
        start = time.perf_counter()
        run = rollups.refresh(full=True)
        print(f"  full rebuild: {time.perf_counter() - start:.1f} s; rows: {run.counts}")
    if args.build_only:
        return
    start = time.perf_counter()
    run = rollups.refresh()
    print(f"  recent days, nothing new: {time.perf_counter() - start:.1f} s")
    print(f"  activity since: {fresh_activity(lead)}")
    start = time.perf_counter()
    run = rollups.refresh()
    print(f"  recent days after it: {time.perf_counter() - start:.1f} s ({run.days})")
    activity = fresh_activity(lead)
    print(f"  more activity, left for the reads to count live: {activity}")
    windows = IndicatorWindow.objects.filter(window_days=0).count()
    print(f"  indicators with hits: {windows:,}")

    client, other = Client(), Client()
    client.force_login(lead)
    other.force_login(uncleared)
    results: list[Result] = []

    def timed(name: str, url: str, who: Client = client, **headers: str) -> None:
        def get() -> object:
            response = who.get(url, secure=True, **headers)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            return response

        results.append(measure(f"{name}: `{url}`", get, args.runs))

    print(f"\n2. pages (server time, {args.runs} runs, cleared lead unless said)")
    timed("overview", "/metrics/")
    for by in ("rule", "policy", "feed", "indicator"):
        timed(f"detection by {by}, 30 days", f"/metrics/detection/?by={by}&range=30d")
    timed("detection by rule, all, per week", "/metrics/detection/?by=rule&range=all&bucket=week")
    timed("detection by feed, 7 days", "/metrics/detection/?by=feed&range=7d")
    timed(
        "indicators, all, worst precision first",
        "/metrics/detection/?by=indicator&range=all&sort=precision",
    )
    timed(
        "indicators, 90 days, by FP rate",
        "/metrics/detection/?by=indicator&range=90d&sort=-false_positive_rate",
    )
    timed(
        "indicators, 30 days, by TP (no index)",
        "/metrics/detection/?by=indicator&range=30d&sort=-true_positive",
    )
    hot = IndicatorWindow.objects.filter(window_days=0).order_by("-hits").first()
    timed(
        "indicator chart, the most hit",
        f"/metrics/detection/?by=indicator&range=90d&key={hot.indicator_id}",
    )
    timed(
        "indicators, 30 days, uncleared lead", "/metrics/detection/?by=indicator&range=30d", other
    )
    timed("detection htmx partial", "/metrics/detection/?by=rule&range=7d", HTTP_HX_REQUEST="true")
    timed("export rule CSV", "/metrics/detection/export?by=rule&range=30d&format=csv")
    timed("intel, 30 days", "/metrics/intel/?range=30d")
    timed("intel, all", "/metrics/intel/?range=all")
    timed("operations, 30 days", "/metrics/operations/?range=30d")
    timed("operations, 90 days", "/metrics/operations/?range=90d")
    timed("automation, 30 days", "/metrics/automation/?range=30d")
    timed("automation, all", "/metrics/automation/?range=all")
    timed("weekly reports", "/metrics/reports/")

    print(f"\n3. precision API ({args.runs} runs)")
    for by in ("rule", "policy", "feed", "indicator"):
        timed(f"by {by}, all time", f"/api/v1/metrics/precision?by={by}")
    day = 86400
    week = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 6 * day))  # a 7-day window
    month = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 29 * day))  # a 30-day window
    for by in ("rule", "feed", "indicator"):
        timed(f"by {by}, last 7 days", f"/api/v1/metrics/precision?by={by}&since={week}")
    timed("by indicator, last 30 days", f"/api/v1/metrics/precision?by=indicator&since={month}")
    custom = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * day))
    timed("by indicator, custom 8 days", f"/api/v1/metrics/precision?by=indicator&since={custom}")
    custom = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 20 * day))
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 6 * day))
    timed(
        "by indicator, custom 14 days",
        f"/api/v1/metrics/precision?by=indicator&since={custom}&until={until}",
    )
    edge = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * day - 3 * 3600))
    until_edge = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * day - 5 * 3600))
    timed(
        "by rule, partial days at both ends",
        f"/api/v1/metrics/precision?by=rule&since={edge}&until={until_edge}",
    )
    timed("by indicator, uncleared lead", "/api/v1/metrics/precision?by=indicator", other)
    # Indicator ranges that are no window, longer and with partial days (the bounded read).
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 45 * day))
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 10 * day))
    timed(
        "by indicator, custom 35 days",
        f"/api/v1/metrics/precision?by=indicator&since={since}&until={until}",
    )
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 59 * day))
    timed("by indicator, custom 60 days", f"/api/v1/metrics/precision?by=indicator&since={since}")
    timed(
        "by indicator, partial days at both ends",
        f"/api/v1/metrics/precision?by=indicator&since={edge}&until={until_edge}",
    )
    custom = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * day))
    timed(
        "by indicator, custom 8 days, uncleared lead",
        f"/api/v1/metrics/precision?by=indicator&since={custom}",
        other,
    )
    custom = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 20 * day))
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 6 * day))
    timed(
        "by indicator, custom 14 days, largest limit",
        f"/api/v1/metrics/precision?by=indicator&since={custom}&until={until}&limit=10000",
    )

    over = [r for r in results if r.median > TARGET_MS]
    print(f"\n{len(results) - len(over)} of {len(results)} within {TARGET_MS} ms (median)")
    print("\n| measurement | median | p95 | SQL queries | target |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r.name} | {r.median:.1f} ms | {r.p95:.1f} ms | {max(r.queries)} | {r.met} |")


if __name__ == "__main__":
    main()
