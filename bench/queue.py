"""Benchmark the triage queue: 1,000,000 hits in 200,000 cases; pages, deep pages, label, next.

Usage: ``.venv/bin/python bench/queue.py [--cases 200000] [--runs 20] [--reset]``

Uses its own database (`tdp_bench_queue` beside DATABASE_URL's) and Redis database 2. The
data is generated once with set-based SQL and kept: a rerun finds the same counts and skips
generation (``--reset`` drops the database first). ``--cases`` cases get five hits each on
average (1, 1, 1, 2, 2, 3, 4, 6, 10 or 20) over ``--cases / 4`` indicators of every type, 12
sources and seven rules (the default "Known-bad intel" plus six), 30 analysts; 60% of the cases
are resolved (their hits labelled, with audit entries), 25% new and unassigned, 10% in review,
5% escalated; priorities 5% P1, 15% P2, 50% P3, 30% P4; opened over 60 days, open ones mostly
recent; cases with a hit on a TLP:RED indicator (0.5% of them) are restricted.

Timed in process through Django's test client (routing, middleware, sessions, templates; no
network) as a cleared analyst, DEBUG off, median and p95 of ``--runs`` runs after warm-ups,
with the SQL queries of each request counted (`CaptureQueriesContext`) and its Python CPU
time; each run starts at a different call-stack depth (see `DEPTHS`):

1. the queue's first page with filters and sorts, the htmx partial and the API list
   (target: <= 100 ms server time and <= 12 SQL queries);
2. keyset pages ~100,000 rows deep, from a cursor made of the row at that position
   (target: as fast as the first page);
3. labelling a case from its page (back to the case, and going on to the next case), through
   the API, and `triage.label_case` alone (target: <= 50 ms);
4. "get next" from the page, the API and `triage.claim_next` alone (target: <= 30 ms).

Cases the bench labels or claims are put back (new, unassigned, unlabelled) at the end, so
reruns measure the same data. Generation is not timed. Run it alone.
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file shares its name with the standard library's `queue`, which Django, psycopg and
# redis import: take bench/ off the import path before any of them is imported.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

DATABASE = "tdp_bench_queue"
REDIS_DB = 2  # anything the triage actions enqueue (automation) stays out of development's db 0
BENCH_USER = "bench-analyst"
ANALYSTS = 30
HIT_PATTERN = (1, 1, 1, 2, 2, 3, 4, 6, 10, 20)  # hits per case, cycled: 5 on average
DEEP = 100_000
TARGET_PAGE_MS, TARGET_QUERIES, TARGET_LABEL_MS, TARGET_NEXT_MS = 100, 12, 50, 30
# name, policy label, grouping, share of the cases; the first is the default rule (migration)
RULES = [
    ("Known-bad intel", "other", "per_author", 0.35),
    ("Phishing URLs", "phishing", "per_author", 0.20),
    ("Scam accounts and wallets", "scam", "per_indicator", 0.15),
    ("Spam domains", "spam", "per_author", 0.15),
    ("Coordinated campaigns", "coordinated_inauthentic_behaviour", "per_author", 0.05),
    ("Malware hashes", "malware", "per_event", 0.07),
    ("CSE hash match", "cse_hash_match", "per_event", 0.03),
]
WORDS = (
    "login secure account verify paypal wallet crypto free gift robux prize promo support "
    "bonus claim reward airdrop token"
).split()


# --- Database ---------------------------------------------------------------------------------


def expected_hits(cases: int) -> int:
    """The hits generated for ``cases`` cases (case i gets HIT_PATTERN[7i mod 10])."""
    return sum(HIT_PATTERN[(i * 7) % 10] for i in range(1, cases + 1))


def prepare_database(cases: int, reset: bool) -> bool:
    """Point this process at the bench database, create and migrate it; True when it already
    holds the data for ``cases`` cases (anything else is dropped and recreated)."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tdp")
    url = urllib.parse.urlsplit(base)
    bench_url = url._replace(path=f"/{DATABASE}").geturl()
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.update(
        DATABASE_URL=bench_url,
        REDIS_URL=redis.rsplit("/", 1)[0] + f"/{REDIS_DB}",
        DJANGO_SETTINGS_MODULE="tdp.settings",
        DEBUG="False",
        SECRET_KEY="bench-queue-not-secret",  # noqa: S106
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
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
            "SELECT (SELECT count(*) FROM cases_case), (SELECT count(*) FROM detection_hit), "
            "(SELECT count(*) FROM auth_user WHERE username = %s)",
            [BENCH_USER],
        ).fetchone()
    if found == (cases, expected_hits(cases), 1):
        return True
    if any(found):
        print(f"bench data does not match --cases {cases:,} (found {found}); recreating")
        recreate()
        migrate()
    return False


