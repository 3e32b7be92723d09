"""Suggestions from hit labels: thresholds per indicator, rule and feed; apply; dismiss."""

import pytest

from detection.models import Rule
from intel.models import AllowlistEntry, Indicator, Status
from tdp.models import AuditEntry
from tests.factories import make_feed, make_indicator, make_rule
from tests.tuning.conftest import label_hits
from tuning.models import Action, TargetKind, TuningSuggestion
from tuning.suggestions import (
    TuningError,
    apply_suggestion,
    dismiss_suggestion,
    indicator_action,
    refresh_suggestions,
)

pytestmark = pytest.mark.django_db


def suggestions(kind: str) -> dict[int, TuningSuggestion]:
    return {s.target_id: s for s in TuningSuggestion.objects.filter(target_kind=kind)}


def suggestion_for(obj, kind: str, action: str, **fields) -> TuningSuggestion:
    fields = {"fp_rate": 0.8, "labels": 10, "false_positives": 8, **fields}
    return TuningSuggestion.objects.create(
        target_kind=kind, target_id=obj.pk, target_repr=str(obj), action=action, **fields
    )


def actions(obj) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_id=str(obj.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- thresholds -------------------------------------------------------------------------------


def test_an_indicator_over_both_thresholds_gets_a_suggestion(analyst) -> None:
    noisy = make_indicator("noisy.example", confidence=50)
    label_hits(noisy, tp=4, fp=6, user=analyst)
    result = refresh_suggestions(min_labels=10, rate=0.5)
    suggestion = suggestions(TargetKind.INDICATOR)[noisy.pk]
    assert (suggestion.labels, suggestion.false_positives, suggestion.fp_rate) == (10, 6, 0.6)
    assert suggestion.action == Action.LOWER_CONFIDENCE
    assert suggestion.params == {"confidence": 20}
    assert suggestion.target_repr == "domain:noisy.example"
    assert result.created >= 1


def test_too_few_labels_give_no_suggestion(analyst) -> None:
    noisy = make_indicator("few.example")
    label_hits(noisy, fp=9, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    assert noisy.pk not in suggestions(TargetKind.INDICATOR)
    refresh_suggestions(min_labels=9, rate=0.5)
    assert noisy.pk in suggestions(TargetKind.INDICATOR)


def test_a_rate_below_the_threshold_gives_no_suggestion(analyst) -> None:
    fine = make_indicator("fine.example")
    label_hits(fine, tp=6, fp=4, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    assert fine.pk not in suggestions(TargetKind.INDICATOR)
    refresh_suggestions(min_labels=10, rate=0.4)
    assert fine.pk in suggestions(TargetKind.INDICATOR)


def test_the_settings_are_the_defaults(analyst, settings) -> None:
    settings.TDP_TUNING_MIN_LABELS, settings.TDP_TUNING_FP_RATE = 3, 0.9
    noisy = make_indicator("settings.example")
    label_hits(noisy, tp=1, fp=3, user=analyst)
    refresh_suggestions()
    assert noisy.pk not in suggestions(TargetKind.INDICATOR)  # 75% < 90%
    settings.TDP_TUNING_FP_RATE = 0.75
    refresh_suggestions()
    assert noisy.pk in suggestions(TargetKind.INDICATOR)


def test_inactive_indicators_get_no_suggestion(analyst) -> None:
    gone = make_indicator("gone.example")
    label_hits(gone, fp=10, user=analyst)
    Indicator.objects.filter(pk=gone.pk).update(status=Status.EXPIRED)
    refresh_suggestions(min_labels=10, rate=0.5)
    assert gone.pk not in suggestions(TargetKind.INDICATOR)


@pytest.mark.parametrize(
    ("type_", "confidence", "rate", "expected"),
    [
        ("domain", 50, 0.95, Action.ALLOWLIST),
        ("keyword", 50, 0.95, Action.EXPIRE),  # keywords cannot be allowlisted
        ("domain", 50, 0.8, Action.EXPIRE),
        ("domain", 50, 0.6, Action.LOWER_CONFIDENCE),
        ("domain", 0, 0.6, Action.EXPIRE),  # nothing left to lower
    ],
)
def test_the_indicator_action_follows_the_rate(type_, confidence, rate, expected) -> None:
    assert indicator_action(type_, confidence, rate)[0] == expected


def test_a_rule_is_judged_on_all_its_labels(analyst) -> None:
    label_hits(make_indicator("one.example"), fp=5, user=analyst)
    label_hits(make_indicator("two.example"), tp=1, fp=4, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    rule = Rule.objects.get(name="Known-bad intel")
    suggestion = suggestions(TargetKind.RULE)[rule.pk]
    assert (suggestion.labels, suggestion.false_positives) == (10, 9)
    assert suggestion.action == Action.DISABLE_RULE  # 90%
    assert not suggestions(TargetKind.INDICATOR)  # five labels each


def test_a_moderately_noisy_rule_is_narrowed_to_shadow_mode(analyst) -> None:
    label_hits(make_indicator("three.example"), tp=3, fp=7, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    rule = Rule.objects.get(name="Known-bad intel")
    assert suggestions(TargetKind.RULE)[rule.pk].action == Action.SHADOW_RULE


def test_shadow_and_disabled_rules_get_no_suggestion(analyst) -> None:
    label_hits(make_indicator("four.example"), fp=10, user=analyst)
    Rule.objects.update(mode=Rule.Mode.SHADOW)
    refresh_suggestions(min_labels=10, rate=0.5)
    assert not suggestions(TargetKind.RULE)
    Rule.objects.update(mode=Rule.Mode.LIVE, is_enabled=False)
    refresh_suggestions(min_labels=10, rate=0.5)
    assert not suggestions(TargetKind.RULE)


def test_a_feed_is_judged_on_the_labels_of_its_indicators(analyst) -> None:
    feed = make_feed("Noisy feed")
    quiet = make_feed("Quiet feed")
    label_hits(make_indicator("f1.example", sources=(feed.source,)), fp=5, user=analyst)
    label_hits(make_indicator("f2.example", sources=(feed.source,)), tp=1, fp=4, user=analyst)
    label_hits(make_indicator("q1.example", sources=(quiet.source,)), tp=10, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    found = suggestions(TargetKind.FEED)
    assert set(found) == {feed.pk}
    assert (found[feed.pk].action, found[feed.pk].labels) == (Action.MUTE_FEED, 10)
    assert found[feed.pk].target_repr == "Noisy feed"


def test_a_disabled_feed_gets_no_suggestion(analyst) -> None:
    feed = make_feed("Off feed", enabled=False)
    label_hits(make_indicator("off.example", sources=(feed.source,)), fp=10, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    assert not suggestions(TargetKind.FEED)


def test_refreshing_keeps_one_open_suggestion_and_withdraws_stale_ones(analyst) -> None:
    noisy = make_indicator("again.example")
    label_hits(noisy, fp=10, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    again = refresh_suggestions(min_labels=10, rate=0.5)
    assert (again.created, again.updated, again.withdrawn) == (0, 0, 0)
    assert TuningSuggestion.objects.filter(target_id=noisy.pk, target_kind="indicator").count() == 1
    label_hits(noisy, tp=15, user=analyst)  # now 40% false positive
    assert refresh_suggestions(min_labels=10, rate=0.5).withdrawn >= 1
    assert noisy.pk not in suggestions(TargetKind.INDICATOR)
    assert AuditEntry.objects.filter(action="tuning.refresh").exists()


def test_a_dismissed_target_returns_only_after_more_labels(analyst, lead) -> None:
    noisy = make_indicator("dismissed.example")
    label_hits(noisy, fp=10, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    dismiss_suggestion(suggestions(TargetKind.INDICATOR)[noisy.pk], actor=lead, note="known")
    refresh_suggestions(min_labels=10, rate=0.5)
    assert not TuningSuggestion.objects.open().filter(target_id=noisy.pk).exists()
    label_hits(noisy, fp=10, user=analyst)
    refresh_suggestions(min_labels=10, rate=0.5)
    reopened = TuningSuggestion.objects.open().get(target_kind="indicator", target_id=noisy.pk)
    assert reopened.labels == 20


# --- apply and dismiss ------------------------------------------------------------------------


def test_applying_expire_expires_the_indicator_with_audit_entries(lead) -> None:
    indicator = make_indicator("expire.example")
    suggestion = suggestion_for(indicator, "indicator", Action.EXPIRE)
    apply_suggestion(suggestion, actor=lead)
    indicator.refresh_from_db()
    suggestion.refresh_from_db()
    assert indicator.status == Status.EXPIRED
    assert (suggestion.status, suggestion.applied_action) == ("applied", Action.EXPIRE)
    assert (suggestion.decided_by, suggestion.decided_at is not None) == (lead, True)
    assert actions(indicator) == ["indicator.expired"]
    entry = AuditEntry.objects.get(action="tuning.suggestion.apply")
    assert (entry.object_id, entry.user) == (str(suggestion.pk), lead)


def test_applying_allowlist_adds_an_entry_and_flips_the_indicator(lead) -> None:
    indicator = make_indicator("cdn.partner.example")
    suggestion = suggestion_for(indicator, "indicator", Action.ALLOWLIST)
    apply_suggestion(suggestion, actor=lead)
    indicator.refresh_from_db()
    assert indicator.status == Status.ALLOWLISTED
    assert AllowlistEntry.objects.filter(kind="domain", value="cdn.partner.example").exists()
    assert "indicator.allowlist" in actions(indicator)


def test_applying_allowlist_when_an_entry_exists_flips_the_indicator(lead) -> None:
    indicator = make_indicator("covered.example")
    AllowlistEntry.objects.create(kind="domain", value="covered.example", reason="ours")
    apply_suggestion(suggestion_for(indicator, "indicator", Action.ALLOWLIST), actor=lead)
    indicator.refresh_from_db()
    assert indicator.status == Status.ALLOWLISTED


def test_applying_lower_confidence_uses_the_suggested_value(lead) -> None:
    indicator = make_indicator("lower.example", confidence=80)
    suggestion = suggestion_for(
        indicator, "indicator", Action.LOWER_CONFIDENCE, params={"confidence": 24}
    )
    apply_suggestion(suggestion, actor=lead)
    indicator.refresh_from_db()
    assert (indicator.confidence, indicator.status) == (24, Status.ACTIVE)
    assert actions(indicator) == ["indicator.update"]


def test_applying_disable_rule_disables_it(lead) -> None:
    rule = make_rule("Noisy rule")
    apply_suggestion(suggestion_for(rule, "rule", Action.DISABLE_RULE), actor=lead)
    rule.refresh_from_db()
    assert not rule.is_enabled
    assert actions(rule) == ["rule.disable"]


def test_applying_shadow_rule_narrows_it_to_shadow_mode(lead) -> None:
    rule = make_rule("Loud rule")
    apply_suggestion(suggestion_for(rule, "rule", Action.SHADOW_RULE), actor=lead)
    rule.refresh_from_db()
    assert (rule.mode, rule.is_enabled) == (Rule.Mode.SHADOW, True)
    entry = AuditEntry.objects.get(action="rule.update", object_id=str(rule.pk))
    assert entry.changes == {"mode": ["live", "shadow"]}


def test_applying_mute_feed_disables_the_feed(lead) -> None:
    feed = make_feed("Loud feed")
    apply_suggestion(suggestion_for(feed, "feed", Action.MUTE_FEED), actor=lead)
    feed.refresh_from_db()
    assert not feed.enabled
    entry = AuditEntry.objects.get(action="feed.update", object_id=str(feed.pk))
    assert entry.changes["enabled"] == [True, False]


def test_another_allowed_action_may_be_chosen(lead) -> None:
    indicator = make_indicator("choose.example")
    suggestion = suggestion_for(indicator, "indicator", Action.ALLOWLIST)
    apply_suggestion(suggestion, actor=lead, action=Action.EXPIRE, note="not ours")
    indicator.refresh_from_db()
    suggestion.refresh_from_db()
    assert (indicator.status, suggestion.applied_action, suggestion.note) == (
        Status.EXPIRED,
        Action.EXPIRE,
        "not ours",
    )


def test_an_action_of_another_kind_of_target_is_refused(lead) -> None:
    indicator = make_indicator("wrong.example")
    suggestion = suggestion_for(indicator, "indicator", Action.EXPIRE)
    with pytest.raises(TuningError):
        apply_suggestion(suggestion, actor=lead, action=Action.MUTE_FEED)
    indicator.refresh_from_db()
    assert indicator.status == Status.ACTIVE
    assert not AuditEntry.objects.filter(action__startswith="tuning.").exists()


def test_a_decided_suggestion_cannot_be_applied_again(lead) -> None:
    indicator = make_indicator("twice.example")
    suggestion = suggestion_for(indicator, "indicator", Action.EXPIRE)
    apply_suggestion(suggestion, actor=lead)
    with pytest.raises(TuningError, match="applied already"):
        apply_suggestion(suggestion, actor=lead)
    with pytest.raises(TuningError):
        dismiss_suggestion(suggestion, actor=lead)


def test_a_suggestion_for_a_deleted_target_is_refused(lead) -> None:
    indicator = make_indicator("deleted.example")
    suggestion = suggestion_for(indicator, "indicator", Action.EXPIRE)
    indicator.delete()
    with pytest.raises(TuningError, match="no longer exists"):
        apply_suggestion(suggestion, actor=lead)
    suggestion.refresh_from_db()
    assert suggestion.status == "open"


def test_dismissing_records_the_decision_and_changes_nothing_else(lead) -> None:
    indicator = make_indicator("keep.example")
    suggestion = suggestion_for(indicator, "indicator", Action.EXPIRE)
    dismiss_suggestion(suggestion, actor=lead, note="a partner's domain")
    suggestion.refresh_from_db()
    indicator.refresh_from_db()
    assert (suggestion.status, suggestion.note, suggestion.decided_by) == (
        "dismissed",
        "a partner's domain",
        lead,
    )
    assert indicator.status == Status.ACTIVE
    entry = AuditEntry.objects.get(action="tuning.suggestion.dismiss")
    assert entry.note == "a partner's domain"
