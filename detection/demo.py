"""Synthetic content events for demos: a few per second, some carrying real demo intel.

`make up` runs `manage.py demo_stream`, which submits batches through the same intake path as
`POST /api/v1/events` (a scan batch queued on RQ), so the worker, rules and hits can be watched
filling up on a fresh machine. Nothing here is used outside demos and tests.
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from intel.models import Indicator, Status

KINDS = ("post", "comment", "profile", "message", "live", "ad")
WORDS = (
    "great video today check this out love the music new drop follow for more giveaway win free "
    "tutorial dance cooking travel vlog reaction challenge link in bio subscribe thanks everyone"
).split()
HANDLES = [f"creator_{n}" for n in range(200)]
CARRIED_TYPES = ("url", "domain", "ipv4", "email", "hashtag", "account", "keyword")


def sample_intel(limit: int = 500, seed: int | None = None) -> list[tuple[str, str]]:
    """A random sample of active (type, value) pairs an event can carry (TLP:RED left out)."""
    rows = list(
        Indicator.objects.filter(status=Status.ACTIVE, type__in=CARRIED_TYPES)
        .exclude(tlp="RED")
        .order_by("-id")
        .values_list("type", "value")[:limit]
    )
    random.Random(seed).shuffle(rows)
    return rows


def _carry(kind: str, value: str) -> tuple[str, list[str], list[str]]:
    """Text, urls and hashtags that put `value` into an event the way real posts do."""
    if kind == "url":
        return f"get it here {value.replace('.', '[.]', 1)}", [value], []
    if kind == "hashtag":
        return f"join the {value} trend", [], [value]
    if kind == "account":
        return f"shout out to {value}", [], []
    if kind == "keyword":
        return f"omg {value} right now", [], []
    return f"contact {value} for the prize", [], []


def synthetic_events(
    count: int, intel: list[tuple[str, str]], *, match_rate: float = 0.05, seed: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield `count` content events; about `match_rate` of them carry one intel value."""
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    for _ in range(count):
        handle = rng.choice(HANDLES)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        urls: list[str] = []
        hashtags = [f"#{rng.choice(WORDS)}"]
        if intel and rng.random() < match_rate:
            extra, urls, tags = _carry(*rng.choice(intel))
            text = f"{text} {extra}"
            hashtags += tags
        yield {
            "id": f"demo-{rng.getrandbits(64):016x}",
            "kind": rng.choice(KINDS),
            "occurred_at": now,
            "author": {"id": f"u-{HANDLES.index(handle)}", "handle": handle},
            "text": text,
            "urls": urls,
            "hashtags": hashtags,
            "media": [],
            "metadata": {"source": "demo_stream"},
        }
