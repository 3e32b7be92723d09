"""Rule service functions: audited changes, test on sample, and the "why not" explanations."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from detection import rules
from detection.models import Rule
from intel.allowlist import add_allowlist_entry
from intel.models import AllowlistEntry, Status
from tdp.models import AuditEntry
from tests.factories import make_content_event, make_indicator, make_rule, make_source, make_user

pytestmark = pytest.mark.django_db

EVIL = "visit evil.example now"


def values(**changes) -> dict:
    data = {
        "name": "Phishing links",
        "description": "",
        "is_enabled": True,
        "mode": "live",
        "indicator_types": [],
        "tags": [],
        "sources": [],
        "min_confidence": 0,
        "event_kinds": [],
        "threshold": 1,
        "window_seconds": 3600,
        "severity": "high",
        "policy_label": "phishing",
        "grouping": "per_author",
        "group_window_seconds": 86400,
    }
    data.update(changes)
    return data


def events(*objs) -> str:
    return json.dumps(list(objs))


# --- create / update / enable -----------------------------------------------------------------


def test_create_rule_writes_an_audit_entry_with_every_field(lead) -> None:
    source = make_source("Partner")

    rule = rules.create_rule(values(sources=[source]), actor=lead)

    entry = AuditEntry.objects.get(action="rule.create")
    assert entry.user == lead and entry.object_id == str(rule.pk)
    assert entry.changes["name"] == [None, "Phishing links"]
    assert entry.changes["sources"] == [None, [source.pk]]
    assert list(rule.sources.all()) == [source]


def test_update_rule_audits_only_what_changed(lead) -> None:
    rule = make_rule("Old", severity="low")

    rules.update_rule(rule, values(name="New", severity="low", tags=["x"]), actor=lead)

    entry = AuditEntry.objects.get(action="rule.update")
    assert entry.changes["name"] == ["Old", "New"]
    assert entry.changes["tags"] == [[], ["x"]]
    assert "severity" not in entry.changes
    assert Rule.objects.get(pk=rule.pk).name == "New"


def test_set_rule_enabled_records_the_switch(admin_user) -> None:
    rule = make_rule("Switch")

    rules.set_rule_enabled(rule, False, actor=admin_user)

    rule.refresh_from_db()
    assert rule.is_enabled is False
    entry = AuditEntry.objects.get(action="rule.disable")
    assert entry.changes == {"is_enabled": [True, False]}


# --- test on sample ---------------------------------------------------------------------------


def test_sample_test_explains_each_match(lead) -> None:
    source = make_source("Partner feed")
    make_indicator("evil.example", sources=(source,), confidence=80)
    rule = make_rule("Domains", indicator_types=["domain"])

    result = rules.test_rule_on_sample(rule, events(make_content_event(EVIL, id="e1")), viewer=lead)

    assert result.events == 1 and not result.rejected
    [match] = result.matches
    assert (match.event_id, match.field) == ("e1", "text")
    assert (match.observable_raw, match.observable_value) == ("evil.example", "evil.example")
    assert (match.indicator_type, match.indicator_value, match.confidence) == (
        "domain",
        "evil.example",
        80,
    )
    assert match.source_names == ("Partner feed",)
    assert match.rule_name == "Domains"


def test_sample_test_uses_unsaved_values_and_their_filters(lead) -> None:
    make_indicator("evil.example")
    sample = events(make_content_event(EVIL))

    kept = rules.test_rule_on_sample(values(indicator_types=["domain"]), sample, viewer=lead)
    filtered = rules.test_rule_on_sample(values(indicator_types=["url"]), sample, viewer=lead)

    assert len(kept.matches) == 1 and kept.matches[0].rule_name == "Phishing links"
    assert filtered.matches == []
    assert not Rule.objects.filter(name="Phishing links").exists()


def test_sample_test_reads_json_lines_and_reports_bad_events(lead) -> None:
    make_indicator("evil.example")
    text = json.dumps(make_content_event(EVIL)) + "\n" + json.dumps({"id": "x"})

    result = rules.test_rule_on_sample(make_rule(), text, viewer=lead)

    assert result.events == 1 and len(result.matches) == 1
    assert result.rejected == [(2, "kind must be one of post, comment, profile, message, live, ad")]


def test_sample_test_reports_text_that_is_not_json(lead) -> None:
    result = rules.test_rule_on_sample(make_rule(), "{not json", viewer=lead)
    assert "line 1 is not JSON" in result.error


def test_sample_test_hides_tlp_red_indicators_from_users_not_cleared(analyst, lead) -> None:
    make_indicator("red.example", tlp="RED")
    sample = events(make_content_event("see red.example"))
    rule = make_rule()

    assert rules.test_rule_on_sample(rule, sample, viewer=analyst).matches == []
    assert len(rules.test_rule_on_sample(rule, sample, viewer=lead).matches) == 1


# --- why not ----------------------------------------------------------------------------------


def why_not(event: dict, indicator: str, rule=None, viewer=None) -> list[str]:
    viewer = viewer or make_user(role="lead", cleared=True)
    return rules.explain_why_not(json.dumps(event), indicator, rule, viewer=viewer)


def test_why_not_reports_an_invalid_event() -> None:
    reasons = why_not({"id": "e"}, "evil.example")
    assert reasons == [
        "The event is invalid: kind must be one of post, comment, profile, message, live, ad."
    ]


def test_why_not_reports_a_value_that_does_not_normalise() -> None:
    reasons = why_not(make_content_event(EVIL), "ipv4:999.1.1.1")
    assert len(reasons) == 1 and "not normalisable" in reasons[0]


def test_why_not_reports_an_unknown_indicator() -> None:
    reasons = why_not(make_content_event(EVIL), "nothing.example")
    assert reasons == ["No such indicator: domain 'nothing.example' is not in intel."]


def test_why_not_says_expired_for_an_expired_indicator() -> None:
    make_indicator(
        "evil.example", status=Status.EXPIRED, expires_at=timezone.now() - timedelta(days=1)
    )
    reasons = why_not(make_content_event(EVIL), "evil.example")
    assert any(r.startswith("Inactive: the indicator expired at") for r in reasons)
    assert any("built without indicator" in r for r in reasons)


def test_why_not_names_the_allowlist_entry(admin_user) -> None:
    make_indicator("good.example")
    add_allowlist_entry(
        AllowlistEntry.Kind.DOMAIN, "good.example", reason="our own site", actor=admin_user
    )
    reasons = why_not(make_content_event("see good.example"), "good.example")
    assert (
        "Inactive: the indicator is allowlisted by entry domain 'good.example' (our own site)."
        in reasons
    )


def test_why_not_shows_both_normal_forms() -> None:
    make_indicator("https://evil.example/login", type="url")
    event = make_content_event("", urls=["https://EVIL.example/login/?ref=1"])
    reasons = why_not(event, "https://evil.example/login")
    different = [r for r in reasons if r.startswith("Different normal form")]
    assert different, reasons
    assert "'https://evil.example/login'" in different[0]
    assert "https://EVIL.example/login/?ref=1" in different[0]


def test_why_not_reports_the_entered_value_in_its_normal_form() -> None:
    make_indicator("evil.example")
    reasons = why_not(make_content_event(EVIL), "EVIL.Example")
    assert "Normal form: you entered 'EVIL.Example'; intel stores it as 'evil.example'." in reasons


def test_why_not_names_the_rule_filter_that_excludes() -> None:
    source = make_source("Partner")
    make_indicator("evil.example", confidence=40, tags=["spam"])
    rule = make_rule(
        "Strict",
        indicator_types=["url"],
        min_confidence=90,
        tags=["phishing"],
        event_kinds=["ad"],
        sources=(source,),
        is_enabled=False,
    )
    reasons = why_not(make_content_event(EVIL), "evil.example", rule)
    text = "\n".join(reasons)
    assert "Matcher: it matches: evil.example (text)." in reasons
    assert "Rule 'Strict' is disabled" in text
    assert "indicator types filter (url) excludes type domain" in text
    assert "minimum confidence filter (90) excludes confidence 40" in text
    assert "tags filter (phishing) excludes tags (spam)" in text
    assert "event kinds filter (ad) excludes kind post" in text
    assert "sources filter (Partner) excludes" in text


def test_why_not_says_the_rule_accepts_a_matching_indicator() -> None:
    make_indicator("evil.example")
    reasons = why_not(make_content_event(EVIL), "evil.example", make_rule("Open"))
    assert reasons == [
        "Matcher: it matches: evil.example (text).",
        "Rule 'Open' filters accept this indicator.",
    ]


def test_why_not_treats_tlp_red_as_unknown_for_users_not_cleared(analyst) -> None:
    make_indicator("red.example", tlp="RED")
    event = make_content_event("see red.example")
    hidden = why_not(event, "red.example", viewer=analyst)
    shown = why_not(event, "red.example")
    assert hidden == ["No such indicator: domain 'red.example' is not in intel."]
    assert shown != hidden
