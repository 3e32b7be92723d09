"""Tuning pages: who may use them, apply/dismiss/refresh, report a miss, run a back-test."""

import json

import django_rq
import pytest
from django.test import Client

from detection.scan import forget_matcher, scan_events
from intel.models import Status
from tdp.models import AuditEntry
from tests.factories import make_content_event, make_indicator, make_rule, make_user
from tuning.missed import report_miss
from tuning.models import Action, BacktestRun, MissedReport, TuningSuggestion

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def suggestion(indicator, action: str = Action.EXPIRE) -> TuningSuggestion:
    return TuningSuggestion.objects.create(
        target_kind="indicator",
        target_id=indicator.pk,
        target_repr=f"{indicator.type}:{indicator.value}",
        action=action,
        fp_rate=0.8,
        labels=10,
        false_positives=8,
    )


# --- access -----------------------------------------------------------------------------------

LEAD_PAGES = [
    ("get", "/tuning/suggestions/"),
    ("post", "/tuning/suggestions/refresh"),
    ("post", "/tuning/suggestions/1/apply"),
    ("post", "/tuning/suggestions/1/dismiss"),
    ("get", "/tuning/backtests/"),
    ("get", "/tuning/backtests/1/"),
]
ANALYST_PAGES = [
    ("get", "/tuning/missed/"),
    ("get", "/tuning/missed/new/"),
    ("get", "/tuning/missed/1/"),
]


@pytest.mark.parametrize(("method", "url"), LEAD_PAGES + ANALYST_PAGES)
def test_anonymous_users_are_sent_to_log_in(method, url) -> None:
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(("method", "url"), LEAD_PAGES + ANALYST_PAGES)
def test_users_without_a_role_are_refused(nobody, method, url) -> None:
    assert getattr(client_for(nobody), method)(url).status_code == 403


@pytest.mark.parametrize(("method", "url"), LEAD_PAGES)
def test_analysts_may_not_use_lead_pages(analyst_client, method, url) -> None:
    assert getattr(analyst_client, method)(url).status_code == 403


def test_analysts_may_use_the_missed_pages(analyst_client) -> None:
    assert analyst_client.get("/tuning/missed/").status_code == 200
    assert analyst_client.get("/tuning/missed/new/").status_code == 200


def test_leads_may_use_the_lead_pages(lead_client) -> None:
    assert lead_client.get("/tuning/suggestions/").status_code == 200
    assert lead_client.get("/tuning/backtests/").status_code == 200


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/tuning/suggestions/refresh"),
        ("get", "/tuning/suggestions/1/apply"),
        ("delete", "/tuning/suggestions/"),
        ("post", "/tuning/missed/"),
        ("post", "/tuning/backtests/1/"),
    ],
)
def test_wrong_methods_are_refused(lead_client, method, url) -> None:
    assert getattr(lead_client, method)(url).status_code == 405


# --- suggestions ------------------------------------------------------------------------------


def test_the_list_shows_open_suggestions_with_their_buttons(lead_client) -> None:
    open_one = suggestion(make_indicator("open.example"))
    done = suggestion(make_indicator("done.example"))
    TuningSuggestion.objects.filter(pk=done.pk).update(status="dismissed")
    page = lead_client.get("/tuning/suggestions/").content.decode()
    assert "domain:open.example" in page and "domain:done.example" not in page
    assert f"/tuning/suggestions/{open_one.pk}/apply" in page
    dismissed = lead_client.get("/tuning/suggestions/?status=dismissed").content.decode()
    assert "domain:done.example" in dismissed


def test_the_list_answers_htmx_with_the_partial(lead_client) -> None:
    suggestion(make_indicator("partial.example"))
    response = lead_client.get("/tuning/suggestions/", **HTMX)
    assert b'id="suggestion-results"' in response.content
    assert b"<html" not in response.content


def test_the_list_takes_a_bounded_number_of_queries(
    lead_client, django_assert_max_num_queries
) -> None:
    for n in range(20):
        suggestion(make_indicator(f"many{n}.example"))
    with django_assert_max_num_queries(10):
        assert lead_client.get("/tuning/suggestions/").status_code == 200


