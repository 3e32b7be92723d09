"""Benchmark the detection matcher in process: build, memory, events/s, and a naive baseline.

Usage: ``.venv/bin/python bench/detect.py [--indicators 1000000] [--events 100000]
[--naive-events 30] [--seed 7]``

1. Generates ``--indicators`` active indicators as :class:`IndicatorRef` (40% URLs, 30%
   domains, 10% IPs and CIDRs, 10% hashes including PDQ, 5% keywords, 5% emails, accounts,
   hashtags, phones and wallets), then times :meth:`Matcher.build` (target <= 15 s for 1M)
   and reports peak RSS (``ru_maxrss``, target <= 1.5 GB) and bytes per indicator.
2. Generates ``--events`` realistic content events (~400 bytes of text with mentions,
   hashtags, emoji, a short link in half of them; 2 URLs, 70% of them from a pool of 20,000
   popular links as in bench/normalize.py; 1 media hash, a PDQ on a fifth;
   ~3% with defanged links; ~1% carrying one planted indicator, a third of those defanged)
   and scans them single-threaded with :meth:`Matcher.match_event` (target >= 20,000/s),
   after a warm-up on other events of the same kind (a worker runs with warm caches).
   Every planted indicator must be found. Extraction alone is timed on yet other events.
3. Runs the same events through a naive baseline (for each event, test every indicator
   value as a substring of the event's lowercased text, URLs and hashes) on a sample of
   ``--naive-events`` events, extrapolates, and prints the speed-up.

Generation is not timed. Numbers vary with the machine and its load; run it alone.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import string
import sys
import time
from pathlib import Path

# Python puts this directory first on sys.path, where bench/queue.py would shadow the
# standard library's queue module (psycopg and RQ import it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detection.matching import IndicatorRef, Matcher  # noqa: E402
from detection.observables import extract_observables  # noqa: E402

COMMON = (
    "the of and to in is you that it he was for on are as with his they at be this have "
    "from or one had by word but not what all were we when your can said there use an each "
    "which she do how their if will up other about out many then them these so some her would "
    "make like him into time has look two more write go see number no way could people my "
    "than first water been call who oil its now find long down day did get come made may part "
    "great today really love new check thanks happy best live game team music watch video"
).split()
SCAM = (
    "free robux giveaway airdrop claim prize winner bitcoin double crypto wallet verify "
    "account suspended urgent login password gift card bonus reward limited offer click "
    "exclusive investment profit guaranteed returns elon token presale whitelist mint nft "
    "recovery support refund unlock premium hack cheat generator followers likes promo code "
    "cashapp venmo paypal loan approved lottery jackpot inheritance package delivery customs"
).split()
EMOJI = ["\U0001f525", "\U0001f602", "\u2764\ufe0f", "\U0001f680", "\U0001f44d", "\u2728"]
TLDS = ["com", "net", "org", "info", "xyz", "top", "ru", "cn", "io", "co", "online", "site"]
BENIGN_HOSTS = [
    f"{a}.{b}"
    for a in ("news", "shop", "blog", "www", "cdn", "media", "store", "docs")
    for b in ("example.com", "example.org", "example.net", "goodsite.io", "dailypaper.co")
]
TAG_POOL = [(), ("phishing",), ("malware", "c2"), ("scam",), ("csam-adjacent", "priority")]
SOURCE_POOL = [(s,) for s in range(1, 40)] + [(1, 2), (3, 7, 9)]


def _word(rng: random.Random) -> str:
    return rng.choice(SCAM) if rng.random() < 0.5 else rng.choice(COMMON)


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


def make_indicators(n: int, rng: random.Random) -> list[IndicatorRef]:
    """``n`` canonical indicators in the issue's mix (values unique per type)."""
    mix = [
        ("url", 0.40),
        ("domain", 0.30),
        ("ipv4", 0.06),
        ("ipv6", 0.01),
        ("cidr", 0.03),
        ("md5", 0.03),
        ("sha1", 0.02),
        ("sha256", 0.04),
        ("pdq", 0.01),
        ("keyword", 0.05),
        ("email", 0.015),
        ("account", 0.015),
        ("hashtag", 0.01),
        ("phone", 0.005),
        ("crypto_wallet", 0.005),
    ]
    out: list[IndicatorRef] = []
    next_id = 1
    for type_, share in mix:
        count = round(n * share) if type_ != "crypto_wallet" else n - len(out)
        for i in range(count):
            value = _value(type_, i, rng)
            tags = TAG_POOL[next_id % len(TAG_POOL)]
            sources = SOURCE_POOL[next_id % len(SOURCE_POOL)]
            out.append(IndicatorRef(next_id, type_, value, rng.randint(10, 100), tags, sources))
            next_id += 1
    return out


def _domain(i: int, rng: random.Random) -> str:
    return f"{_word(rng)}-{_word(rng)}{i}.{rng.choice(TLDS)}"


