"""Precision per rule, policy, feed and indicator: the arithmetic, the time range, freshness
(a label or hit newer than the last refresh counts at once) and TLP:RED."""

from datetime import timedelta

import pytest

from cases import triage
from metrics import rollups
from metrics.precision import quality_rows
from tests.factories import make_indicator
from tests.metrics.conftest import NOON, hits_with_labels, label, make_case_for, make_hit

pytestmark = pytest.mark.django_db


def by_key(rows: list) -> dict:
    return {row.key: row.as_api() for row in rows}


def test_precision_per_rule_counts_hits_labels_and_precision(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=3, fp=1, other=1, unlabelled=2, at=NOON)
    hits_with_labels(world["spam"], world["both"], fp=2, at=NOON)
    rows = by_key(quality_rows("rule", user=lead))
    assert rows["Phish"] == {
        "key": "Phish",
        "hits": 7,
        "labelled": 5,
        "true_positive": 3,
        "false_positive": 1,
        "precision": 0.75,
    }
    assert rows["Spam"]["precision"] == 0.0
    assert list(rows) == ["Phish", "Spam"]  # most hits first


def test_precision_is_null_without_true_or_false_labels(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], other=2, unlabelled=1, at=NOON)
    [row] = quality_rows("rule", user=lead)
    assert (row.hits, row.labelled, row.precision) == (3, 2, None)
    assert row.false_positive_rate == 0.0


def test_precision_per_policy_adds_up_the_rules_of_a_policy(world, lead) -> None:
    from tests.factories import make_rule

    other_phish = make_rule("Phish 2", policy_label="phishing")
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    hits_with_labels(other_phish, world["a_only"], fp=1, at=NOON)
    hits_with_labels(world["spam"], world["both"], tp=2, at=NOON)
    rows = by_key(quality_rows("policy", user=lead))
    assert rows["phishing"]["hits"] == 2 and rows["phishing"]["precision"] == 0.5
    assert rows["spam"]["precision"] == 1.0


def test_precision_per_feed_credits_the_feeds_of_the_indicator(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=2, at=NOON)
    hits_with_labels(world["phish"], world["both"], fp=1, unlabelled=1, at=NOON)
    rows = by_key(quality_rows("feed", user=lead))
    assert rows["Feed A"] == {
        "key": "Feed A",
        "hits": 4,
        "labelled": 3,
        "true_positive": 2,
        "false_positive": 1,
        "precision": pytest.approx(2 / 3),
    }
    assert rows["Feed B"]["hits"] == 2 and rows["Feed B"]["precision"] == 0.0


def test_a_feed_is_not_credited_with_hits_before_it_reported_the_indicator(world, lead) -> None:
    from intel.models import IndicatorSource

    IndicatorSource.objects.filter(indicator=world["a_only"]).update(
        first_seen_at=NOON + timedelta(days=1)
    )
    hits_with_labels(world["phish"], world["a_only"], unlabelled=1, at=NOON)
    assert quality_rows("feed", user=lead) == []


def test_precision_per_indicator_keys_rows_by_type_and_value(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, fp=1, at=NOON)
    hits_with_labels(world["spam"], world["both"], tp=1, at=NOON)
    hits_with_labels(world["spam"], world["both"], unlabelled=2, at=NOON)
    rows = by_key(quality_rows("indicator", user=lead))
    assert list(rows) == ["domain:both.example", "domain:a.example"]
    assert rows["domain:a.example"]["precision"] == 0.5
    assert rows["domain:both.example"]["labelled"] == 1


def test_cases_count_the_cases_opened_and_the_indicators_in_them(world, lead) -> None:
    case = make_case_for(world["phish"], at=NOON)
    make_hit(world["phish"], world["a_only"], at=NOON, case=case)
    make_hit(world["phish"], world["both"], at=NOON, case=case)
    make_hit(world["phish"], world["both"], at=NOON, case=case)
    make_hit(world["phish"], world["both"], at=NOON, mode="shadow")
    [rule] = quality_rows("rule", user=lead)
    assert (rule.hits, rule.cases) == (4, 1)
    indicators = {row.key: row.cases for row in quality_rows("indicator", user=lead)}
    assert indicators == {"domain:both.example": 1, "domain:a.example": 1}


