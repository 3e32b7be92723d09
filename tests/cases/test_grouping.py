"""Opening cases from hits: grouping per author, indicator and event, windows, shadow and
threshold rules, priority and SLA, TLP:RED restriction, and concurrent scans."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cases.models import Case, TriageConfig
from cases.priority import hit_priority, sla_due
from detection.models import Hit, Rule
from detection.scan import load_matcher, scan_events
from tdp.models import AuditEntry
from tests.factories import make_content_event, make_indicator, make_rule

pytestmark = pytest.mark.django_db


def only_rule(**fields) -> Rule:
    Rule.objects.update(is_enabled=False)
    return make_rule("only", **fields)


def at(minutes: int) -> str:
    return (timezone.now() - timedelta(days=1) + timedelta(minutes=minutes)).isoformat()


def test_hits_of_one_author_group_into_one_case() -> None:
    make_indicator("evil.example")
    make_indicator("bad.example")
    result = scan_events(
        [
            make_content_event("evil.example", author="a1"),
            make_content_event("bad.example", author="a1"),
            make_content_event("evil.example", author="a2"),
        ],
        dry_run=False,
    )
    assert (result.hits, result.cases) == (3, 2)
    by_author = {c.author_id: c for c in Case.objects.all()}
    assert by_author["a1"].hit_count == 2
    assert by_author["a1"].author_handle == "user_a1"
    assert by_author["a1"].title == "Known-bad intel: @user_a1"
    assert by_author["a2"].hit_count == 1
    assert Hit.objects.filter(case__isnull=True).count() == 0


def test_later_hits_join_the_open_case_and_a_resolved_case_is_never_reopened() -> None:
    make_indicator("evil.example")
    scan_events([make_content_event("evil.example", author="a1")], dry_run=False)
    scan_events([make_content_event("evil.example", author="a1")], dry_run=False)
    case = Case.objects.get()
    assert case.hit_count == 2
    Case.objects.filter(pk=case.pk).update(status="resolved", disposition="true_positive")
    result = scan_events([make_content_event("evil.example", author="a1")], dry_run=False)
    assert result.cases == 1
    assert Case.objects.count() == 2


def test_per_indicator_grouping_collects_authors() -> None:
    only_rule(grouping=Rule.Grouping.PER_INDICATOR)
    indicator = make_indicator("evil.example")
    scan_events(
        [make_content_event("evil.example", author=a) for a in ("a1", "a2", "a3")], dry_run=False
    )
    case = Case.objects.get()
    assert (case.group_key, case.hit_count, case.author_id) == (str(indicator.pk), 3, "")


def test_per_event_grouping_opens_a_case_per_event() -> None:
    only_rule(grouping=Rule.Grouping.PER_EVENT)
    make_indicator("evil.example")
    make_indicator("bad.example")
    result = scan_events(
        [
            make_content_event("evil.example bad.example", id="e1"),
            make_content_event("evil.example", id="e2"),
        ],
        dry_run=False,
    )
    assert result.cases == 2
    assert dict(Case.objects.values_list("group_key", "hit_count")) == {"e1": 2, "e2": 1}


def test_hits_outside_the_group_window_open_a_new_case() -> None:
    only_rule(group_window_seconds=3600)
    make_indicator("evil.example")
    scan_events(
        [
            make_content_event("evil.example", occurred_at=at(0)),
            make_content_event("evil.example", occurred_at=at(30)),
            make_content_event("evil.example", occurred_at=at(180)),
        ],
        dry_run=False,
    )
    assert sorted(Case.objects.values_list("hit_count", flat=True)) == [1, 2]


def test_shadow_hits_open_no_case() -> None:
    only_rule(mode=Rule.Mode.SHADOW)
    make_indicator("evil.example")
    result = scan_events([make_content_event("evil.example")], dry_run=False)
    assert (result.hits, result.cases) == (1, 0)
    assert not Case.objects.exists()


def test_hits_below_threshold_wait_and_join_a_case_once_promoted() -> None:
    only_rule(threshold=2, window_seconds=3600)
    make_indicator("evil.example")
    make_indicator("bad.example")
    first = scan_events([make_content_event("evil.example", occurred_at=at(0))], dry_run=False)
    assert (first.hits, first.cases) == (1, 0)
    second = scan_events([make_content_event("bad.example", occurred_at=at(5))], dry_run=False)
    assert second.cases == 1
    case = Case.objects.get()
    assert case.hit_count == 2  # the earlier hit is evidence too
    assert Hit.objects.filter(case=case).count() == 2


def test_priority_comes_from_rule_severity_and_indicator_confidence() -> None:
    assert hit_priority("critical", 50) == 1
    assert hit_priority("critical", 95) == 1  # never above P1
    assert hit_priority("high", 90) == 1
    assert hit_priority("medium", 50) == 3
    assert hit_priority("medium", 20) == 4
    assert hit_priority("low", 10) == 4  # never below P4
    assert hit_priority("info", 90) == 3


def test_sla_due_follows_the_configured_hours() -> None:
    config = TriageConfig.load()
    config.sla_hours_p1 = 2
    config.save()
    now = timezone.now()
    assert sla_due(now, 1) == now + timedelta(hours=2)
    assert sla_due(now, 4) == now + timedelta(hours=168)


def test_a_case_takes_its_most_urgent_hit_priority_and_sla() -> None:
    only_rule(severity="medium")
    make_indicator("weak.example", confidence=20)
    make_indicator("strong.example", confidence=90)
    scan_events([make_content_event("weak.example")], dry_run=False)
    case = Case.objects.get()
    assert case.priority == 4
    scan_events([make_content_event("strong.example")], dry_run=False)
    case.refresh_from_db()
    assert case.priority == 2
    assert case.sla_due_at == sla_due(case.created_at, 2)


def test_a_case_with_tlp_red_intel_is_restricted() -> None:
    make_indicator("red.example", tlp="RED")
    make_indicator("green.example", tlp="GREEN")
    scan_events(
        [
            make_content_event("red.example", author="a1"),
            make_content_event("green.example", author="a2"),
        ],
        dry_run=False,
    )
    assert dict(Case.objects.values_list("author_id", "is_restricted")) == {
        "a1": True,
        "a2": False,
    }


def test_opening_a_case_is_audited() -> None:
    make_indicator("evil.example")
    scan_events([make_content_event("evil.example")], dry_run=False)
    case = Case.objects.get()
    entry = AuditEntry.objects.get(action="case.opened")
    assert entry.object_id == str(case.pk)
    assert entry.changes["hits"] == [None, 1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_scans_at_once_open_one_case_per_group() -> None:
    make_indicator("evil.example")
    make_indicator("bad.example")
    matcher = load_matcher()
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def scan(text: str, event_id: str) -> None:
        try:
            barrier.wait()
            scan_events(
                [make_content_event(text, id=event_id, author="a1")],
                dry_run=False,
                matcher=matcher,
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=scan, args=("evil.example", "x1")),
        threading.Thread(target=scan, args=("bad.example", "x2")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    case = Case.objects.get()
    assert case.hit_count == 2