def test_applying_from_the_page_changes_the_target(lead_client, lead) -> None:
    indicator = make_indicator("apply.example")
    item = suggestion(indicator)
    response = lead_client.post(f"/tuning/suggestions/{item.pk}/apply", {"action": "expire"})
    assert response.status_code == 302
    indicator.refresh_from_db()
    item.refresh_from_db()
    assert (indicator.status, item.status, item.decided_by) == (Status.EXPIRED, "applied", lead)
    assert AuditEntry.objects.filter(action="tuning.suggestion.apply").count() == 1


def test_an_htmx_apply_answers_with_hx_location(lead_client) -> None:
    item = suggestion(make_indicator("hx.example"))
    response = lead_client.post(
        f"/tuning/suggestions/{item.pk}/apply", {"action": "expire"}, **HTMX
    )
    assert response.status_code == 204
    assert response["HX-Location"] == "/tuning/suggestions/"


def test_a_disallowed_action_from_the_page_changes_nothing(lead_client) -> None:
    indicator = make_indicator("nope.example")
    item = suggestion(indicator)
    lead_client.post(f"/tuning/suggestions/{item.pk}/apply", {"action": "mute_feed"})
    indicator.refresh_from_db()
    item.refresh_from_db()
    assert (indicator.status, item.status) == (Status.ACTIVE, "open")


def test_dismissing_from_the_page(lead_client) -> None:
    item = suggestion(make_indicator("dismiss.example"))
    lead_client.post(f"/tuning/suggestions/{item.pk}/dismiss", {"note": "ours"})
    item.refresh_from_db()
    assert (item.status, item.note) == ("dismissed", "ours")


def test_refresh_now_runs_the_refresh(lead_client) -> None:
    response = lead_client.post("/tuning/suggestions/refresh", follow=True)
    assert "Suggestions refreshed: 0 new" in response.content.decode()


def test_tlp_red_suggestions_are_hidden_from_leads_who_are_not_cleared(lead_client) -> None:
    red = make_indicator("red.example", tlp="RED")
    item = suggestion(red)
    uncleared = client_for(make_user("lars", role="lead"))
    assert "red.example" not in uncleared.get("/tuning/suggestions/").content.decode()
    assert (
        uncleared.post(f"/tuning/suggestions/{item.pk}/apply", {"action": "expire"}).status_code
        == 404
    )
    assert uncleared.post(f"/tuning/suggestions/{item.pk}/dismiss").status_code == 404
    red.refresh_from_db()
    assert red.status == Status.ACTIVE
    assert "red.example" in lead_client.get("/tuning/suggestions/").content.decode()  # cleared


# --- missed -----------------------------------------------------------------------------------


def test_an_analyst_reports_a_miss_and_sees_what_would_have_caught_it(analyst_client) -> None:
    make_indicator("caught.example", status=Status.REVOKED)
    event = make_content_event("<b>see</b> caught.example", id="v1")
    response = analyst_client.post(
        "/tuning/missed/new/",
        {"event": json.dumps(event), "policy": "scam", "note": "a scam"},
    )
    report = MissedReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tuning/missed/{report.pk}/"
    page = analyst_client.get(response["Location"]).content.decode()
    assert "domain:caught.example" in page and "revoked" in page
    assert "&lt;b&gt;see&lt;/b&gt;" in page  # the event is shown escaped