def _value(type_: str, i: int, rng: random.Random) -> str:
    if type_ == "url":
        host = (
            _domain(i, rng)
            if rng.random() < 0.9
            else f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        )
        path = "/".join(_word(rng) for _ in range(rng.randint(1, 3)))
        query = f"?id={rng.randint(1, 99999)}" if rng.random() < 0.3 else ""
        return f"{rng.choice(['http', 'https'])}://{host}/{path}{query}"
    if type_ == "domain":
        return ("login." if rng.random() < 0.2 else "") + _domain(i, rng)
    if type_ == "ipv4":
        return f"{rng.randint(11, 223)}.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    if type_ == "ipv6":
        return f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::{rng.randint(1, 0xFFFF):x}"
    if type_ == "cidr":
        bits = rng.choice([8, 12, 16, 20, 22, 24, 24, 24, 28, 32])
        base = (rng.randint(11, 223) << 24) | rng.getrandbits(24)
        net = base >> (32 - bits) << (32 - bits) if bits else 0
        return f"{net >> 24}.{net >> 16 & 255}.{net >> 8 & 255}.{net & 255}/{bits}"
    if type_ in ("md5", "sha1", "sha256", "pdq"):
        return _hex(rng, {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}[type_])
    if type_ == "keyword":
        words = [rng.choice(SCAM) for _ in range(rng.choice([2, 2, 3]))]
        return " ".join(words) + (f" {i}" if i >= 10_000 else "")
    if type_ == "email":
        return f"{_word(rng)}.{i}@{_domain(i, rng)}"
    if type_ == "account":
        return f"@{_word(rng)}_{i}"[:31]
    if type_ == "hashtag":
        return f"#{_word(rng)}{i}"
    if type_ == "phone":
        return f"+1415{5550000 + i % 10000:07d}"[:12] if i < 10000 else f"+4420{79460000 + i}"
    return "0x" + _hex(rng, 40)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(COMMON) for _ in range(rng.randint(5, 14))]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", ".", "!", "?", "..."])


def _link(rng: random.Random) -> str:
    """A shared link: 70% from a pool of 20,000 popular ones (posts share links), 30% fresh."""
    n = rng.randrange(20_000) if rng.random() < 0.7 else rng.randrange(20_000, 10**7)
    return f"https://{BENIGN_HOSTS[n % len(BENIGN_HOSTS)]}/{COMMON[n % 97]}/{n}"


def make_event(i: int, rng: random.Random, plant: IndicatorRef | None) -> dict:
    """One content event; ``plant`` (if any) is embedded where such indicators appear."""
    parts: list[str] = []
    size = 0
    while size < 340:
        s = _sentence(rng)
        parts.append(s)
        size += len(s) + 1
    if rng.random() < 0.6:
        parts.insert(rng.randrange(len(parts)), f"@{rng.choice(COMMON)}{rng.randint(1, 5000)}")
    for _ in range(rng.choice([0, 1, 1, 2])):
        parts.append(f"#{rng.choice(COMMON)}{rng.choice(['', 'life', '2026'])}")
    if rng.random() < 0.3:
        parts.append(rng.choice(EMOJI))
    if rng.random() < 0.5:
        parts.append("https://t.example/" + "".join(rng.choices(string.ascii_letters, k=10)))
    if rng.random() < 0.03:
        parts.append(f"hxxps://{rng.choice(BENIGN_HOSTS).replace('.', '[.]')}/post/{i}")
    urls = [_link(rng), _link(rng)]
    media = {"sha256": _hex(rng, 64)}
    if rng.random() < 0.2:
        media["pdq"] = _hex(rng, 64)
    event = {
        "id": i,
        "kind": "post",
        "occurred_at": "2026-01-01T00:00:00Z",
        "author": {"id": rng.randint(1, 10**6), "handle": f"user{rng.randint(1, 20000)}"},
        "text": "",
        "urls": urls,
        "hashtags": [f"{rng.choice(COMMON)}{rng.randint(1, 50)}"],
        "media": [media],
        "metadata": {"lang": "en"},
    }
    if plant is not None:
        _plant(event, parts, plant, rng)
    event["text"] = " ".join(parts)
    return event