def test_since_and_until_select_hits_by_creation_time(world, lead) -> None:
    for hours in (-30, -1, 0, 5, 30):
        hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON + timedelta(hours=hours))

    def hits(**kwargs) -> int:
        rows = quality_rows("rule", user=lead, **kwargs)
        return rows[0].hits if rows else 0

    assert hits() == 5
    assert hits(since=NOON) == 3
    assert hits(until=NOON) == 2
    assert hits(since=NOON - timedelta(hours=1), until=NOON + timedelta(hours=5)) == 2
    day = NOON.replace(hour=0)
    assert hits(since=day, until=day + timedelta(days=1)) == 3
    assert hits(since=NOON + timedelta(days=3)) == 0


def test_rollups_and_live_counts_agree_on_every_range(world, lead, admin_user) -> None:
    for days in range(-4, 1):
        at = NOON + timedelta(days=days, hours=days)
        hits_with_labels(world["phish"], world["a_only"], tp=1, fp=days % 2, at=at)
        hits_with_labels(world["spam"], world["both"], fp=1, unlabelled=1, at=at)
    ranges = [
        {},
        {"since": NOON - timedelta(days=2)},
        {"since": NOON - timedelta(days=3, hours=5), "until": NOON - timedelta(hours=3)},
        {"until": NOON.replace(hour=0)},
    ]
    live = {
        (by, i): by_key(quality_rows(by, user=lead, **r))
        for by in ("rule", "policy", "feed", "indicator")
        for i, r in enumerate(ranges)
    }
    rollups.refresh(full=True)
    for (by, i), expected in live.items():
        assert by_key(quality_rows(by, user=lead, **ranges[i])) == expected, (by, ranges[i])


def test_a_label_given_a_moment_ago_counts_at_once(world, lead, analyst) -> None:
    case = make_case_for(world["phish"], at=NOON)
    make_hit(world["phish"], world["a_only"], at=NOON, case=case)
    make_hit(world["phish"], world["both"], at=NOON, case=case)
    rollups.refresh(full=True)
    assert by_key(quality_rows("rule", user=lead))["Phish"]["labelled"] == 0
    triage.label_case(case.pk, user=analyst, disposition="true_positive")
    for by, key in (
        ("rule", "Phish"),
        ("policy", "phishing"),
        ("feed", "Feed A"),
        ("indicator", "domain:both.example"),
    ):
        row = by_key(quality_rows(by, user=lead))[key]
        assert row["true_positive"] >= 1 and row["precision"] == 1.0, by
    rules_now = by_key(quality_rows("rule", user=lead))
    assert rules_now["Phish"]["labelled"] == 2
    rollups.refresh()  # the labelled day is recomputed: same numbers from the rollups alone
    assert by_key(quality_rows("rule", user=lead)) == rules_now


def test_a_corrected_label_replaces_the_old_one_at_once(world, lead, analyst) -> None:
    case = make_case_for(world["phish"], at=NOON)
    make_hit(world["phish"], world["a_only"], at=NOON, case=case)
    triage.label_case(case.pk, user=analyst, disposition="true_positive")
    rollups.refresh(full=True)
    triage.label_case(case.pk, user=lead, disposition="false_positive", reason="benign_site")
    row = by_key(quality_rows("rule", user=lead))["Phish"]
    assert (row["labelled"], row["true_positive"], row["false_positive"]) == (1, 0, 1)


def test_hits_newer_than_the_last_refresh_count_at_once(world, lead) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    rollups.refresh(full=True)
    hits_with_labels(world["phish"], world["a_only"], fp=1)
    hits_with_labels(world["phish"], world["a_only"], unlabelled=1, at=NOON)  # late, same day
    row = by_key(quality_rows("rule", user=lead))["Phish"]
    assert (row["hits"], row["true_positive"], row["false_positive"]) == (3, 1, 1)
    rollups.refresh()
    assert by_key(quality_rows("rule", user=lead))["Phish"] == row
    [indicator] = quality_rows("indicator", user=lead, limit=1)
    assert indicator.hits == 3


