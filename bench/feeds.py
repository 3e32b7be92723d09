"""Benchmark: pull a 1,000,000-row URL feed over HTTP and compare it with importing the file.

Usage: `.venv/bin/python bench/feeds.py [--rows N]`. Serves `bench/data/urls_<N>.csv` (made by
`bench/ingest.py`'s `make_csv` when missing) from a threaded static server on 127.0.0.1 inside
this process, then times, each on a freshly migrated database of its own (`tdp_bench_feeds`,
beside DATABASE_URL's, recreated for each measurement):

* `manage.py import_intel FILE` (the file from disk), and
* `manage.py pull_feed NAME` (the same bytes through tdp/http.py, the feed's options and a
  FeedRun), plus an unchanged re-pull (ETag, 304) and a forced re-pull.

Target (issue "Feeds"): the pull takes at most 1.3 times the import of the same file. The feed
is `incremental` by default, which ingests exactly like `import_intel`; `--mode snapshot` adds
the bookkeeping that expires indicators missing from the feed.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DATABASE = "tdp_bench_feeds"
FEED = "bench feed"
TARGET_RATIO = 1.3

# Python puts this directory first on sys.path, where bench/queue.py would shadow the
# standard library's queue module (psycopg and RQ import it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
from bench.ingest import csv_path  # noqa: E402  (needs ROOT on the path)


def bench_env() -> dict[str, str]:
    """Environment for the commands: the bench database, private URLs allowed, quiet logs."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tdp")
    env = dict(os.environ)
    env["DATABASE_URL"] = urllib.parse.urlsplit(base)._replace(path=f"/{DATABASE}").geturl()
    env["TDP_ALLOW_PRIVATE_URLS"] = "1"  # the feed server is this process, on 127.0.0.1
    env["TDP_FEED_MAX_BYTES"] = str(4 * 1024**3)
    env["LOG_LEVEL"] = "WARNING"
    return env


def reset_database(env: dict[str, str]) -> None:
    """Drop and recreate the bench database, then migrate it."""
    import psycopg

    admin = urllib.parse.urlsplit(env["DATABASE_URL"])._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    run([PY, "manage.py", "migrate", "--no-input", "-v", "0"], env)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str, float]:
    """Run a command; return (seconds, stdout, its own peak RSS in MB). Exit on failure."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read().decode() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} failed:\n{out[-1000:]}\n{err.read().decode()[-2000:]}")
    return elapsed, out, usage.ru_maxrss / 1024


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


class StaticFeed(BaseHTTPRequestHandler):
    """Serves one file at any path, with Content-Length and an ETag (If-None-Match -> 304)."""

    protocol_version = "HTTP/1.1"
    path_on_disk: Path
    etag: str

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.headers.get("If-None-Match") == self.etag:
            self.send_response(304)
            self.send_header("ETag", self.etag)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        size = self.path_on_disk.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(size))
        self.send_header("ETag", self.etag)
        self.send_header("Connection", "close")
        self.end_headers()
        with open(self.path_on_disk, "rb") as fh:
            self.wfile.flush()
            self.connection.sendfile(fh)


def serve(path: Path) -> ThreadingHTTPServer:
    """Start the static feed server on an ephemeral port of 127.0.0.1."""
    digest = hashlib.sha256(f"{path}:{path.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    handler = type("Handler", (StaticFeed,), {"path_on_disk": path, "etag": f'"{digest}"'})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def counts(summary: dict) -> str:
    keys = ("received", "created", "updated", "unchanged", "rejected", "expired")
    return " ".join(f"{k}={summary.get(k)}" for k in keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=("incremental", "snapshot"), default="incremental")
    args = parser.parse_args()
    path = csv_path(args.rows)
    size_mb = path.stat().st_size / 1e6
    env = bench_env()
    server = serve(path)
    url = f"http://127.0.0.1:{server.server_address[1]}/urls.csv"
    feed_config = {
        "name": FEED,
        "url": url,
        "format": "csv",
        "parser": {"value_column": "url"},
        "defaults": {"confidence": 50},
        "mode": args.mode,
        "schedule": "every 1h",
    }

    print(f"\n{args.rows:,} CSV rows ({size_mb:.0f} MB), each measurement on a fresh database")
    reset_database(env)
    import_s, out, import_rss = run(
        [
            PY,
            "manage.py",
            "import_intel",
            str(path),
            "--source",
            "bench import",
            "--format",
            "csv",
            "--value-column",
            "url",
            "--confidence",
            "50",
        ],
        env,
    )
    imported = last_json(out)
    print(
        f"  import_intel (file):   {import_s:6.1f} s  {args.rows / import_s:9,.0f} rows/s"
        f"  peak RSS {import_rss:4.0f} MB  {counts(imported)}"
    )

    reset_database(env)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump([feed_config], fh)
    try:
        run([PY, "manage.py", "import_feeds", fh.name], env)
    finally:
        os.unlink(fh.name)
    pull_s, out, pull_rss = run([PY, "manage.py", "pull_feed", FEED], env)
    pulled = last_json(out)
    print(
        f"  pull_feed (HTTP):      {pull_s:6.1f} s  {args.rows / pull_s:9,.0f} rows/s"
        f"  mode {args.mode}"
        f"  peak RSS {pull_rss:4.0f} MB  {counts(pulled)}  status={pulled['status']}"
        f"  run {pulled['duration_ms'] / 1000:.1f} s, {pulled['bytes'] / 1e6:.0f} MB"
    )

    again_s, out, _ = run([PY, "manage.py", "pull_feed", FEED], env)
    print(f"  re-pull (ETag, 304):   {again_s:6.1f} s  status={last_json(out)['status']}")
    forced_s, out, _ = run([PY, "manage.py", "pull_feed", FEED, "--force"], env)
    print(f"  forced re-pull:        {forced_s:6.1f} s  {counts(last_json(out))}")
    server.shutdown()

    same = all(pulled[k] == imported[k] for k in ("received", "created", "rejected"))
    ratio = pull_s / import_s
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"\npull / import = {ratio:.2f} (target ≤ {TARGET_RATIO}): {verdict}")
    print(f"same counts from both paths: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
