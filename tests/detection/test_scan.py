"""Scanning: validation, the cached matcher, rule filters, thresholds and idempotent storing."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from detection.models import ContentEvent, Hit, Rule
from detection.scan import load_matcher, rule_matches, scan_events, validate_event
from detection.thresholds import windows_over_threshold
from intel.lifecycle import set_indicator_status
from intel.models import Status
from tests.factories import make_content_event, make_indicator, make_rule, make_source

pytestmark = pytest.mark.django_db

EVIL = "visit evil.example now"


def matched(events: list[dict], **kwargs) -> set[tuple[str, str, str]]:
    """(event id, rule name, indicator value) of every match of a dry run."""
    result = scan_events(events, dry_run=True, **kwargs)
    return {(m.event["id"], m.rule.name, m.match.indicator.value) for m in result.matches}


def only_rule(**fields) -> Rule:
    """Disable the default rule and create one with these fields."""
    Rule.objects.update(is_enabled=False)
    return make_rule("only", **fields)


# --- validate_event ---------------------------------------------------------------------------


def test_a_well_formed_event_is_valid() -> None:
    event, reason = validate_event(make_content_event("hi", id=42, author=7))
    assert reason == ""
    assert event["id"] == "42"
    assert event["author"]["id"] == "7"
    assert event["occurred_at"].tzinfo is not None


def test_optional_keys_get_empty_defaults() -> None:
    raw = {"id": "e", "kind": "ad", "occurred_at": "2026-11-25T12:00:00Z", "author": {"id": "a"}}
    event, _ = validate_event(raw)
    assert (event["text"], event["urls"], event["media"], event["metadata"]) == ("", [], [], {})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": ""}, "id is missing"),
        ({"id": True}, "id is missing"),
        ({"id": "x" * 201}, "id is longer"),
        ({"kind": "tweet"}, "kind must be one of"),
        ({"occurred_at": "yesterday"}, "not an ISO 8601"),
        ({"occurred_at": "2026-11-25T12:00:00"}, "no time zone"),
        ({"author": "bob"}, "author is missing"),
        ({"author": {"handle": "bob"}}, "author.id is missing"),
        ({"text": 5}, "text is not a string"),
        ({"urls": "http://x.example"}, "urls is not a list of strings"),
        ({"hashtags": [1]}, "hashtags is not a list of strings"),
        ({"media": ["abc"]}, "media is not a list of objects"),
        ({"metadata": []}, "metadata is not an object"),
    ],
)
def test_a_malformed_event_is_rejected_with_a_reason(change: dict, reason: str) -> None:
    event, why = validate_event(make_content_event("hi") | change)
    assert event is None
    assert reason in why


def test_something_other_than_an_object_is_rejected() -> None:
    assert validate_event(["not", "an", "event"]) == (None, "an event is a JSON object")


# --- Active intel only ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.REVOKED, Status.ALLOWLISTED])
def test_only_active_indicators_match(status: str) -> None:
    make_indicator("evil.example", status=status)
    make_indicator("bad.example")
    found = matched([make_content_event("evil.example and bad.example", id="e1")])
    assert found == {("e1", "Known-bad intel", "bad.example")}


def test_an_intel_change_reaches_a_cached_matcher_within_its_refresh_interval() -> None:
    indicator = make_indicator("evil.example")
    event = make_content_event(EVIL)
    assert load_matcher(refresh_seconds=0.2).lookup("domain", "evil.example")

    set_indicator_status(indicator, Status.REVOKED, actor=None)
    make_indicator("new.example")
    cached = load_matcher(refresh_seconds=0.2)
    assert cached.lookup("domain", "evil.example")  # still the cached one
    time.sleep(0.25)
    fresh = load_matcher(refresh_seconds=0.2)

    assert fresh is not cached
    assert not fresh.match_event(event)
    assert fresh.lookup("domain", "new.example")


def test_an_unchanged_intel_keeps_the_same_matcher() -> None:
    make_indicator("evil.example")
    first = load_matcher(refresh_seconds=0)
    assert load_matcher(refresh_seconds=0) is first


# --- Rule filters -----------------------------------------------------------------------------


def test_a_rule_filters_by_indicator_type() -> None:
    only_rule(indicator_types=["url"])
    make_indicator("evil.example")
    make_indicator("http://bad.example/x", type="url")
    found = matched([make_content_event("evil.example http://bad.example/x", id="e")])
    assert found == {("e", "only", "http://bad.example/x")}


def test_a_rule_filters_by_tag() -> None:
    only_rule(tags=["phish", "scam"])
    make_indicator("evil.example", tags=["scam"])
    make_indicator("bad.example", tags=["other"])
    found = matched([make_content_event("evil.example bad.example", id="e")])
    assert found == {("e", "only", "evil.example")}


def test_a_rule_filters_by_source() -> None:
    wanted, other = make_source("wanted"), make_source("other")
    only_rule(sources=(wanted,))
    make_indicator("evil.example", sources=(other, wanted))
    make_indicator("bad.example", sources=(other,))
    make_indicator("plain.example")
    found = matched([make_content_event("evil.example bad.example plain.example", id="e")])
    assert found == {("e", "only", "evil.example")}


def test_a_rule_filters_by_minimum_confidence() -> None:
    only_rule(min_confidence=70)
    make_indicator("evil.example", confidence=70)
    make_indicator("bad.example", confidence=69)
    found = matched([make_content_event("evil.example bad.example", id="e")])
    assert found == {("e", "only", "evil.example")}


def test_a_rule_filters_by_event_kind() -> None:
    only_rule(event_kinds=["ad", "message"])
    make_indicator("evil.example")
    events = [
        make_content_event(EVIL, id="ad", kind="ad"),
        make_content_event(EVIL, id="post", kind="post"),
    ]
    assert matched(events) == {("ad", "only", "evil.example")}


def test_a_rule_with_empty_filters_matches_everything() -> None:
    rule = make_rule()
    make_indicator("evil.example", confidence=0)
    match = load_matcher().match_event(make_content_event(EVIL))[0]
    assert rule_matches(rule, match, {"kind": "live"})


def test_a_disabled_rule_yields_nothing() -> None:
    Rule.objects.update(is_enabled=False)
    make_indicator("evil.example")
    assert matched([make_content_event(EVIL)]) == set()


def test_every_enabled_rule_counts_a_match_once() -> None:
    make_rule("second")
    make_indicator("evil.example")
    event = make_content_event("evil.example http://evil.example/", id="e")
    assert matched([event]) == {
        ("e", "Known-bad intel", "evil.example"),
        ("e", "second", "evil.example"),
    }


# --- Storing ----------------------------------------------------------------------------------


def test_a_dry_run_writes_nothing() -> None:
    make_indicator("evil.example")
    result = scan_events([make_content_event(EVIL)], dry_run=True)
    assert (result.events, len(result.matches), result.hits) == (1, 1, 0)
    assert not ContentEvent.objects.exists()
    assert not Hit.objects.exists()


def test_a_scan_stores_the_events_and_their_hits() -> None:
    indicator = make_indicator("evil.example")
    result = scan_events(
        [make_content_event(EVIL, id="e1"), make_content_event("hi")], dry_run=False
    )
    assert (result.events, result.hits) == (2, 1)
    assert ContentEvent.objects.count() == 2
    hit = Hit.objects.get()
    assert (hit.event_id, hit.indicator, hit.field, hit.value) == (
        "e1",
        indicator,
        "text",
        "evil.example",
    )
    assert (hit.start, hit.end) == (6, 18)
    assert (hit.mode, hit.is_over_threshold, hit.author_id) == ("live", True, "a1")
    assert hit.event_day == timezone.now().date()


def test_scanning_the_same_events_twice_adds_nothing() -> None:
    make_indicator("evil.example")
    events = [make_content_event(EVIL, id="e1")]
    assert scan_events(events, dry_run=False).hits == 1
    assert scan_events(events, dry_run=False).hits == 0
    assert (ContentEvent.objects.count(), Hit.objects.count()) == (1, 1)


def test_an_event_kept_on_an_earlier_day_is_not_stored_again() -> None:
    make_indicator("evil.example")
    events = [make_content_event(EVIL, id="e1")]
    yesterday = timezone.now() - timedelta(days=1)
    scan_events(events, dry_run=False, now=yesterday)
    scan_events(events, dry_run=False)
    assert ContentEvent.objects.get().received_day == yesterday.date()
    assert Hit.objects.get().event_day == yesterday.date()


def test_a_shadow_rule_records_shadow_hits() -> None:
    only_rule(mode=Rule.Mode.SHADOW)
    make_indicator("evil.example")
    scan_events([make_content_event(EVIL)], dry_run=False)
    assert Hit.objects.get().mode == Rule.Mode.SHADOW


def test_rejected_events_are_reported_and_the_rest_scanned() -> None:
    make_indicator("evil.example")
    result = scan_events([{"id": "broken"}, make_content_event(EVIL)], dry_run=False)
    assert result.rejected == [(0, "kind must be one of post, comment, profile, message, live, ad")]
    assert (result.events, result.hits) == (1, 1)


def test_an_indicator_deleted_after_the_matcher_was_built_does_not_fail_the_batch() -> None:
    gone = make_indicator("gone.example")
    make_indicator("evil.example")
    matcher = load_matcher()
    gone.delete()
    result = scan_events(
        [make_content_event("gone.example evil.example")], dry_run=False, matcher=matcher
    )
    assert result.hits == 1


# --- Thresholds -------------------------------------------------------------------------------


def at(minutes: int) -> str:
    return (timezone.now().replace(microsecond=0) + timedelta(minutes=minutes)).isoformat()


def test_a_threshold_rule_counts_hits_once_the_author_reaches_it() -> None:
    rule = only_rule(threshold=2, window_seconds=600)
    make_indicator("one.example")
    make_indicator("two.example")
    scan_events([make_content_event("one.example", occurred_at=at(0))], dry_run=False)
    assert list(Hit.objects.values_list("is_over_threshold", flat=True)) == [False]

    scan_events([make_content_event("two.example", occurred_at=at(5))], dry_run=False)

    assert Hit.objects.filter(rule=rule).count() == 2
    assert set(Hit.objects.values_list("is_over_threshold", flat=True)) == {True}


def test_a_threshold_counts_distinct_indicators_only() -> None:
    only_rule(threshold=2, window_seconds=600)
    make_indicator("one.example")
    events = [
        make_content_event("one.example", occurred_at=at(0)),
        make_content_event("one.example again", occurred_at=at(1)),
    ]
    scan_events(events, dry_run=False)
    assert set(Hit.objects.values_list("is_over_threshold", flat=True)) == {False}


def test_a_threshold_counts_within_the_window_only() -> None:
    only_rule(threshold=2, window_seconds=600)
    make_indicator("one.example")
    make_indicator("two.example")
    events = [
        make_content_event("one.example", occurred_at=at(0)),
        make_content_event("two.example", occurred_at=at(11)),
    ]
    scan_events(events, dry_run=False)
    assert set(Hit.objects.values_list("is_over_threshold", flat=True)) == {False}


def test_a_threshold_counts_per_author() -> None:
    only_rule(threshold=2, window_seconds=600)
    make_indicator("one.example")
    make_indicator("two.example")
    events = [
        make_content_event("one.example", author="a", occurred_at=at(0)),
        make_content_event("two.example", author="b", occurred_at=at(1)),
    ]
    scan_events(events, dry_run=False)
    assert set(Hit.objects.values_list("is_over_threshold", flat=True)) == {False}


def test_windows_over_threshold_marks_every_hit_of_a_full_window() -> None:
    t = timezone.now()
    hits = [(1, 10, t), (2, 10, t + timedelta(seconds=50)), (3, 11, t + timedelta(seconds=90))]
    assert windows_over_threshold(hits, 2, timedelta(seconds=60)) == {2, 3}
    assert windows_over_threshold(hits, 2, timedelta(seconds=100)) == {1, 2, 3}
    assert windows_over_threshold(hits, 3, timedelta(seconds=100)) == set()


# --- Concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_scans_store_each_event_and_hit_once() -> None:
    make_indicator("evil.example")
    make_indicator("bad.example")
    events = [make_content_event(f"evil.example bad.example {n}", id=f"e{n}") for n in range(50)]
    matcher = load_matcher()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scan() -> None:
        try:
            barrier.wait()
            results.append(scan_events(events, dry_run=False, matcher=matcher).hits)
        except Exception as exc:  # reported below, a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(results) == 100
    assert Hit.objects.count() == 100
    assert ContentEvent.objects.count() == 50