def test_tlp_red_indicator_rows_are_for_cleared_users_only(world, lead, uncleared_lead) -> None:
    hits_with_labels(world["phish"], world["red"], fp=3, at=NOON)
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    for refreshed in (False, True):
        if refreshed:
            rollups.refresh(full=True)
        assert "domain:red.example" in by_key(quality_rows("indicator", user=lead))
        hidden = by_key(quality_rows("indicator", user=uncleared_lead))
        assert list(hidden) == ["domain:a.example"]
    # Aggregates name no intel: the rule still counts every hit.
    assert by_key(quality_rows("rule", user=uncleared_lead))["Phish"]["hits"] == 4


def test_the_limit_keeps_the_indicators_with_most_hits(world, lead) -> None:
    extra = make_indicator("many.example")
    hits_with_labels(world["phish"], extra, unlabelled=3, at=NOON)
    hits_with_labels(world["phish"], world["a_only"], unlabelled=2, at=NOON)
    hits_with_labels(world["phish"], world["both"], unlabelled=1, at=NOON)
    rollups.refresh(full=True)
    hits_with_labels(world["phish"], world["both"], unlabelled=3)  # now the most
    keys = [row.key for row in quality_rows("indicator", user=lead, limit=2)]
    assert keys == ["domain:both.example", "domain:many.example"]


def test_an_unknown_grouping_is_refused(lead) -> None:
    with pytest.raises(ValueError, match="unknown grouping"):
        quality_rows("author", user=lead)


def test_label_time_does_not_move_a_label_out_of_its_hits_range(world, lead) -> None:
    [hit] = hits_with_labels(world["phish"], world["a_only"], unlabelled=1, at=NOON)
    label(hit, "true_positive", at=NOON + timedelta(days=5))
    rows = quality_rows("rule", user=lead, since=NOON.replace(hour=0), until=NOON.replace(hour=23))
    assert rows[0].true_positive == 1


def test_a_range_matching_a_window_reads_it_and_agrees(world, lead, analyst) -> None:
    from datetime import UTC

    from django.utils import timezone

    from metrics.rollups.detection import midnight

    today = timezone.now().astimezone(UTC).date()
    recent = timezone.now() - timedelta(days=3)
    hits_with_labels(world["phish"], world["a_only"], tp=2, at=recent)
    hits_with_labels(world["phish"], world["both"], fp=1, at=recent)
    hits_with_labels(world["phish"], world["a_only"], fp=5, at=timezone.now() - timedelta(days=10))
    since = midnight(today - timedelta(days=6))
    live = by_key(quality_rows("indicator", user=lead, since=since))
    rollups.refresh(full=True)
    assert by_key(quality_rows("indicator", user=lead, since=since)) == live
    assert live["domain:a.example"]["hits"] == 2 and live["domain:a.example"]["precision"] == 1.0
    # Fresh labels and hits count on top of the window, too.
    [hit] = hits_with_labels(world["phish"], world["both"], unlabelled=1, at=recent)
    label(hit, "true_positive")
    row = by_key(quality_rows("indicator", user=lead, since=since))["domain:both.example"]
    assert (row["hits"], row["true_positive"], row["false_positive"]) == (2, 1, 1)


@pytest.mark.parametrize(("since_days", "until_days"), [(7, None), (9, None), (40, 2), (None, 3)])
def test_ranges_near_a_window_add_or_take_out_days_and_agree(
    world, lead, since_days, until_days
) -> None:
    from datetime import UTC

    from django.utils import timezone

    from metrics.rollups.detection import midnight

    now = timezone.now()
    today = now.astimezone(UTC).date()
    for days_ago, indicator in (
        (0, "a_only"),
        (1, "both"),
        (5, "both"),
        (8, "a_only"),
        (20, "both"),
    ):
        hits_with_labels(
            world["phish"],
            world[indicator],
            tp=1,
            fp=days_ago % 2,
            at=now - timedelta(days=days_ago),
        )
    since = midnight(today - timedelta(days=since_days)) if since_days is not None else None
    until = midnight(today - timedelta(days=until_days)) if until_days is not None else None
    live = by_key(quality_rows("indicator", user=lead, since=since, until=until))
    rollups.refresh(full=True)
    assert by_key(quality_rows("indicator", user=lead, since=since, until=until)) == live
    assert by_key(quality_rows("indicator", user=lead, since=since, until=until, limit=1)) == dict(
        list(live.items())[:1]
    )