def sql(cursor: object, label: str, statement: str) -> None:
    """Run one generation statement and say how long it took."""
    start = time.perf_counter()
    cursor.execute(statement)
    print(f"  {label:<38} {cursor.rowcount:>10,} rows  {time.perf_counter() - start:6.1f} s")


def generate(cases: int) -> None:
    """Load indicators, rules, analysts, cases, hits, labels and audit entries in bulk."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from detection.models import Rule
    from tests.factories import make_user

    indicators, authors = cases // 4, cases // 3
    print(f"generating {cases:,} cases, {expected_hits(cases):,} hits, {indicators:,} indicators")
    started = time.perf_counter()
    user_model = get_user_model()
    analyst = Group.objects.get(name="analyst")
    with transaction.atomic():
        users = user_model.objects.bulk_create(
            user_model(username=f"{BENCH_USER}-{n:02d}", password="!")  # noqa: S106
            for n in range(1, ANALYSTS + 1)
        )
        user_model.groups.through.objects.bulk_create(
            user_model.groups.through(user_id=user.pk, group_id=analyst.pk) for user in users
        )
        make_user(BENCH_USER, role="analyst", cleared=True)
        bounds, low = [], 0.0
        for name, policy, grouping, share in RULES:
            rule, _ = Rule.objects.update_or_create(
                name=name, defaults={"policy_label": policy, "grouping": grouping}
            )
            bounds.append(f"({rule.pk}, '{policy}', '{grouping}', {low}, {low + share})")
            low += share
        bounds[-1] = bounds[-1].rsplit(",", 1)[0] + ", 2)"  # the last bucket takes rounding
        words = "ARRAY[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
        nw = len(WORDS)
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.20261125)")
            sql(
                cursor,
                "sources",
                "INSERT INTO intel_source (name, kind, description, default_confidence, "
                "default_tlp, created_at) SELECT 'bench source ' || s, 'feed', '', 50, 'AMBER', "
                "now() - interval '90 days' FROM generate_series(1, 12) s",
            )
            sql(
                cursor,
                "indicators",
                f"""
                INSERT INTO intel_indicator (id, type, value, status, confidence, severity, tlp,
                    tags, description, first_seen_at, last_seen_at, expires_at, created_at,
                    updated_at)
                SELECT i, t, v, 'active', 10 + floor(random() * 91)::int,
                    (ARRAY['low', 'medium', 'high', 'critical'])[1 + floor(random() * 4)::int],
                    CASE WHEN r < 0.005 THEN 'RED' WHEN r < 0.3 THEN 'GREEN'
                        WHEN r < 0.4 THEN 'CLEAR' ELSE 'AMBER' END,
                    CASE WHEN mod(i, 5) = 0 THEN ARRAY['phishing'] ELSE '{{}}' END::varchar[],
                    '', now() - interval '80 days', now() - random() * interval '10 days',
                    now() + interval '30 days', now() - interval '80 days', now()
                FROM (
                    SELECT i, random() AS r, ws.w[1 + mod(i, {nw})] AS w1,
                        ws.w[1 + mod(i / {nw}, {nw})] AS w2, b,
                        CASE WHEN b < 40 THEN 'url' WHEN b < 70 THEN 'domain'
                            WHEN b < 76 THEN 'ipv4' WHEN b < 77 THEN 'ipv6'
                            WHEN b < 80 THEN 'cidr' WHEN b < 83 THEN 'md5'
                            WHEN b < 85 THEN 'sha1' WHEN b < 89 THEN 'sha256'
                            WHEN b < 90 THEN 'pdq' WHEN b < 95 THEN 'keyword'
                            WHEN b < 96 THEN 'email' WHEN b < 97 THEN 'account'
                            WHEN b < 98 THEN 'hashtag' WHEN b < 99 THEN 'phone'
                            ELSE 'crypto_wallet' END AS t
                    FROM generate_series(1, {indicators}) i, (SELECT {words} AS w) ws,
                        LATERAL (SELECT mod(i * 37, 100) AS b) bucket
                ) g, LATERAL (SELECT CASE
                    WHEN t = 'url' THEN 'https://' || w1 || '-' || w2 || i || '.example/'
                        || w2 || '.php'
                    WHEN t = 'domain' THEN w1 || '-' || w2 || i || '.example'
                    WHEN t = 'ipv4' THEN (11 + mod(i, 200)) || '.' || (i >> 16 & 255) || '.'
                        || (i >> 8 & 255) || '.' || (i & 255)
                    WHEN t = 'ipv6' THEN '2001:db8::' || to_hex(i)
                    WHEN t = 'cidr' THEN (11 + mod(i, 200)) || '.' || (i >> 8 & 255) || '.'
                        || (i & 255) || '.0/24'
                    WHEN t = 'md5' THEN md5(i::text)
                    WHEN t = 'sha1' THEN left(md5(i::text) || md5((-i)::text), 40)
                    WHEN t IN ('sha256', 'pdq') THEN md5(i::text) || md5((-i)::text)
                    WHEN t = 'keyword' THEN w1 || ' ' || w2 || ' ' || i
                    WHEN t = 'email' THEN w1 || '.' || i || '@mail' || mod(i, 97) || '.example'
                    WHEN t = 'account' THEN '@' || w1 || '_' || i
                    WHEN t = 'hashtag' THEN '#' || w1 || i
                    WHEN t = 'phone' THEN '+4420' || (79460000 + i)
                    ELSE '0x' || md5(i::text) || left(md5((i + 7)::text), 8) END AS v) value
                """,
            )
            sql(
                cursor,
                "provenance (1-2 sources each)",
                """
                INSERT INTO intel_indicatorsource (indicator_id, source_id, first_seen_at,
                    last_seen_at, confidence, reference)
                SELECT i.id, s.ids[1 + mod(i.id + k * (1 + mod(i.id, 5)), 12)],
                    i.first_seen_at, i.last_seen_at, i.confidence, 'bench'
                FROM intel_indicator i,
                    (SELECT array_agg(id ORDER BY id) AS ids FROM intel_source
                     WHERE name LIKE 'bench source %%') s,
                    generate_series(0, 1) k
                WHERE k = 0 OR mod(i.id, 10) < 3
                """.replace("%%", "%"),
            )
            sql(
                cursor,
                "cases",
                f"""
                WITH rules (rule_id, policy, grouping, lo, hi) AS (VALUES {", ".join(bounds)}),
                analysts AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user
                    WHERE username LIKE '{BENCH_USER}-%'),
                reasons AS (SELECT array_agg(code ORDER BY position) AS codes
                    FROM cases_reasoncode WHERE NOT needs_note),
                base AS (
                    SELECT i, random() AS rs, random() AS rp, random() AS rt, random() AS rr,
                        random() AS rd, random() AS rx, random() AS ra
                    FROM generate_series(1, {cases}) i
                ),
                shaped AS (
                    SELECT b.*, r.rule_id, r.policy, r.grouping,
                        CASE WHEN rs < 0.60 THEN 'resolved' WHEN rs < 0.85 THEN 'new'
                            WHEN rs < 0.95 THEN 'in_review' ELSE 'escalated' END AS status,
                        CASE WHEN rp < 0.05 THEN 1 WHEN rp < 0.20 THEN 2 WHEN rp < 0.70 THEN 3
                            ELSE 4 END AS priority,
                        (ARRAY{list(HIT_PATTERN)})[1 + mod(i * 7, 10)] AS hits,
                        'a' || (1 + floor(ra * {authors}))::int AS author
                    FROM base b JOIN rules r ON b.rr >= r.lo AND b.rr < r.hi
                ),
                timed AS (
                    SELECT s.*,
                        now() - (CASE WHEN status = 'resolved' THEN rt ELSE rt * rt END)
                            * interval '60 days' AS created,
                        (ARRAY[4, 24, 72, 168])[priority] * interval '1 hour' AS sla
                    FROM shaped s
                )
                INSERT INTO cases_case (id, grouping, group_key, status, disposition, reason,
                    note, priority, sla_due_at, policy_label, author_id, author_handle,
                    hit_count, first_hit_at, last_hit_at, is_restricted, version, created_at,
                    updated_at, first_touched_at, resolved_at, qa_status, assignee_id,
                    resolved_by_id, rule_id, tags)
                SELECT i, grouping,
                    CASE grouping WHEN 'per_author' THEN author
                        WHEN 'per_indicator' THEN (1 + floor(rx * {indicators}))::int::text
                        ELSE 'ev-' || i || '-1' END,
                    status,
                    CASE WHEN status <> 'resolved' THEN '' WHEN rd < 0.55 THEN 'true_positive'
                        WHEN rd < 0.85 THEN 'false_positive' WHEN rd < 0.95 THEN 'duplicate'
                        ELSE 'inconclusive' END,
                    CASE WHEN status = 'resolved' AND rd >= 0.55 AND rd < 0.85
                        THEN codes[1 + mod(i, array_length(codes, 1))] ELSE '' END,
                    '', priority, created + sla, policy, author, 'handle_' || author, hits,
                    created - hits * interval '5 minutes', created, false,
                    CASE status WHEN 'new' THEN 1 WHEN 'in_review' THEN 2 ELSE 3 END, created,
                    CASE WHEN status = 'resolved' THEN least(now(), created + sla * rx * 1.2)
                        ELSE created END,
                    CASE WHEN status <> 'new' THEN least(now(), created + sla * rx * 0.3) END,
                    CASE WHEN status = 'resolved' THEN least(now(), created + sla * rx * 1.2)
                        END,
                    '',
                    CASE WHEN status = 'new' OR (status = 'escalated' AND rd < 0.3) THEN NULL
                        ELSE ids[1 + mod(i * 13, {ANALYSTS})] END,
                    CASE WHEN status = 'resolved' THEN ids[1 + mod(i * 13, {ANALYSTS})] END,
                    rule_id, '{{}}'
                FROM timed, analysts, reasons
                """,
            )
            sql(
                cursor,
                "hits",
                f"""
                INSERT INTO detection_hit (event_id, event_day, field, value, start, "end",
                    author_id, occurred_at, mode, is_over_threshold, created_at, indicator_id,
                    rule_id, case_id)
                SELECT h.event_id, h.occurred::date,
                    CASE WHEN ind.type IN ('url', 'domain') THEN 'urls'
                        WHEN ind.type IN ('md5', 'sha1', 'sha256', 'pdq') THEN 'media'
                        ELSE 'text' END,
                    ind.value, NULL, NULL, h.author_id, h.occurred, 'live', true,
                    h.occurred + interval '2 seconds', ind.id, h.rule_id, h.case_id
                FROM (
                    SELECT c.id AS case_id, c.rule_id, c.author_id,
                        CASE WHEN c.grouping = 'per_event' THEN c.group_key
                            ELSE 'ev-' || c.id || '-' || k END AS event_id,
                        c.first_hit_at + (k - 1) * interval '5 minutes' AS occurred,
                        CASE WHEN c.grouping = 'per_indicator' THEN c.group_key::bigint
                            ELSE 1 + mod(c.id * 7919 + k * 104729, {indicators}) END AS ind_id
                    FROM cases_case c, generate_series(1, c.hit_count) k
                ) h JOIN intel_indicator ind ON ind.id = h.ind_id
                ORDER BY h.occurred
                """,
            )
            sql(
                cursor,
                "restricted cases (TLP:RED hits)",
                "UPDATE cases_case SET is_restricted = true WHERE id IN (SELECT h.case_id "
                "FROM detection_hit h JOIN intel_indicator i ON i.id = h.indicator_id "
                "WHERE i.tlp = 'RED')",
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
                SELECT h.id, c.id, c.disposition, c.reason, '', true, h.rule_id,
                    h.indicator_id, i.type, i.value, coalesce(src.ids, '{}'),
                    c.resolved_by_id, c.resolved_at
                FROM detection_hit h JOIN cases_case c ON c.id = h.case_id
                    JOIN intel_indicator i ON i.id = h.indicator_id
                    LEFT JOIN src ON src.indicator_id = h.indicator_id
                WHERE c.status = 'resolved'
                """,
            )
            sql(
                cursor,
                "audit entries (claimed, labelled...)",
                """
                INSERT INTO tdp_auditentry (at, user_name, request_id, action, object_id,
                    object_repr, changes, note, content_type_id, user_id)
                SELECT e.at, coalesce(u.username, 'system'), '', e.action, c.id::text,
                    'Case ' || c.id, e.changes, '', ct.id, c.assignee_id
                FROM cases_case c
                    JOIN django_content_type ct ON ct.app_label = 'cases' AND ct.model = 'case'
                    LEFT JOIN auth_user u ON u.id = c.assignee_id,
                    LATERAL (VALUES
                        ('case.claimed', c.first_touched_at,
                         '{"status": ["new", "in_review"]}'::jsonb),
                        ('case.escalated', CASE WHEN c.status = 'escalated'
                            THEN c.first_touched_at + interval '10 minutes' END,
                         '{"status": ["in_review", "escalated"]}'::jsonb),
                        ('case.labelled', c.resolved_at,
                         jsonb_build_object('status', jsonb_build_array('in_review', 'resolved'),
                            'disposition', jsonb_build_array('', c.disposition)))
                    ) e (action, at, changes)
                WHERE e.at IS NOT NULL
                ORDER BY e.at
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
    print(f"  {'VACUUM ANALYZE':<38} {'':>10}       {time.perf_counter() - start:6.1f} s")
    print(f"generated in {time.perf_counter() - started:.0f} s")


def restore(user: object) -> int:
    """Put the cases the bench user labelled or claimed back to new, unassigned, unlabelled."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(id) FROM cases_case WHERE assignee_id = %s OR resolved_by_id = %s",
            [user.pk, user.pk],
        )
        ids = cursor.fetchone()[0] or []
        if ids:
            cursor.execute("DELETE FROM cases_hitlabel WHERE case_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM cases_qareview WHERE case_id = ANY(%s)", [ids])
            cursor.execute(
                "UPDATE cases_case SET status = 'new', disposition = '', reason = '', "
                "note = '', assignee_id = NULL, resolved_at = NULL, resolved_by_id = NULL, "
                "first_touched_at = NULL, qa_status = '', version = 1 WHERE id = ANY(%s)",
                [ids],
            )
        cursor.execute("DELETE FROM tdp_auditentry WHERE user_id = %s", [user.pk])
    return len(ids)


