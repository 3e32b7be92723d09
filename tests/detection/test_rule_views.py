"""Rule pages: who may read and change rules, test on sample, why-not, htmx and TLP:RED."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from detection.models import Hit, Rule
from tdp.models import AuditEntry
from tests.factories import make_content_event, make_indicator, make_rule, make_source

pytestmark = pytest.mark.django_db

LIST = "/detection/rules/"
NEW = "/detection/rules/new/"
TEST = "/detection/rules/test"
WHY_NOT = "/detection/rules/why-not"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rule() -> Rule:
    return make_rule("Phishing <b>links</b>", description="<script>x</script>")


def paths(rule: Rule) -> dict[str, str]:
    return {
        "detail": f"/detection/rules/{rule.pk}/",
        "edit": f"/detection/rules/{rule.pk}/edit/",
        "toggle": f"/detection/rules/{rule.pk}/toggle",
    }


def form_data(**changes: object) -> dict:
    data = {
        "name": "New rule",
        "description": "Catches phishing",
        "is_enabled": "on",
        "mode": "shadow",
        "indicator_types": ["domain", "url"],
        "tags": "Phishing, fresh",
        "min_confidence": 50,
        "threshold": 1,
        "window_seconds": 3600,
        "severity": "high",
        "policy_label": "phishing",
        "grouping": "per_author",
        "group_window_seconds": 86400,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def make_hit(rule: Rule, indicator, event_id: str = "e1") -> Hit:
    now = timezone.now()
    return Hit.objects.create(
        event_id=event_id,
        event_day=now.date(),
        rule=rule,
        indicator=indicator,
        field="text",
        value=indicator.value,
        author_id="a1",
        occurred_at=now,
        mode=rule.mode,
    )


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "list"),
        ("get", "new"),
        ("get", "detail"),
        ("get", "edit"),
        ("post", "toggle"),
        ("post", "test"),
        ("post", "why_not"),
    ],
)
def test_anonymous_users_are_sent_to_login(client: Client, rule: Rule, method, name) -> None:
    url = {"list": LIST, "new": NEW, "test": TEST, "why_not": WHY_NOT, **paths(rule)}[name]

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_users_without_a_role_get_403_everywhere(nobody, rule: Rule) -> None:
    client = Client()
    client.force_login(nobody)
    urls = paths(rule)
    for url in (LIST, NEW, urls["detail"], urls["edit"]):
        assert client.get(url).status_code == 403
    for url in (urls["toggle"], TEST, WHY_NOT):
        assert client.post(url).status_code == 403


def test_analysts_read_rules_but_change_nothing(analyst_client: Client, rule: Rule) -> None:
    urls = paths(rule)

    listing = analyst_client.get(LIST).content.decode()
    detail = analyst_client.get(urls["detail"]).content.decode()

    assert "Phishing &lt;b&gt;links&lt;/b&gt;" in listing
    for page in (listing, detail):
        assert "Add rule" not in page and urls["edit"] not in page and urls["toggle"] not in page
    assert "Test on sample" not in detail and "Why not?" in detail
    assert analyst_client.get(NEW).status_code == 403
    assert analyst_client.get(urls["edit"]).status_code == 403
    assert analyst_client.post(NEW, form_data()).status_code == 403
    assert analyst_client.post(urls["edit"], form_data(name="Renamed")).status_code == 403
    assert analyst_client.post(urls["toggle"]).status_code == 403
    assert analyst_client.post(TEST, {"rule": rule.pk, "events": "{}"}).status_code == 403
    rule.refresh_from_db()
    assert rule.name == "Phishing <b>links</b>" and rule.is_enabled
    assert not AuditEntry.objects.filter(action__startswith="rule.").exists()


@pytest.mark.parametrize(
    ("method", "name"),
    [("post", "list"), ("post", "detail"), ("get", "toggle"), ("get", "test"), ("get", "why_not")],
)
def test_wrong_methods_are_refused(lead_client: Client, rule: Rule, method, name) -> None:
    url = {"list": LIST, "test": TEST, "why_not": WHY_NOT, **paths(rule)}[name]
    assert getattr(lead_client, method)(url).status_code == 405


# --- list -------------------------------------------------------------------------------------


def test_list_shows_hit_counts_and_filters(analyst_client: Client, rule: Rule) -> None:
    make_rule("Quiet shadow", mode="shadow", is_enabled=False, policy_label="spam")
    make_hit(rule, make_indicator("a.example"), "e1")
    make_hit(rule, make_indicator("b.example"), "e2")

    page = analyst_client.get(LIST).content.decode()
    shadow = analyst_client.get(LIST, {"mode": "shadow"}).content.decode()
    disabled = analyst_client.get(LIST, {"enabled": "false", "policy": "spam"}).content.decode()
    searched = analyst_client.get(LIST, {"q": "PHISHING"}).content.decode()

    assert '<td class="hits">2</td>' in page
    name = "Phishing &lt;b&gt;links"
    assert "Quiet shadow" in shadow and name not in shadow
    assert "Quiet shadow" in disabled and name not in disabled
    assert name in searched and "Quiet shadow" not in searched


def test_list_answers_htmx_with_the_results_partial(analyst_client: Client, rule: Rule) -> None:
    response = analyst_client.get(LIST, {"q": "phish"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="rule-results"') and "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_list_query_count_does_not_grow_with_rules(
    analyst_client: Client, django_assert_max_num_queries
) -> None:
    indicator = make_indicator("a.example")
    for n in range(30):
        make_hit(make_rule(f"rule {n:02}"), indicator, f"e{n}")
    with django_assert_max_num_queries(8):
        response = analyst_client.get(LIST)
    assert response.content.decode().count('<td class="hits">1</td>') == 30


# --- create / edit / toggle -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["lead_client", "admin_client_"])
def test_leads_and_admins_create_rules_with_an_audit_entry(
    request: pytest.FixtureRequest, who: str
) -> None:
    client: Client = request.getfixturevalue(who)
    source = make_source("Partner")

    assert client.get(NEW).status_code == 200
    response = client.post(NEW, form_data(sources=[source.pk]))

    rule = Rule.objects.get(name="New rule")
    assert response.status_code == 302 and response["Location"] == paths(rule)["detail"]
    assert rule.mode == "shadow" and rule.indicator_types == ["domain", "url"]
    assert rule.tags == ["fresh", "phishing"] and list(rule.sources.all()) == [source]
    entry = AuditEntry.objects.get(action="rule.create")
    assert entry.changes["name"] == [None, "New rule"]


def test_an_invalid_rule_is_shown_again_with_errors(lead_client: Client, rule: Rule) -> None:
    response = lead_client.post(NEW, form_data(name=rule.name, threshold=0, min_confidence=101))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Another rule has this name." in body
    assert not AuditEntry.objects.exists()


def test_leads_edit_rules_and_the_change_is_audited(lead_client: Client, rule: Rule) -> None:
    edit = paths(rule)["edit"]
    assert "Phishing &lt;b&gt;links&lt;/b&gt;" in lead_client.get(edit).content.decode()

    response = lead_client.post(edit, form_data(name="Renamed", severity="critical"))

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "Renamed" and rule.severity == "critical"
    entry = AuditEntry.objects.get(action="rule.update")
    assert entry.changes["name"] == ["Phishing <b>links</b>", "Renamed"]


@pytest.mark.parametrize("who", ["lead_client", "admin_client_"])
def test_leads_and_admins_toggle_rules(request, rule: Rule, who: str) -> None:
    client: Client = request.getfixturevalue(who)
    toggle = paths(rule)["toggle"]

    off = client.post(toggle, {"enabled": "0"})
    rule.refresh_from_db()
    assert off.status_code == 302 and rule.is_enabled is False
    on = client.post(toggle, **HTMX)
    rule.refresh_from_db()
    assert on.status_code == 204 and on["HX-Location"] == paths(rule)["detail"]
    assert rule.is_enabled is True
    assert list(
        AuditEntry.objects.filter(action__startswith="rule.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["rule.disable", "rule.enable"]


# --- detail -----------------------------------------------------------------------------------


def test_detail_escapes_rule_text(analyst_client: Client, rule: Rule) -> None:
    body = analyst_client.get(paths(rule)["detail"]).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in body and "<script>x</script>" not in body


def test_detail_hides_hits_on_tlp_red_indicators_from_users_not_cleared(
    analyst_client: Client, cleared_client: Client, rule: Rule
) -> None:
    make_hit(rule, make_indicator("green.example", tlp="GREEN"), "e1")
    make_hit(rule, make_indicator("red.example", tlp="RED"), "e2")

    hidden = analyst_client.get(paths(rule)["detail"]).content.decode()
    shown = cleared_client.get(paths(rule)["detail"]).content.decode()

    assert "green.example" in hidden and "red.example" not in hidden
    assert "green.example" in shown and "red.example" in shown


# --- test on sample ---------------------------------------------------------------------------


def sample(*events: dict) -> str:
    return json.dumps(list(events))


def test_test_on_sample_shows_field_observable_and_sources(lead_client: Client) -> None:
    source = make_source("Partner <feed>")
    make_indicator("evil.example", sources=(source,))
    rule = make_rule("Domains")
    event = make_content_event("visit evil.example now", id="ev-<1>")

    response = lead_client.post(TEST, {"rule": rule.pk, "events": sample(event)}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "1 event scanned, 1 match" in body
    assert "<td>text</td>" in body and '<td class="mono">evil.example</td>' in body
    assert "domain:evil.example" in body and "Partner &lt;feed&gt;" in body
    assert "ev-&lt;1&gt;" in body and "<td>Domains</td>" in body


def test_test_on_sample_tries_the_editor_values_unsaved(lead_client: Client) -> None:
    make_indicator("evil.example")
    events = sample(make_content_event("visit evil.example now"))

    domains = lead_client.post(
        TEST, {**form_data(indicator_types=["domain"], tags=""), "events": events}
    )
    urls = lead_client.post(
        TEST, {**form_data(indicator_types=["url"], tags=""), "events": events}, **HTMX
    )

    assert "1 match" in domains.content.decode() and "<html" in domains.content.decode()
    assert "0 matches" in urls.content.decode()
    assert not Rule.objects.filter(name="New rule").exists()


def test_test_on_sample_reports_an_invalid_rule_or_bad_json(lead_client: Client) -> None:
    bad_rule = lead_client.post(TEST, {**form_data(threshold=0), "events": "[]"}, **HTMX)
    bad_json = lead_client.post(TEST, {**form_data(), "events": "{nope"}, **HTMX)
    assert bad_rule.status_code == 200 and "Fix the rule first" in bad_rule.content.decode()
    assert "is not JSON" in bad_json.content.decode()


def test_test_on_sample_never_shows_tlp_red_to_users_not_cleared(rule: Rule) -> None:
    from tests.factories import make_user

    make_indicator("red.example", tlp="RED")
    events = sample(make_content_event("see red.example"))
    lead = Client()
    lead.force_login(make_user("uncleared-lead", role="lead"))

    body = lead.post(TEST, {"rule": rule.pk, "events": events}, **HTMX).content.decode()

    assert "red.example" not in body.replace("see red.example", "")
    assert "0 matches" in body


# --- why not ----------------------------------------------------------------------------------


def test_why_not_answers_htmx_with_reasons(analyst_client: Client, rule: Rule) -> None:
    make_indicator("evil.example", status="expired")
    event = json.dumps(make_content_event("visit evil.example now"))

    response = analyst_client.post(
        WHY_NOT, {"event": event, "indicator": "evil.example", "rule": rule.pk}, **HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Inactive: the indicator expired." in body
    assert "filters accept this indicator" in body


def test_why_not_escapes_what_the_user_typed(analyst_client: Client) -> None:
    event = json.dumps(make_content_event("hi"))
    response = analyst_client.post(WHY_NOT, {"event": event, "indicator": "<img src=x>"})
    body = response.content.decode()
    assert "<img src=x>" not in body and "&lt;img src=x&gt;" in body


def test_why_not_never_reveals_tlp_red_to_users_not_cleared(
    analyst_client: Client, cleared_client: Client
) -> None:
    make_indicator("red.example", tlp="RED", status="revoked")
    data = {"event": json.dumps(make_content_event("see red.example")), "indicator": "red.example"}

    hidden = analyst_client.post(WHY_NOT, data, **HTMX).content.decode()
    shown = cleared_client.post(WHY_NOT, data, **HTMX).content.decode()

    assert "No such indicator" in hidden and "revoked" not in hidden
    assert "revoked" in shown


def test_a_rule_id_that_is_not_a_number_is_a_404(lead_client) -> None:
    response = lead_client.post("/detection/rules/test", {"rule": "1 OR 1=1", "events": "{}"})
    assert response.status_code == 404


def test_a_rule_links_to_its_page() -> None:
    from detection.models import Rule

    rule = Rule.objects.get(name="Known-bad intel")
    assert rule.get_absolute_url() == f"/detection/rules/{rule.pk}/"