def _plant(event: dict, parts: list[str], ind: IndicatorRef, rng: random.Random) -> None:
    value, defang = ind.value, rng.random() < 0.33
    if ind.type in ("md5", "sha1", "sha256"):
        event["media"][0][ind.type] = value.upper() if defang else value
    elif ind.type == "pdq":
        n = int(value, 16) ^ (1 << rng.randrange(256)) ^ (1 << rng.randrange(256))
        event["media"][0]["pdq"] = f"{n:064x}"
    elif ind.type == "url" and not defang:
        event["urls"][1] = value
    elif ind.type == "cidr":
        net, _, bits = value.partition("/")
        a = [int(x) for x in net.split(".")]
        n = ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) + rng.randrange(
            2 ** (32 - int(bits))
        )
        parts.insert(1, f"c2 at {n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
    elif ind.type == "domain":
        host = f"cdn.{value}" if rng.random() < 0.5 else value
        parts.insert(1, f"visit {host.replace('.', '[.]') if defang else host} now")
    elif ind.type == "keyword":
        parts.insert(1, value.upper() + "!!")
    else:
        text = value.replace("http", "hxxp").replace(".", "[.]", 1) if defang else value
        if ind.type == "email" and defang:
            text = value.replace("@", "[at]")
        parts.insert(1, f"{text} ,")


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive_scan(values: list[tuple[str, IndicatorRef]], event: dict) -> int:
    """The baseline: test every indicator value as a substring of the event's strings."""
    media = [h for m in event["media"] for h in m.values()]
    haystack = "\n".join([event["text"].lower(), *event["urls"], *media, *event["hashtags"]])
    return sum(1 for value, _ in values if value in haystack)


def main() -> None:
    """Run the benchmark and print a results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--naive-events", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    indicators = make_indicators(args.indicators, rng)
    plant_rng = random.Random(args.seed + 1)
    plants = {
        i: plant_rng.choice(indicators) for i in range(args.events) if plant_rng.random() < 0.01
    }
    events = [make_event(i, rng, plants.get(i)) for i in range(args.events)]
    # Separate events (ids past the scanned ones) warm the caches as a running worker's are,
    # and time extraction, so that no timed pass runs on events another pass has seen.
    n_extra = max(1, min(20_000, args.events // 5))
    warmup = [make_event(args.events + i, rng, None) for i in range(n_extra)]
    fresh = [make_event(args.events + n_extra + i, rng, None) for i in range(n_extra)]
    gen_s = time.perf_counter() - t0
    gc.collect()
    rss_before = rss_mb()

    t0 = time.perf_counter()
    matcher = Matcher.build(indicators)
    build_s = time.perf_counter() - t0
    rss_after = rss_mb()
    index_bytes = matcher.memory_bytes()

    for event in warmup:
        matcher.match_event(event)

    t0 = time.perf_counter()
    matched_events = total_matches = 0
    found_plants = 0
    for event in events:
        found = matcher.match_event(event)
        if found:
            matched_events += 1
            total_matches += len(found)
            plant = plants.get(event["id"])
            if plant is not None and any(m.indicator.id == plant.id for m in found):
                found_plants += 1
    scan_s = time.perf_counter() - t0
    eps = len(events) / scan_s

    t0 = time.perf_counter()
    for event in fresh:
        extract_observables(event)
    extract_us = (time.perf_counter() - t0) / len(fresh) * 1e6

    values = [(ind.value.lower(), ind) for ind in indicators]
    sample = events[: args.naive_events]
    t0 = time.perf_counter()
    naive_hits = sum(naive_scan(values, event) for event in sample)
    naive_s = time.perf_counter() - t0
    naive_eps = len(sample) / naive_s if naive_s else float("inf")

    n = len(indicators)
    rows = [
        ("indicators", f"{n:,}", ", ".join(f"{k} {v:,}" for k, v in matcher.counts.items())),
        ("skipped", f"{len(matcher.skipped):,}", "invalid values (should be 0)"),
        ("generation", f"{gen_s:.1f} s", "not timed below"),
        ("build", f"{build_s:.2f} s", "target <= 15 s (normalises every value again)"),
        (
            "peak RSS",
            f"{rss_after:,.0f} MB",
            f"target <= 1,536 MB; {rss_before:,.0f} MB before build",
        ),
        (
            "bytes/indicator",
            f"{(rss_after - rss_before) * 2**20 / n:,.0f}",
            f"RSS growth in build; index estimate {index_bytes / n:,.0f} (refs not counted)",
        ),
        (
            "events scanned",
            f"{len(events):,}",
            f"{sum(len(e['text']) for e in events) / len(events):.0f} bytes of text on average",
        ),
        (
            "events/s",
            f"{eps:,.0f}",
            f"target >= 20,000 ({scan_s / len(events) * 1e6:.1f} us/event, "
            f"after {len(warmup):,} warm-up events)",
        ),
        (
            "extraction",
            f"{extract_us:.1f} us/event",
            f"part of the above, timed on {len(fresh):,} other events",
        ),
        ("events matched", f"{matched_events:,}", f"{total_matches:,} matches"),
        ("planted found", f"{found_plants:,} / {len(plants):,}", "must be all"),
        (
            "naive events/s",
            f"{naive_eps:,.1f}",
            f"{len(sample)} events, {naive_hits} substring hits",
        ),
        ("speed-up", f"{eps / naive_eps:,.0f}x", "matcher vs naive, same events"),
    ]
    print(f"\nDetection matcher benchmark (seed {args.seed}, Python {sys.version.split()[0]})\n")
    for name, value, note in rows:
        print(f"  {name:<16} {value:>18}   {note}")
    print()
    if found_plants != len(plants):
        sys.exit("FAILED: some planted indicators were not found")


if __name__ == "__main__":
    main()
