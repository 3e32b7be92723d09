"""Benchmark of the feed parsers' CSV and text paths (plain script, one core).

Generates CSV files of ``--rows`` rows (default 1,000,000) in a temporary directory, parses
each with :func:`intel.parsers.parse` and prints rows/s plus the peak traced memory. The
target is >= 400k rows/s for a simple URL CSV.

    .venv/bin/python bench/parse.py [--rows N] [--gzip] [--memory]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

# Python puts this directory first on sys.path, where bench/queue.py would shadow the
# standard library's queue module (psycopg and RQ import it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intel.parsers import ParsedRow, ParserOptions, parse  # noqa: E402

TLDS = ("com", "net", "org", "xyz", "top", "ru", "io")
WORDS = ("login", "secure", "update", "bank", "verify", "cdn", "files", "mail", "app", "pay")


def _url(i: int) -> str:
    if i % 3 == 0:
        host = f"{1 + i % 223}.{(i >> 8) % 256}.{(i >> 16) % 256}.{i % 256}:8080"
    else:
        host = f"{WORDS[i % 10]}-{i:x}.{WORDS[(i >> 4) % 10]}.{TLDS[i % 7]}"
    return f"http://{host}/{WORDS[(i >> 2) % 10]}/{i}.bin"


def make_files(folder: Path, rows: int, compress: bool) -> dict[str, Path]:
    """Write the benchmark inputs; returns name -> path."""
    shapes = {
        "url-2col": ("id,url", lambda i, u: f"{i},{u}"),
        "url-4col-quoted": (
            '"id","url","url_status","threat"',
            lambda i, u: f'"{i}","{u}","online","malware_download"',
        ),
        "url-4col-tags-dates": (
            "dateadded,url,tags,threat",
            lambda i, u: f'2026-03-09 09:{i % 60:02d}:18,{u},"elf,mips",malware_download',
        ),
        # abuse.ch URLhaus layout: ~200 bytes/row, so 1M rows is about 200 MB
        "urlhaus-9col-crlf": (
            "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter",
            lambda i, u: (
                f'"{i}","2026-03-09 09:{i % 60:02d}:18","{u}","online","2026-03-09 09:28:14",'
                f'"malware_download","32-bit,elf,mips,Mozi","https://urlhaus.abuse.ch/url/{i}/",'
                f'"reporter_{i % 97}"\r'
            ),
        ),
    }
    paths = {}
    for name, (header, fmt) in shapes.items():
        path = folder / f"{name}.csv"
        opener = gzip.open if compress else open
        if compress:
            path = path.with_suffix(".csv.gz")
        with opener(path, "wt", encoding="utf-8", newline="") as fh:
            fh.write("# benchmark feed\n" + header + "\n")
            batch = []
            for i in range(rows):
                batch.append(fmt(i, _url(i)))
                if len(batch) == 10_000:
                    fh.write("\n".join(batch) + "\n")
                    batch.clear()
            if batch:
                fh.write("\n".join(batch) + "\n")
        paths[name] = path
    return paths


def run(path: Path, trace: bool) -> tuple[int, float, float]:
    """Parse ``path`` once; returns (rows, seconds, peak MiB or 0)."""
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as fh:
        for item in parse(fh, ParserOptions(), filename=path.name):
            if item.__class__ is ParsedRow:
                count += 1
    elapsed = time.perf_counter() - start
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return count, elapsed, peak


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true", help="gzip the inputs first")
    parser.add_argument(
        "--memory", action="store_true", help="also parse once under tracemalloc (slow)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_files(Path(tmp), args.rows, args.gzip)
        for name, path in paths.items():
            size = path.stat().st_size / 2**20
            count, elapsed, _ = run(path, trace=False)
            line = (
                f"{name:22s} {size:7.1f} MiB  {count:>9,d} rows  {elapsed:6.2f} s  "
                f"{count / elapsed:>10,.0f} rows/s"
            )
            if args.memory:
                line += f"  peak traced memory {run(path, trace=True)[2]:5.1f} MiB"
            print(line, flush=True)


if __name__ == "__main__":
    main()