# --- Measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    """The runs of one measurement."""

    name: str
    target_ms: float | None
    times: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    target_queries: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    @property
    def query_text(self) -> str:
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def met(self) -> str:
        """Whether the median meets the targets ("—" when the row has none)."""
        if self.target_ms is None and self.target_queries is None:
            return "—"
        time_ok = self.target_ms is None or self.median <= self.target_ms
        queries_ok = self.target_queries is None or max(self.queries) <= self.target_queries
        return "met" if time_ok and queries_ok else "**not met**"

    @property
    def target_text(self) -> str:
        parts = []
        if self.target_ms is not None:
            parts.append(f"≤ {self.target_ms:g} ms")
        if self.target_queries is not None:
            parts.append(f"≤ {self.target_queries} queries")
        return ", ".join(parts) or "—"


# CPython keeps its frames in 16 KiB chunks, mapped when the call stack grows into one and
# unmapped when it shrinks back. A request whose template recursion keeps crossing a chunk
# boundary costs far more CPU (measured here: 66 ms against 160 ms for the same queue page),
# and where the boundaries fall depends on how deep the caller already is. So each run starts
# at a different depth, spread over one chunk's worth of `_nested` frames: the median is the
# usual cost, and the p95 includes the unlucky depths.
DEPTHS = 140


