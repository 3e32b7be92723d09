"""Benchmark: import a 1,000,000-row CSV of URLs end to end, re-import it, and time the list page.

Usage: `.venv/bin/python bench/ingest.py [--rows N] [--keep]`. Uses its own database
(`tdp_bench` beside DATABASE_URL's, recreated each run) so development data is untouched.
Targets (issue "Intel"): import ≤ 20 s (≥ 50k rows/s) with peak RSS ≤ 300 MB; re-import
≤ 15 s creating nothing; the filtered + sorted + substring-searched first list page ≤ 100 ms
server time in ≤ 10 SQL queries.
"""

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Python puts this directory first on sys.path, where bench/queue.py would shadow the standard
# library's queue module (psycopg imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
DATA = ROOT / "bench" / "data"
PY = sys.executable

WORDS = [
    *("login secure account verify update paypal apple bank wallet crypto free gift robux").split(),
    *("prize promo support help service mail cloud drive docs share file video live").split(),
    *("stream insta bonus claim reward airdrop nft token invest trade coin giveaway").split(),
]
TLDS = ["com", "net", "org", "xyz", "top", "info", "ru", "cn", "io", "shop", "online", "site"]
EXTS = ["", ".php", ".html", ".exe", ".apk", ".zip", "/", ".js", ".sh", ".bin"]
MALFORMED = [
    "http://",
    "not a url at all",
    "http://exa mple.com/x",
    "ht!tp://bad",
    "http://.com/",
    "http://256.1.1.1:99999/x",
]


def bench_env() -> dict[str, str]:
    """Environment for the subprocesses: the bench database, quiet logs."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tdp")
    parts = urllib.parse.urlsplit(base)
    env = dict(os.environ)
    env["DATABASE_URL"] = parts._replace(path="/tdp_bench").geturl()
    env["LOG_LEVEL"] = "WARNING"
    return env


def random_url(rng: random.Random) -> str:
    """One realistic malicious-looking URL (IP hosts with ports, subdomains, queries)."""
    if rng.random() < 0.35:
        host = ".".join(str(rng.randint(1, 223)) for _ in range(4))
        port = f":{rng.choice([8080, 443, 81, 8000, 3000, 5555])}" if rng.random() < 0.6 else ""
        scheme = "http"
    else:
        labels = [rng.choice(WORDS) + str(rng.randint(0, 99999))]
        if rng.random() < 0.4:
            labels.insert(0, rng.choice(WORDS))
        host = ".".join(labels) + "." + rng.choice(TLDS)
        port = ""
        scheme = rng.choice(["http", "https"])
    path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
    url = f"{scheme}://{host}{port}/{path}{rng.choice(EXTS) if path else ''}"
    if rng.random() < 0.1:
        url += f"?id={rng.randint(1, 10**6)}&ref={rng.choice(WORDS)}"
    return url


def make_csv(path: Path, rows: int) -> None:
    """Write `rows` URLhaus-like rows: ~15% repeat an earlier URL, ~1% are malformed."""
    rng = random.Random(20261125)
    seen: list[str] = []
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "dateadded", "url", "url_status", "threat", "tags"])
        for i in range(rows):
            roll = rng.random()
            if roll < 0.01:
                url = rng.choice(MALFORMED)
            elif roll < 0.16 and seen:
                url = rng.choice(seen)
            else:
                url = random_url(rng)
                if len(seen) < 200_000:
                    seen.append(url)
                else:
                    seen[rng.randrange(len(seen))] = url
            tags = ",".join(rng.sample(WORDS, 2))
            writer.writerow([i, "2026-11-20 10:00:00", url, "online", "malware_download", tags])


def csv_path(rows: int) -> Path:
    """The generated `rows`-row URL CSV under bench/data/, made on first use."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"urls_{rows}.csv"
    if not path.exists():
        print(f"generating {path.name} …", flush=True)
        make_csv(path, rows)
    return path


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run a command, return (seconds, stdout); fail loudly on a non-zero exit."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def reset_database(env: dict[str, str]) -> None:
    """Drop and recreate the bench database, then migrate it."""
    import psycopg

    url = urllib.parse.urlsplit(env["DATABASE_URL"])
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS tdp_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE tdp_bench")
    run([PY, "manage.py", "migrate", "--no-input", "-v", "0"], env)