@pytest.mark.parametrize(
    ("event", "message"),
    [("{not json", "Not JSON"), ('{"id": "x"}', "kind must be one of")],
)
def test_an_invalid_event_re_renders_the_form_with_the_reason(
    analyst_client, event, message
) -> None:
    response = analyst_client.post("/tuning/missed/new/", {"event": event, "policy": "spam"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MissedReport.objects.exists()


def test_the_missed_list_shows_counts_per_policy(analyst_client, analyst) -> None:
    make_indicator("listed.example", status=Status.EXPIRED)
    report_miss(make_content_event("listed.example", id="l1"), policy="malware", actor=analyst)
    report_miss(make_content_event("nothing", id="l2"), policy="malware", actor=analyst)
    page = analyst_client.get("/tuning/missed/").content.decode()
    assert "Malware" in page and "1 matched by existing intel" in page
    assert "domain:listed.example" in page
    filtered = analyst_client.get("/tuning/missed/?q=l2").content.decode()
    assert "l2" in filtered and ">l1<" not in filtered


def test_the_missed_pages_hide_tlp_red_intel_from_uncleared_analysts(
    analyst_client, cleared_client, analyst
) -> None:
    make_indicator("secret.example", tlp="RED", status=Status.EXPIRED)
    report = report_miss(
        make_content_event("secret.example", id="r1"), policy="spam", actor=analyst
    )
    assert "domain:secret.example" not in analyst_client.get("/tuning/missed/").content.decode()
    detail = analyst_client.get(f"/tuning/missed/{report.pk}/").content.decode()
    assert "domain:secret.example" not in detail
    assert (
        "domain:secret.example"
        in cleared_client.get(f"/tuning/missed/{report.pk}/").content.decode()
    )


# --- back-tests -------------------------------------------------------------------------------


def test_a_lead_back_tests_a_saved_rule_inline(lead_client, lead) -> None:
    make_indicator("bt.example")
    forget_matcher()
    scan_events(
        [make_content_event("bt.example", id="b1"), make_content_event("x", id="b2")], dry_run=False
    )
    rule = make_rule("Saved", is_enabled=False)
    response = lead_client.post("/tuning/backtests/", {"rule": rule.pk, "days": 1})
    run = BacktestRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tuning/backtests/{run.pk}/"
    assert (run.status, run.rule, run.created_by) == ("done", rule, lead)
    assert (run.result["events"], run.result["would_hit"], run.result["new_cases"]) == (2, 1, 1)
    page = lead_client.get(response["Location"]).content.decode()
    assert "domain:bt.example" in page and "hx-trigger" not in page
    assert AuditEntry.objects.filter(action="tuning.backtest.start").exists()


def test_a_lead_back_tests_a_draft_with_pasted_indicators(lead_client) -> None:
    scan_events([make_content_event("draft.example", id="d1")], dry_run=False)
    response = lead_client.post(
        "/tuning/backtests/",
        {
            "rule": "",
            "days": 1,
            "indicators": "domain,draft.example",
            "draft-name": "Known-bad intel",  # a draft may reuse a saved rule's name
            "draft-mode": "live",
            "draft-min_confidence": 0,
            "draft-threshold": 1,
            "draft-window_seconds": 3600,
            "draft-severity": "medium",
            "draft-policy_label": "other",
            "draft-grouping": "per_event",
            "draft-group_window_seconds": 86400,
        },
    )
    run = BacktestRun.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (run.rule, run.draft["grouping"], run.result["would_hit"]) == (None, "per_event", 1)
    page = lead_client.get(f"/tuning/backtests/{run.pk}/").content.decode()
    assert "domain:draft.example" in page and "from the change list" in page


def test_bad_back_test_input_re_renders_the_form(lead_client) -> None:
    response = lead_client.post(
        "/tuning/backtests/", {"rule": "", "days": 99, "indicators": "not a url at all"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Events are kept 14 days" in page and "Some lines are not indicators" in page
    assert not BacktestRun.objects.exists()


def test_a_large_back_test_is_queued(
    lead_client, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TDP_BACKTEST_INLINE_EVENTS = 0
    scan_events([make_content_event("x", id="q1")], dry_run=False)
    rule = make_rule("Queued", is_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        lead_client.post("/tuning/backtests/", {"rule": rule.pk, "days": 1})
    run = BacktestRun.objects.get()
    assert run.status == "queued"
    [job] = django_rq.get_queue("default").get_jobs()
    assert (job.func_name, job.args) == ("tuning.jobs.run_backtest_job", (run.pk,))
    page = lead_client.get(f"/tuning/backtests/{run.pk}/", **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in page and "<html" not in page


def test_results_hide_tlp_red_indicators_from_uncleared_leads(lead_client) -> None:
    make_indicator("redbt.example", tlp="RED")
    scan_events([make_content_event("redbt.example", id="rb1")], dry_run=False)
    rule = make_rule("Red test", is_enabled=False)
    lead_client.post("/tuning/backtests/", {"rule": rule.pk, "days": 1})
    run = BacktestRun.objects.get()
    assert "redbt.example" not in str(run.result)
    assert "redbt.example" in lead_client.get(f"/tuning/backtests/{run.pk}/").content.decode()
    uncleared = client_for(make_user("lena", role="lead"))
    page = uncleared.get(f"/tuning/backtests/{run.pk}/").content.decode()
    assert "redbt.example" not in page and "would hit" in page