def _nested(levels: int, action: Callable[[int], object], i: int) -> object:
    return action(i) if levels <= 0 else _nested(levels - 1, action, i)


def measure(
    name: str,
    action: Callable[[int], object],
    runs: int,
    *,
    target_ms: float | None = None,
    target_queries: int | None = None,
    warmups: int = 2,
) -> Result:
    """Time ``action(i)`` for i in range(runs) after ``warmups`` calls, counting its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(warmups):
        action(-1 - i)
    result = Result(name, target_ms, target_queries=target_queries)
    for i in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start, cpu = time.perf_counter(), time.process_time()
            _nested(i * 37 % DEPTHS, action, i)
            elapsed = (time.perf_counter() - start) * 1000
        result.cpu_ms.append((time.process_time() - cpu) * 1000)
        result.times.append(elapsed)
        result.queries.append(len(ctx.captured_queries))
        result.db_ms.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
    print(
        f"  {name:<62} median {result.median:7.1f} ms  p95 {result.p95:7.1f} ms  "
        f"SQL {statistics.median(result.db_ms):6.1f} ms in {result.query_text:>5} queries  "
        f"Python CPU {statistics.median(result.cpu_ms):5.1f} ms  "
        f"{result.met}",
        flush=True,
    )
    return result


def expect(response: object, status: int) -> object:
    """The response, after checking its status code."""
    if response.status_code != status:
        body = getattr(response, "content", b"")[:500]
        raise SystemExit(f"expected {status}, got {response.status_code}: {body!r}")
    return response


def api_cursor(case: object) -> str:
    """The API's cursor token positioned after ``case`` (what its `next` link would carry)."""
    position = f"{case.priority}|{case.sla_due_at.isoformat()}|{case.pk}"
    query = urllib.parse.urlencode({"p": position})
    return base64.b64encode(query.encode("ascii")).decode("ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reset", action="store_true", help="drop the bench database first")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    present = prepare_database(args.cases, args.reset)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.http import QueryDict
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from cases import triage
    from cases.filters import CaseFilter
    from cases.models import Case
    from cases.queue import SORTS, encode_cursor, ordered, parse_sort
    from detection.models import Hit

    if present:
        print(f"reusing the bench data in {DATABASE}")
    else:
        generate(args.cases)
    user = get_user_model().objects.get(username=BENCH_USER)
    restore(user)  # leftovers of an interrupted run
    token, _ = Token.objects.get_or_create(user=user)
    rng = random.Random(args.seed)
    runs = args.runs
    open_count = Case.objects.open().count()
    print(
        f"\ndata: {Case.objects.count():,} cases ({open_count:,} open, "
        f"{Case.objects.claimable().count():,} new and unassigned), {Hit.objects.count():,} hits"
    )

    client = Client()
    client.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    results: list[Result] = []

    def get(url: str, **headers: str) -> Callable[[int], object]:
        return lambda i: expect(client.get(url, secure=True, **headers), 200)

    def api_get(url: str) -> Callable[[int], object]:
        return lambda i: expect(api.get(url, secure=True), 200)

    def page(name: str, url: str, *, show_url: bool = True, **headers: str) -> None:
        results.append(
            measure(
                f"{name}: `{url}`" if show_url else name,
                get(url, **headers),
                runs,
                target_ms=TARGET_PAGE_MS,
                target_queries=TARGET_QUERIES,
            )
        )

    def cursor_at(query: str, sort: str, depth: int) -> str:
        """The page cursor after the ``depth``-th row of the queue filtered by ``query``."""
        rows = CaseFilter(QueryDict(query), queryset=Case.objects.visible_to(user)).qs
        row = ordered(rows, sort)[depth - 1]
        alias, _ = parse_sort(sort)
        return encode_cursor([getattr(row, f) for f in SORTS[alias]])

    print(f"\n1. queue, first page (server time; {runs} runs)")
    page("default (open, most urgent first)", "/cases/")
    page("status + priority filter, newest first", "/cases/?status=new&priority=2&sort=-created_at")
    page("unassigned, by priority", "/cases/?assignee=none&sort=priority")
    page("policy filter, by SLA due time", "/cases/?policy=scam&sort=sla_due_at")
    page("SLA breached, by SLA due time", "/cases/?sla=true&sort=sla_due_at")
    page("all statuses, most hits first", "/cases/?status=all&sort=-hit_count")
    page("by summary (author handle)", "/cases/?sort=title")
    page("by status", "/cases/?sort=status")
    page("by assignee name", "/cases/?sort=assignee")
    page(
        "htmx partial, status + priority",
        "/cases/?status=new&priority=2&sort=-created_at",
        HTTP_HX_REQUEST="true",
    )
    results.append(
        measure(
            "API list: `/api/v1/cases?status=new&priority=2`",
            api_get("/api/v1/cases?status=new&priority=2"),
            runs,
            target_ms=TARGET_PAGE_MS,
            target_queries=TARGET_QUERIES,
        )
    )

    depth_all = min(DEEP, args.cases // 2)
    print("\n2. deep pages (keyset pages after a cursor)")
    deep = [
        ("status=all", "priority", depth_all),
        ("status=all", "-created_at", depth_all),
        ("status=all", "sla_due_at", depth_all),
        ("", "priority", min(DEEP, open_count * 3 // 4)),
    ]
    for query, sort, depth in deep:
        after = cursor_at(query, sort, depth)
        url = f"/cases/?{query + '&' if query else ''}sort={sort}&after={after}"
        where = query or "open (default)"
        page(f"{where}, sort {sort}, {depth:,} rows deep", url, show_url=False)
    row = ordered(CaseFilter(QueryDict("status=all"), queryset=Case.objects.all()).qs, "priority")
    api_url = "/api/v1/cases?" + urllib.parse.urlencode(
        {"status": "all", "cursor": api_cursor(row[depth_all - 1])}
    )
    results.append(
        measure(
            f"API list, status=all, {depth_all:,} rows deep",
            api_get(api_url),
            runs,
            target_ms=TARGET_PAGE_MS,
            target_queries=TARGET_QUERIES,
        )
    )

    # Distinct new, unassigned P3/P4 cases to label: "get next" takes P1 first and never
    # reaches them, so claims cannot collide with the labels.
    pool = list(
        Case.objects.claimable()
        .filter(priority__gte=3)
        .order_by("pk")
        .values_list("pk", "hit_count")
    )
    picks = iter(rng.sample(pool, 4 * (runs + 2)))
    hits_labelled: list[int] = []

    def label_action(kind: str) -> Callable[[int], object]:
        def run(i: int) -> object:
            pk, hits = next(picks)
            if i >= 0:
                hits_labelled.append(hits)
            data = {"disposition": "false_positive", "reason": "benign_site", "version": 1}
            if kind == "stay":
                return expect(
                    client.post(f"/cases/{pk}/label", {**data, "then": "stay"}, secure=True), 302
                )
            if kind == "next":
                return expect(client.post(f"/cases/{pk}/label", data, secure=True), 302)
            if kind == "api":
                response = api.post(
                    f"/api/v1/cases/{pk}/label", data, content_type="application/json", secure=True
                )
                return expect(response, 200)
            return triage.label_case(pk, user=user, **data)

        return run

    print(f"\n3. label a case (false positive, benign_site; distinct new P3/P4 cases; {runs} runs)")
    for name, kind in [
        ("page: POST /cases/<id>/label, then=stay", "stay"),
        ("page: POST /cases/<id>/label, then claim the next case", "next"),
        ("API: POST /api/v1/cases/<id>/label", "api"),
        ("`triage.label_case()` alone", "function"),
    ]:
        results.append(measure(name, label_action(kind), runs, target_ms=TARGET_LABEL_MS))
    print(
        f"  hits per labelled case: median {statistics.median(hits_labelled):g}, max "
        f"{max(hits_labelled)}"
    )

    print(f"\n4. get next ({runs} runs each)")
    claimed: list[int] = []

    def page_next(i: int) -> object:
        return expect(client.post("/cases/next", secure=True), 302)

    def api_next(i: int) -> object:
        return expect(api.post("/api/v1/cases/next", secure=True), 200)

    def function_next(i: int) -> object:
        case = triage.claim_next(user)
        claimed.append(case.pk)
        return case

    results.append(measure("page: POST /cases/next", page_next, runs, target_ms=TARGET_NEXT_MS))
    results.append(
        measure("API: POST /api/v1/cases/next", api_next, runs, target_ms=TARGET_NEXT_MS)
    )
    results.append(
        measure("`triage.claim_next()` alone", function_next, runs, target_ms=TARGET_NEXT_MS)
    )
    results.append(
        measure(
            "the case page a claim opens: GET /cases/<id>/",
            lambda i: expect(client.get(f"/cases/{claimed[i % len(claimed)]}/", secure=True), 200),
            runs,
        )
    )

    changed = restore(user)
    print(f"\nput {changed} labelled or claimed cases back in the queue")
    print("\n| measurement | target | median | p95 | SQL queries | of which SQL | Python CPU | |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.name} | {r.target_text} | {r.median:.1f} ms | {r.p95:.1f} ms | "
            f"{r.query_text} | {statistics.median(r.db_ms):.1f} ms | "
            f"{statistics.median(r.cpu_ms):.1f} ms | {r.met} |"
        )


if __name__ == "__main__":
    main()
