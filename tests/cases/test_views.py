"""Triage pages: the queue (filters, sort, keyset pages, htmx partial, bulk actions, saved views,
get next), the case page (evidence escaped and blurred, labels, conflicts, comments) and the
lead pages (health, QA, settings), each with its access rules."""

import pytest
from django.urls import reverse

from cases.models import Case, HitLabel, QaReview, SavedView, TriageConfig
from tdp.models import AuditEntry
from tests.factories import make_case, make_user

pytestmark = pytest.mark.django_db

QUEUE = reverse("cases:queue")


def test_the_queue_lists_open_cases_most_urgent_first(analyst_client) -> None:
    low = make_case(author="a1", confidence=10)  # P4
    high = make_case(author="a2", confidence=95)  # P2
    Case.objects.filter(pk=low.pk).update(status="resolved", disposition="true_positive")
    third = make_case(author="a3")
    body = analyst_client.get(QUEUE).content.decode()
    assert f'data-case="{high.pk}"' in body
    assert f'data-case="{third.pk}"' in body
    assert f'data-case="{low.pk}"' not in body
    assert body.index(f'data-case="{high.pk}"') < body.index(f'data-case="{third.pk}"')


def test_the_queue_filters_and_htmx_gets_only_the_results(analyst_client, analyst) -> None:
    mine = make_case(author="a1")
    other = make_case(author="a2")
    Case.objects.filter(pk=mine.pk).update(assignee=analyst, status="in_review")
    response = analyst_client.get(QUEUE, {"assignee": "me"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert f'data-case="{mine.pk}"' in body and f'data-case="{other.pk}"' not in body
    body = analyst_client.get(QUEUE, {"assignee": "none"}).content.decode()
    assert f'data-case="{other.pk}"' in body and f'data-case="{mine.pk}"' not in body


def test_an_invalid_filter_shows_nothing_rather_than_everything(analyst_client) -> None:
    case = make_case()
    body = analyst_client.get(QUEUE, {"priority": "9"}).content.decode()
    assert f'data-case="{case.pk}"' not in body


@pytest.mark.parametrize(
    "sort", ["priority", "-priority", "created_at", "-hit_count", "assignee", "-title", "status"]
)
def test_keyset_pages_cover_every_case_once_in_any_sort(analyst_client, sort) -> None:
    ids = {make_case(author=f"a{i}").pk for i in range(7)}
    seen: list[int] = []
    params = {"sort": sort, "per_page": 25}
    from cases.queue import keyset_page

    cursor = ""
    while True:
        page = keyset_page(Case.objects.all(), sort, cursor, size=3)
        seen.extend(case.pk for case in page.rows)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(ids)
    assert analyst_client.get(QUEUE, params).status_code == 200


def test_a_forged_cursor_gives_the_first_page(analyst_client) -> None:
    case = make_case()
    for cursor in ["garbage", "WyJ4Il0", "WzEsICJub3QgYSBkYXRlIiwgMV0"]:
        response = analyst_client.get(QUEUE, {"after": cursor})
        assert response.status_code == 200
        assert f'data-case="{case.pk}"' in response.content.decode()


def test_get_next_claims_and_opens_the_most_urgent_case(analyst_client, analyst) -> None:
    case = make_case(confidence=95)
    response = analyst_client.post(reverse("cases:get_next"))
    assert response.status_code == 302 and response.url == case.get_absolute_url()
    case.refresh_from_db()
    assert (case.assignee, case.status) == (analyst, "in_review")
    response = analyst_client.post(reverse("cases:get_next"), follow=True)
    assert "No unassigned cases" in response.content.decode()


def test_the_case_page_escapes_evidence_and_blurs_it(analyst_client) -> None:
    from detection.scan import forget_matcher, scan_events
    from tests.factories import make_content_event, make_indicator

    make_indicator("evil.example")
    forget_matcher()
    scan_events(
        [make_content_event("<script>alert(1)</script> go to evil.example <img src=x onerror=1>")],
        dry_run=False,
    )
    case = Case.objects.get()
    body = analyst_client.get(case.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    assert "<mark>evil.example</mark>" in body
    assert 'class="sensitive" data-sensitive' in body  # blurred by default


def test_the_reveal_preference_is_per_user(analyst_client, analyst) -> None:
    case = make_case()
    analyst_client.post(
        reverse("cases:reveal_preference"),
        {"reveal_by_default": "on", "next": case.get_absolute_url()},
    )
    body = analyst_client.get(case.get_absolute_url()).content.decode()
    assert 'class="sensitive revealed"' in body
    other = make_user(role="analyst")
    from django.test import Client

    client = Client()
    client.force_login(other)
    assert 'class="sensitive revealed"' not in client.get(case.get_absolute_url()).content.decode()


def test_labelling_resolves_and_opens_the_next_case(analyst_client, analyst) -> None:
    first = make_case(author="a1", confidence=95)
    second = make_case(author="a2")
    response = analyst_client.post(
        reverse("cases:case_label", args=[first.pk]),
        {"disposition": "false_positive", "reason": "benign_site", "version": first.version},
    )
    first.refresh_from_db()
    assert (first.status, first.disposition, first.reason) == (
        "resolved",
        "false_positive",
        "benign_site",
    )
    assert HitLabel.objects.filter(case=first, disposition="false_positive").count() == 1
    assert response.url == second.get_absolute_url()
    second.refresh_from_db()
    assert second.assignee == analyst


def test_a_false_positive_without_reason_is_refused_with_a_message(analyst_client) -> None:
    case = make_case()
    response = analyst_client.post(
        reverse("cases:case_label", args=[case.pk]),
        {"disposition": "false_positive", "version": case.version},
        follow=True,
    )
    assert "needs a reason code" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "new"


def test_a_stale_edit_gets_a_conflict_with_the_newer_state(analyst_client, lead_client) -> None:
    case = make_case()
    stale = case.version
    lead_client.post(reverse("cases:case_escalate", args=[case.pk]), {"version": stale})
    response = analyst_client.post(
        reverse("cases:case_label", args=[case.pk]),
        {"disposition": "true_positive", "version": stale},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "was changed by someone else" in body
    assert "Escalated" in body
    case.refresh_from_db()
    assert case.status == "escalated"


def test_an_analyst_cannot_change_someone_elses_case(analyst_client) -> None:
    case = make_case()
    Case.objects.filter(pk=case.pk).update(assignee=make_user(role="analyst"), status="in_review")
    response = analyst_client.post(
        reverse("cases:case_label", args=[case.pk]),
        {"disposition": "true_positive", "version": case.version},
        follow=True,
    )
    assert "only they or a lead" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "in_review"


def test_hits_can_be_labelled_one_by_one(analyst_client) -> None:
    case = make_case(events=2)
    hit = case.hits.first()
    analyst_client.post(
        reverse("cases:hit_label", args=[case.pk, hit.pk]),
        {"disposition": "false_positive", "reason": "wrong_entity", "version": case.version},
    )
    assert HitLabel.objects.get(hit=hit).reason == "wrong_entity"
    case.refresh_from_db()
    assert case.status == "new" and case.version == 2


def test_comments_are_escaped_and_audited(analyst_client) -> None:
    case = make_case()
    analyst_client.post(
        reverse("cases:case_comment", args=[case.pk]), {"body": "<b>look</b> at this"}
    )
    body = analyst_client.get(case.get_absolute_url()).content.decode()
    assert "&lt;b&gt;look&lt;/b&gt; at this" in body
    assert AuditEntry.objects.filter(action="case.commented", object_id=str(case.pk)).exists()


def test_bulk_actions_confirm_the_count_then_apply(analyst_client, analyst) -> None:
    cases = [make_case(author=f"a{i}") for i in range(3)]
    ids = [c.pk for c in cases]
    data = {"case": ids, "action": "false_positive", "reason": "stale_indicator"}
    confirm = analyst_client.post(reverse("cases:bulk"), data)
    assert "resolve <strong>3 open cases</strong>" in confirm.content.decode()
    assert not Case.objects.filter(status="resolved").exists()
    response = analyst_client.post(reverse("cases:bulk"), {**data, "confirmed": "on"}, follow=True)
    assert "3 case(s) changed" in response.content.decode()
    assert Case.objects.filter(pk__in=ids, status="resolved", reason="stale_indicator").count() == 3


def test_bulk_assign_by_a_lead(lead_client) -> None:
    cases = [make_case(author=f"a{i}") for i in range(2)]
    target = make_user("zoe", role="analyst")
    lead_client.post(
        reverse("cases:bulk"),
        {
            "case": [c.pk for c in cases],
            "action": "assign",
            "assignee": target.pk,
            "confirmed": "on",
        },
    )
    assert Case.objects.filter(assignee=target).count() == 2


def test_saved_views_are_per_user(analyst_client, analyst) -> None:
    response = analyst_client.post(
        reverse("cases:saved_view_create"), {"name": "My P1s", "query": "priority=1&after=xyz"}
    )
    view = SavedView.objects.get(user=analyst)
    assert view.query == "priority=1"
    assert response.url == f"{QUEUE}?priority=1"
    assert "My P1s" in analyst_client.get(QUEUE).content.decode()
    other = make_user(role="analyst")
    from django.test import Client

    client = Client()
    client.force_login(other)
    assert "My P1s" not in client.get(QUEUE).content.decode()
    assert client.post(reverse("cases:saved_view_delete", args=[view.pk])).status_code == 404


def test_red_cases_are_for_cleared_users_only(analyst_client, cleared_client) -> None:
    case = make_case(value="red.example", tlp="RED")
    assert f'data-case="{case.pk}"' not in analyst_client.get(QUEUE).content.decode()
    assert analyst_client.get(case.get_absolute_url()).status_code == 404
    assert f'data-case="{case.pk}"' in cleared_client.get(QUEUE).content.decode()
    assert cleared_client.get(case.get_absolute_url()).status_code == 200
    assert analyst_client.post(reverse("cases:get_next")).url == QUEUE


def test_pages_need_the_right_role(client, nobody, analyst_client) -> None:
    case = make_case()
    client.force_login(nobody)
    for url in [QUEUE, case.get_absolute_url(), reverse("cases:qa_queue")]:
        assert client.get(url).status_code == 403
    assert analyst_client.get(reverse("cases:queue_health")).status_code == 403
    assert analyst_client.get(reverse("cases:triage_settings")).status_code == 403


def test_queue_health_shows_open_work_and_workload(lead_client, analyst) -> None:
    case = make_case()
    Case.objects.filter(pk=case.pk).update(assignee=analyst, status="in_review")
    body = lead_client.get(reverse("cases:queue_health")).content.decode()
    assert 'id="stat-open">1<' in body
    assert "ana" in body


def test_qa_second_review_records_agreement(analyst_client, lead_client, lead) -> None:
    config = TriageConfig.load()
    config.qa_sample_percent = 100
    config.save()
    case = make_case()
    analyst_client.post(
        reverse("cases:case_label", args=[case.pk]),
        {"disposition": "true_positive", "version": case.version, "then": "stay"},
    )
    assert QaReview.objects.filter(case=case).exists()
    form_url = reverse("cases:qa_review", args=[case.pk])
    assert form_url not in analyst_client.get(reverse("cases:qa_queue")).content.decode()
    assert form_url in lead_client.get(reverse("cases:qa_queue")).content.decode()
    lead_client.post(reverse("cases:qa_review", args=[case.pk]), {"disposition": "false_positive"})
    review = QaReview.objects.get(case=case)
    assert (review.reviewer, review.agrees) == (lead, False)
    body = lead_client.get(reverse("cases:qa_queue")).content.decode()
    assert "0%" in body


def test_triage_settings_are_saved_and_audited(lead_client) -> None:
    response = lead_client.post(
        reverse("cases:triage_settings"),
        {
            "sla_hours_p1": 2,
            "sla_hours_p2": 12,
            "sla_hours_p3": 48,
            "sla_hours_p4": 100,
            "qa_sample_percent": 10,
        },
    )
    assert response.status_code == 302
    assert TriageConfig.load().sla_hours_p1 == 2
    entry = AuditEntry.objects.get(action="triage_settings.saved")
    assert entry.changes["sla_hours_p1"] == [4, 2]
