"""Per-author thresholds: a rule with ``threshold`` N counts an author's hits once the author
has N distinct matching indicators within ``window_seconds``.

Every match is stored as a hit; hits of a threshold rule start with ``is_over_threshold``
false, and :func:`apply_thresholds` promotes every hit that lies in a window where the author
reached N (the earlier ones included, since they are the evidence). Scans of the same author
and rule are serialised by a transaction-scoped advisory lock (:func:`lock_authors`), so two
workers each storing one of the N matches still see each other's hits.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.db import connection

from detection.models import Hit, Rule


def lock_authors(keys: Iterable[tuple[int, str]]) -> None:
    """Take the advisory lock of each (rule id, author id) until the transaction ends."""
    with connection.cursor() as cursor:
        for rule_id, author_id in sorted(keys):  # one order everywhere: no deadlocks
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [rule_id, author_id])


def windows_over_threshold(
    hits: list[tuple[int, int, object]], threshold: int, window: timedelta
) -> set[int]:
    """Ids of the hits lying in some window of length ``window`` with ``threshold`` distinct
    indicators; ``hits`` are ``(id, indicator id, occurred_at)`` ordered by time."""
    over: set[int] = set()
    counts: Counter[int] = Counter()
    start = 0
    for end, (_id, indicator_id, occurred_at) in enumerate(hits):
        counts[indicator_id] += 1
        while hits[start][2] < occurred_at - window:  # type: ignore[operator]
            counts[hits[start][1]] -= 1
            if not counts[hits[start][1]]:
                del counts[hits[start][1]]
            start += 1
        if len(counts) >= threshold:
            over.update(hit[0] for hit in hits[start : end + 1])
    return over


def apply_thresholds(spans: Mapping[tuple[Rule, str], tuple[datetime, datetime]]) -> list[int]:
    """Promote the hits of each (rule, author) that reached the rule's threshold in a window
    touching the span of the new hits (first, last occurred_at); returns the promoted hits'
    ids. Call with the locks of :func:`lock_authors` held."""
    promoted: list[int] = []
    for (rule, author_id), (first, last) in spans.items():
        window = timedelta(seconds=rule.window_seconds)
        hits = list(
            Hit.objects.filter(
                rule=rule,
                author_id=author_id,
                occurred_at__gte=first - window,
                occurred_at__lte=last + window,
            )
            .order_by("occurred_at", "id")
            .values_list("id", "indicator_id", "occurred_at")
        )
        over = windows_over_threshold(hits, rule.threshold, window)
        if over:
            ids = list(
                Hit.objects.filter(pk__in=over, is_over_threshold=False).values_list(
                    "pk", flat=True
                )
            )
            Hit.objects.filter(pk__in=ids).update(is_over_threshold=True)
            promoted.extend(ids)
    return promoted