def import_file(path: Path, env: dict[str, str]) -> tuple[float, dict, float]:
    """Import through the real command; return (seconds, summary, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [PY, "manage.py", "import_intel", str(path), "--source", "bench feed"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"import failed:\n{err[-2000:]}")
    # ru_maxrss of waited-for children is the largest child so far (KiB on Linux); the import
    # is by far the largest child this script starts.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, json.loads(out.strip().splitlines()[-1]), peak_mb


LIST_PAGE_SCRIPT = r"""
import json, os, statistics, time
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from tests.factories import make_user

from django.contrib.auth import get_user_model
user = get_user_model().objects.filter(username="bench-analyst").first() or make_user(
    "bench-analyst", role="analyst"
)
client = Client()
client.force_login(user)
from intel.models import Indicator
ids = Indicator.objects.order_by("-id").values_list("id", flat=True)
deep_id, deepest_id = ids[100_000], ids[800_000]
cases = {
    "specific substring + type + sort": "/intel/indicators/?q=robux123&type=url&sort=-confidence",
    "common substring (5% of rows) + type + sort": "/intel/indicators/?q=login&type=url&sort=-confidence",
    "substring + status + tag + sort": "/intel/indicators/?q=wallet&status=active&tag=promo&sort=value",
    "filter + sort, no search": "/intel/indicators/?type=url&status=active&sort=-last_seen_at",
    "default list": "/intel/indicators/",
    "offset page 200 (10k rows deep)": "/intel/indicators/?type=url&sort=-confidence&page=200",
    "offset page 2000 (100k rows deep)": "/intel/indicators/?type=url&sort=-confidence&page=2000",
    "keyset page 100k rows deep": "/intel/indicators/?type=url&after=" + str(deep_id),
    "keyset page 800k rows deep": "/intel/indicators/?type=url&after=" + str(deepest_id),
    "htmx partial, substring": "/intel/indicators/?q=robux",
}
out = {}
for name, url in cases.items():
    headers = {"HTTP_HX_REQUEST": "true"} if "htmx" in name else {}
    client.get(url, **headers)  # warm
    times = []
    for _ in range(7):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            response = client.get(url, **headers)
            times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    out[name] = {"median_ms": round(statistics.median(times), 1), "queries": len(ctx.captured_queries)}
print(json.dumps(out))
"""


def time_list_page(env: dict[str, str]) -> dict:
    """Server time of the list page (in-process Django test client) against the bench data."""
    page_env = dict(
        env,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(ROOT),
        ALLOWED_HOSTS="testserver",
    )
    _, out = run([PY, "-c", LIST_PAGE_SCRIPT], page_env)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--pages-only", action="store_true", help="only time the list page on the last import"
    )
    args = parser.parse_args()
    if args.pages_only:
        report_pages(time_list_page(bench_env()))
        return
    path = csv_path(args.rows)
    size_mb = path.stat().st_size / 1e6
    env = bench_env()
    reset_database(env)

    print(f"\nimport of {args.rows:,} CSV rows ({size_mb:.0f} MB)")
    seconds, summary, peak = import_file(path, env)
    print(
        f"  first import:  {seconds:6.1f} s  {args.rows / seconds:9,.0f} rows/s  peak RSS {peak:.0f} MB"
    )
    print(f"  counts: {json.dumps({k: v for k, v in summary.items() if k != 'errors'})}")

    seconds2, summary2, _ = import_file(path, env)
    print(
        f"  re-import:     {seconds2:6.1f} s  created {summary2['created']}  (within the seen resolution)"
    )

    forced_env = dict(env, TDP_SEEN_RESOLUTION_MINUTES="0")
    seconds3, summary3, _ = import_file(path, forced_env)
    print(
        f"  re-import, every last-seen refreshed: {seconds3:6.1f} s  created {summary3['created']}"
    )

    subprocess.run(["psql", env["DATABASE_URL"], "-qc", "VACUUM ANALYZE"], check=False)
    report_pages(time_list_page(env))


def report_pages(pages: dict) -> None:
    """Print the list page timings."""
    print("\nindicator list page (server time, median of 7; SQL queries)")
    for name, figures in pages.items():
        print(f"  {name:34s} {figures['median_ms']:7.1f} ms  {figures['queries']:3d} queries")
    print(
        f"\nmedian list page time: {statistics.median(p['median_ms'] for p in pages.values()):.1f} ms"
    )


if __name__ == "__main__":
    main()
