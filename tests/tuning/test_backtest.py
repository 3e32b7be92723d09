"""Back-tests: `manage.py backtest` and `run_backtest` replay stored events and write nothing."""

import io
import json
from datetime import timedelta

import django_rq
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from cases.models import Case
from detection.models import Rule
from detection.rules import draft_rule
from detection.scan import forget_matcher, scan_events
from tdp.models import AuditEntry
from tests.factories import make_content_event, make_indicator, make_rule
from tests.tuning.conftest import label_hits
from tuning.backtest import SUMMARY_KEYS, parse_indicator_changes, replay, run_backtest

pytestmark = pytest.mark.django_db

KNOWN_BAD = "Known-bad intel"


def store(*events: dict, now=None) -> None:
    """Store events the way the intake does (live rules hit and open cases as usual)."""
    forget_matcher()
    scan_events(list(events), dry_run=False, now=now)


def backtest(*args: str) -> tuple[dict, str]:
    out = io.StringIO()
    call_command("backtest", *args, stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    return json.loads(text.strip().splitlines()[-1]), text


def row_counts() -> dict[str, int]:
    """Rows in every detection, cases and automation table, the audit trail and the queues."""
    counts = {
        model._meta.label: model.objects.count()
        for label in ("detection", "cases", "automation")
        for model in apps.get_app_config(label).get_models()
    }
    counts["audit"] = AuditEntry.objects.count()
    counts["queued jobs"] = sum(
        django_rq.get_queue(name).count for name in ("high", "default", "low", "scan")
    )
    return counts


@pytest.fixture
def stored() -> dict:
    """Five events today: three mention evil.example (authors a1, a1, a2), two nothing."""
    evil = make_indicator("evil.example")
    store(
        make_content_event("see evil.example", id="e1", author="a1"),
        make_content_event("again evil.example", id="e2", author="a1"),
        make_content_event("evil.example here", id="e3", author="a2"),
        make_content_event("hello", id="e4", author="a3"),
        make_content_event("world", id="e5", author="a3"),
    )
    return {"evil": evil}


# --- the command ------------------------------------------------------------------------------


def test_the_last_line_is_the_summary_with_exactly_these_keys(stored) -> None:
    summary, text = backtest("--rule", KNOWN_BAD, "--days", "1")
    assert list(summary) == list(SUMMARY_KEYS)
    assert summary == {
        "events": 5,
        "would_hit": 3,
        "labelled_true_positive": 0,
        "labelled_false_positive": 0,
        "new_cases": 0,  # the live rule has cased these events already
    }
    assert text.count("\n") == 2  # one report line, then the summary


def test_the_back_test_writes_nothing(stored, analyst) -> None:
    label_hits(make_indicator("labelled.example"), fp=1, user=analyst)
    make_rule("Draft per event", is_enabled=False, grouping="per_event")
    before = row_counts()
    for rule in (KNOWN_BAD, "Draft per event"):
        summary, _ = backtest("--rule", rule, "--days", "14")
        assert summary["would_hit"] == 4
    assert row_counts() == before


def test_an_unknown_rule_is_an_error() -> None:
    with pytest.raises(CommandError, match="no rule named"):
        backtest("--rule", "Nope")


def test_indicators_from_a_file_add_matches(stored, tmp_path) -> None:
    store(
        make_content_event("fresh.example is new", id="f1", author="b1"),
        make_content_event("so is hxxp://other[.]example/x", id="f2", author="b2"),
    )
    assert backtest("--rule", KNOWN_BAD, "--days", "1")[0]["would_hit"] == 3
    changes = tmp_path / "changes.txt"
    changes.write_text(
        "# what if we add these\n"
        "domain,fresh.example\n"
        "http://other.example/x\n"
        "not a valid url at all\n"
        "domain,evil.example\n",
        encoding="utf-8",
    )
    summary, text = backtest("--rule", KNOWN_BAD, "--days", "1", "--indicators", str(changes))
    assert summary["would_hit"] == 5
    assert summary["new_cases"] == 2  # b1 and b2 have no case yet
    assert "added 2" in text and "already active 1" in text


def test_a_minus_line_removes_an_active_indicator(stored, tmp_path) -> None:
    make_indicator("second.example")
    store(make_content_event("second.example", id="s1", author="c1"))
    changes = tmp_path / "changes.txt"
    changes.write_text("-evil.example\n", encoding="utf-8")
    summary, text = backtest("--rule", KNOWN_BAD, "--days", "1", "--indicators", str(changes))
    assert summary["would_hit"] == 1
    assert "removed 1" in text


def test_an_expired_indicator_added_back_keeps_its_attributes(stored) -> None:
    old = make_indicator("old.example", status="expired", confidence=20)
    store(make_content_event("old.example", id="o1", author="d1"))
    strict = make_rule("Confident only", is_enabled=False, min_confidence=50)
    changes = parse_indicator_changes(["old.example"])
    assert run_backtest(strict, days=1, changes=changes).would_hit == 3  # 20 < 50: filtered
    loose = make_rule("Any confidence", is_enabled=False)
    result = run_backtest(loose, days=1, changes=changes)
    assert (result.would_hit, result.added) == (4, 1)
    assert (old.pk, "domain", "", 1) in result.top_indicators


# --- labels and cases -------------------------------------------------------------------------


def test_events_already_labelled_are_counted(analyst) -> None:
    label_hits(make_indicator("fp.example"), fp=2, user=analyst)
    label_hits(make_indicator("tp.example"), tp=1, user=analyst)
    mixed = label_hits(make_indicator("mixed.example"), tp=1, fp=1, user=analyst)
    assert mixed.hits.count() == 2
    store(make_content_event("fp.example, unlabelled", id="u1", author="z9"))
    summary, _ = backtest("--rule", KNOWN_BAD, "--days", "1")
    assert summary["would_hit"] == 6
    # A true-positive label wins: the mixed case's TP event counts as TP, its FP event as FP.
    assert (summary["labelled_true_positive"], summary["labelled_false_positive"]) == (2, 3)


def test_new_cases_follow_the_rules_grouping_and_existing_cases(stored) -> None:
    rule = make_rule("Per author", is_enabled=False)
    assert run_backtest(rule, days=1).new_cases == 2  # a1 (two events) and a2
    per_event = make_rule("Per event", is_enabled=False, grouping="per_event")
    assert run_backtest(per_event, days=1).new_cases == 3
    per_indicator = make_rule("Per indicator", is_enabled=False, grouping="per_indicator")
    assert run_backtest(per_indicator, days=1).new_cases == 1
    # An open case of the rule for a1, within its group window: a1's hits would join it.
    Rule.objects.filter(pk=rule.pk).update(is_enabled=True)
    store(make_content_event("evil.example once more", id="e6", author="a1"))
    Rule.objects.filter(pk=rule.pk).update(is_enabled=False)
    assert Case.objects.filter(rule=rule, group_key="a1").count() == 1
    assert run_backtest(rule, days=1).new_cases == 1  # only a2


def test_a_resolved_case_does_not_absorb_new_hits(stored, analyst) -> None:
    rule = make_rule("Per author again", is_enabled=False, group_window_seconds=60)
    Case.objects.create(
        rule=rule,
        grouping="per_author",
        group_key="a2",
        status="resolved",
        disposition="false_positive",
        sla_due_at=timezone.now(),
        policy_label="other",
        first_hit_at=timezone.now(),
        last_hit_at=timezone.now(),
    )
    assert run_backtest(rule, days=1).new_cases == 2


def test_a_threshold_rule_counts_only_authors_over_it() -> None:
    make_indicator("one.example")
    make_indicator("two.example")
    store(
        make_content_event("one.example", id="t1", author="x1"),
        make_content_event("two.example", id="t2", author="x1"),
        make_content_event("one.example", id="t3", author="x2"),
        make_content_event("one.example again", id="t4", author="x2"),
    )
    rule = make_rule("Two distinct", is_enabled=False, threshold=2)
    result = run_backtest(rule, days=1)
    assert (result.would_hit, result.new_cases) == (4, 1)  # x2 repeats one indicator


# --- what is replayed -------------------------------------------------------------------------


def test_the_replay_matches_exactly_what_the_scanner_matches() -> None:
    sha = "ab" * 32
    make_indicator(sha, type="sha256")
    make_indicator("#scamtag", type="hashtag")
    make_indicator("@badguy", type="account")
    make_indicator("free robux", type="keyword")
    make_indicator("https://phish.example/login", type="url")
    make_indicator("203.0.113.0/24", type="cidr")
    make_indicator("evil.example")
    events = [
        make_content_event("a pic", id="m1", media=[{"sha256": sha.upper()}]),
        make_content_event("tags", id="m2", hashtags=["ScamTag"]),
        make_content_event("hello", id="m3", author="badguy"),
        make_content_event("FREE   Robux now!", id="m4"),
        make_content_event("link", id="m5", urls=["HTTPS://phish.example/login"]),
        make_content_event("c2 at 203.0.113.9", id="m6"),
        make_content_event("mail me: x@login.evil.example", id="m7"),
        make_content_event(
            "nothing to see", id="m8", hashtags=["fine"], urls=["https://ok.example/"]
        ),
    ]
    events[2]["author"]["handle"] = "BadGuy"
    store(*events)
    rule = make_rule("Same as the scanner", is_enabled=False)
    result = run_backtest(rule, days=1)
    Rule.objects.exclude(pk=rule.pk).update(is_enabled=False)
    Rule.objects.filter(pk=rule.pk).update(is_enabled=True)
    forget_matcher()
    scanned = scan_events(events, dry_run=True).matches
    pairs = {(m.event["id"], m.match.indicator.id) for m in scanned}
    assert set(result.sample_events) == {event_id for event_id, _ in pairs}
    assert (result.would_hit, result.hits) == (7, len(pairs))


def test_only_the_last_n_days_are_replayed() -> None:
    make_indicator("days.example")
    store(make_content_event("days.example", id="old1"), now=timezone.now() - timedelta(days=3))
    store(make_content_event("days.example", id="new1"))
    rule = make_rule("Days", is_enabled=False)
    assert (run_backtest(rule, days=1).events, run_backtest(rule, days=1).would_hit) == (1, 1)
    assert run_backtest(rule, days=4).would_hit == 2


def test_rule_filters_apply(stored) -> None:
    comments = make_rule("Comments", is_enabled=False, event_kinds=["comment"])
    result = run_backtest(comments, days=1)
    assert (result.events, result.would_hit) == (5, 0)
    urls_only = make_rule("URLs", is_enabled=False, indicator_types=["url"])
    assert run_backtest(urls_only, days=1).would_hit == 0
    tagged = make_rule("Tagged", is_enabled=False, tags=["phishing"])
    assert run_backtest(tagged, days=1).would_hit == 0


def test_a_draft_rule_is_back_tested_without_saving_it(stored) -> None:
    rules = Rule.objects.count()
    draft = draft_rule({"name": "Draft", "grouping": "per_event", "min_confidence": 0})
    result = run_backtest(draft, days=1)
    assert (result.would_hit, result.new_cases) == (3, 3)
    assert Rule.objects.count() == rules


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_forked_workers_give_the_same_result(monkeypatch) -> None:
    make_indicator("fork.example")
    store(
        *(
            make_content_event(
                "fork.example" if n % 3 == 0 else "nothing", id=f"p{n}", author=f"u{n % 4}"
            )
            for n in range(30)
        )
    )
    monkeypatch.setattr(replay, "CHUNK_EVENTS", 4)
    rule = make_rule("Forked", is_enabled=False)
    alone = run_backtest(rule, days=1, workers=1)
    forked = run_backtest(rule, days=1, workers=2)
    assert forked.summary() == alone.summary()
    assert (forked.events, forked.would_hit, forked.new_cases) == (30, 10, 4)
