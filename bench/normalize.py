"""Benchmark intel.normalize: rows per second on generated, realistic indicator values.

Usage: ``.venv/bin/python bench/normalize.py [--count 1000000] [--seed 7]``

Two runs of ``--count`` values each, timed with ``time.perf_counter`` (generation is not
timed):

1. URLs as feeds carry them: http/https/ftp, ports (default and not), paths, queries,
   fragments, upper-case hosts, percent-escapes, ~10% defanged, ~3% IDN hosts, ~5% IPv4 and
   ~1% IPv6 hosts, ~1% malformed (spaces, bad ports, no host, odd schemes). Hosts are drawn
   70% from a pool of 20,000 (feeds repeat hosts) and 30% freshly made up.
2. A mix of every other type (domains, IPs, CIDRs, hashes, emails, phones, accounts,
   hashtags, keywords, wallets), half with the type given and half auto-detected.

The target is 1M URLs in <= 8 s on one core (>= 125k rows/s).
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# Python puts this directory first on sys.path, where bench/queue.py would shadow the
# standard library's queue module (psycopg and RQ import it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = [
    "login",
    "secure",
    "account",
    "update",
    "verify",
    "bank",
    "pay",
    "wallet",
    "mail",
    "cloud",
    "cdn",
    "static",
    "api",
    "auth",
    "portal",
    "office",
    "support",
    "service",
    "online",
    "web",
    "app",
    "shop",
    "store",
    "gift",
    "free",
    "promo",
    "invoice",
    "doc",
    "drive",
    "file",
    "share",
    "track",
    "parcel",
    "delivery",
    "post",
    "news",
    "id",
    "sso",
    "admin",
    "panel",
    "gate",
    "stats",
    "img",
    "media",
]
TLDS = ["com", "net", "org", "info", "xyz", "top", "ru", "cn", "io", "co", "example", "online"]
IDN_LABELS = ["bücher", "münchen", "пример", "例え", "café", "испытание", "ñandú", "ελλάδα"]
EXTS = ["php", "html", "js", "exe", "zip", "aspx", "jsp", "bin", "", "", ""]


def _label(rng: random.Random) -> str:
    if rng.random() < 0.6:
        word = rng.choice(WORDS)
        return word + (rng.choice(["-", ""]) + rng.choice(WORDS) if rng.random() < 0.4 else "")
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(5, 14)))


def _host(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.05:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if r < 0.06:
        return f"[2001:db8:{rng.randint(0, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}]"
    if r < 0.09:
        return f"{rng.choice(IDN_LABELS)}.{rng.choice(['de', 'рф', 'com', 'jp'])}"
    labels = [_label(rng) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
    host = ".".join(labels) + "." + rng.choice(TLDS)
    if rng.random() < 0.1:
        host = host.upper() if rng.random() < 0.5 else host.title()
    return host


def _path(rng: random.Random) -> str:
    parts = [_label(rng) for _ in range(rng.randint(0, 4))]
    path = "/" + "/".join(parts)
    ext = rng.choice(EXTS)
    if ext and parts:
        path += "." + ext
    if rng.random() < 0.05:
        path += "/%2f%3D" if rng.random() < 0.5 else "/%E2%9C%93"
    return path if rng.random() < 0.9 else ""


def _query(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return ""
    pairs = [
        f"{rng.choice(WORDS)}={rng.randint(0, 10 ** rng.randint(1, 9))}"
        for _ in range(rng.randint(1, 4))
    ]
    return "?" + "&".join(pairs)


MALFORMED = [
    "http://evil example.com/x",
    "http://evil.example:99999/",
    "http:///nohost",
    "javascript://alert(1)",
    "http://exa mple.com",
    "http://[::1/",
    "http://bad_host!.com/",
    "http://010.1.1.1/",
]


def make_urls(n: int, rng: random.Random) -> list[str]:
    """``n`` URL strings shaped like the ones threat feeds deliver."""
    pool = [_host(rng) for _ in range(20_000)]
    out: list[str] = []
    for _ in range(n):
        if rng.random() < 0.01:
            out.append(rng.choice(MALFORMED))
            continue
        host = rng.choice(pool) if rng.random() < 0.7 else _host(rng)
        scheme = rng.choices(["http", "https", "ftp", "HTTP"], weights=[45, 50, 3, 2])[0]
        port = ""
        if rng.random() < 0.1:
            port = ":" + str(rng.choice([80, 443, 8080, 8443, 21, 4444, 3389]))
        frag = "#" + _label(rng) if rng.random() < 0.05 else ""
        url = f"{scheme}://{host}{port}{_path(rng)}{_query(rng)}{frag}"
        if rng.random() < 0.1:
            url = url.replace("http", "hxxp", 1).replace(".", "[.]", 2)
        out.append(url)
    return out


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choices("0123456789abcdefABCDEF", k=n))


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
MAKERS: dict[str, Callable[[random.Random], str]] = {
    "domain": lambda r: _host(r).strip("[]") if r.random() < 0.2 else f"{_label(r)}.example",
    "ipv4": lambda r: ".".join(str(r.randint(0, 255)) for _ in range(4)),
    "ipv6": lambda r: f"2001:db8:{r.randint(0, 0xFFFF):x}::{r.randint(1, 0xFFFF):x}",
    "cidr": lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.0/{r.randint(8, 31)}",
    "md5": lambda r: _hex(r, 32),
    "sha1": lambda r: _hex(r, 40),
    "sha256": lambda r: _hex(r, 64),
    "email": lambda r: f"{_label(r)}@{_label(r)}[.]{r.choice(TLDS)}",
    "phone": lambda r: f"+1 ({r.randint(201, 989)}) 555-{r.randint(0, 9999):04d}",
    "account": lambda r: "@" + _label(r).replace("-", "_")[:30],
    "hashtag": lambda r: "#" + _label(r).replace("-", "_").title(),
    "keyword": lambda r: " ".join(r.choice(WORDS).upper() for _ in range(r.randint(1, 4))),
    "crypto_wallet": lambda r: (
        "0x" + _hex(r, 40) if r.random() < 0.5 else "1" + "".join(r.choices(B58, k=33))
    ),
}


def make_mixed(n: int, rng: random.Random) -> list[tuple[str, str | None]]:
    """``n`` (value, type or None) pairs over every non-URL type; keywords always typed."""
    kinds = list(MAKERS)
    out: list[tuple[str, str | None]] = []
    for _ in range(n):
        kind = rng.choice(kinds)
        value = MAKERS[kind](rng)
        typed = kind == "keyword" or rng.random() < 0.5
        out.append((value, kind if typed else None))
    return out


def run(label: str, pairs: list[tuple[str, str | None]]) -> None:
    """Normalise every pair once, print throughput and what came out."""
    from intel.normalize import NormalizationError, normalize

    results: Counter[str] = Counter()
    started = time.perf_counter()
    for value, type_ in pairs:
        try:
            results[normalize(value, type_)[0]] += 1
        except NormalizationError:
            results["<rejected>"] += 1
    elapsed = time.perf_counter() - started
    n = len(pairs)
    print(
        f"{label:<34} {n:>9,} rows  {elapsed:6.2f} s  {n / elapsed:>10,.0f} rows/s  "
        f"{elapsed / n * 1e6:5.2f} us/row"
    )
    print("    " + ", ".join(f"{k}={v}" for k, v in results.most_common()))


def main() -> None:
    """Generate the data sets, then time them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    print(f"generating {args.count:,} URLs and {args.count:,} mixed values ...", flush=True)
    urls = make_urls(args.count, rng)
    mixed = make_mixed(args.count, rng)

    run("urls, type auto-detected", [(u, None) for u in urls])
    from intel.normalize import _url_host  # cache of canonical hosts

    _url_host.cache_clear()
    run("urls, type 'url', cold host cache", [(u, "url") for u in urls])
    run("mixed other types", mixed)


if __name__ == "__main__":
    main()
