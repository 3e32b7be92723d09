"""Triage: claiming (and the claim race), labelling cases and hits, QA sampling and review,
escalating, assigning, priority and SLA, comments, bulk actions, and the priority rules.

Tests marked ``(see the comment on each).
"""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from cases.bulk import bulk_action
from cases.models import Case, CaseComment, HitLabel, QaReview, ReasonCode, TriageConfig
from cases.priority import hit_priority, sla_due
from cases.triage import (
    Conflict,
    TriageError,
    add_comment,
    assign,
    claim_next,
    escalate,
    label_case,
    label_hit,
    set_priority,
    submit_qa_review,
)
from detection.models import Hit, Rule
from detection.scan import scan_events
from tdp.models import AuditEntry
from tests.factories import (
    make_case,
    make_content_event,
    make_indicator,
    make_rule,
    make_source,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_qa_sampling(db) -> None:
    """Sampling is random at the default 5%; tests that need it turn it on."""
    set_qa_sample(0)


def set_qa_sample(percent: int) -> None:
    config = TriageConfig.load()
    config.qa_sample_percent = percent
    config.save()


def fresh(case: Case) -> Case:
    return Case.objects.select_related("assignee", "resolved_by").get(pk=case.pk)


def entries(case: Case, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_id=str(case.pk)).order_by("id"))


def urgency(case: Case, priority: int, due_in_hours: float) -> None:
    Case.objects.filter(pk=case.pk).update(
        priority=priority, sla_due_at=timezone.now() + timedelta(hours=due_in_hours)
    )


def resolve(case: Case, disposition: str = "true_positive") -> None:
    Case.objects.filter(pk=case.pk).update(status="resolved", disposition=disposition)


# --- claim_next ---------------------------------------------------------------------------------


def test_claim_next_takes_the_most_urgent_priority_first(analyst) -> None:
    p3 = make_case(author="a1")
    p2_late = make_case(author="a2")
    p2_early = make_case(author="a3")
    urgency(p3, 3, 1)
    urgency(p2_late, 2, 10)
    urgency(p2_early, 2, 5)
    assert claim_next(analyst).pk == p2_early.pk
    assert claim_next(analyst).pk == p2_late.pk
    assert claim_next(analyst).pk == p3.pk


def test_claim_next_breaks_a_priority_and_sla_tie_by_id(analyst) -> None:
    first, second = make_case(author="a1"), make_case(author="a2")
    due = timezone.now() + timedelta(hours=3)
    Case.objects.filter(pk__in=[first.pk, second.pk]).update(priority=2, sla_due_at=due)
    assert claim_next(analyst).pk == min(first.pk, second.pk)


def test_claim_next_sets_assignee_status_first_touch_version_and_audits(analyst) -> None:
    case = make_case()
    assert case.first_touched_at is None
    claimed = claim_next(analyst)
    case = fresh(case)
    assert claimed.pk == case.pk
    assert case.assignee == analyst
    assert case.status == Case.Status.IN_REVIEW
    assert case.first_touched_at is not None
    assert case.version == 2
    (entry,) = entries(case, "case.claimed")
    assert entry.user == analyst
    assert entry.user_name == "ana"
    assert entry.changes == {
        "status": ["new", "in_review"],
        "assignee_id": [None, analyst.pk],
    }


def test_claim_next_passes_over_assigned_escalated_and_resolved_cases(analyst, lead) -> None:
    assigned, escalated, resolved, waiting = (make_case(author=a) for a in ("a1", "a2", "a3", "a4"))
    for case in (assigned, escalated, resolved):
        urgency(case, 1, 1)
    urgency(waiting, 4, 100)
    Case.objects.filter(pk=assigned.pk).update(assignee=lead, status="in_review")
    Case.objects.filter(pk=escalated.pk).update(status="escalated")
    resolve(resolved)
    assert claim_next(analyst).pk == waiting.pk


def test_claim_next_returns_none_when_nothing_is_claimable(analyst) -> None:
    assert claim_next(analyst) is None
    case = make_case()
    claim_next(analyst)
    assert claim_next(analyst) is None
    assert fresh(case).version == 2
    assert len(entries(case, "case.claimed")) == 1


def test_claim_next_skips_restricted_cases_for_an_uncleared_analyst(analyst) -> None:
    red = make_case(author="a1", tlp="RED")
    green = make_case(author="a2", tlp="GREEN")
    assert (red.is_restricted, green.is_restricted) == (True, False)
    urgency(red, 1, 1)
    urgency(green, 4, 100)
    assert claim_next(analyst).pk == green.pk
    assert claim_next(analyst) is None
    assert fresh(red).assignee is None


def test_claim_next_gives_a_restricted_case_to_a_cleared_analyst(cleared_analyst) -> None:
    red = make_case(author="a1", tlp="RED")
    green = make_case(author="a2", tlp="GREEN")
    urgency(red, 1, 1)
    urgency(green, 4, 100)
    assert claim_next(cleared_analyst).pk == red.pk
    assert fresh(red).assignee == cleared_analyst


def test_claim_next_refuses_a_user_without_a_role(nobody) -> None:
    case = make_case()
    with pytest.raises(PermissionDenied):
        claim_next(nobody)
    assert fresh(case).assignee is None


# --- The claim race (real transactions, one connection per thread) -------------------------------


def claim_at_once(users: list) -> list[int | None]:
    """Each user calls claim_next on a thread of its own, released together by a barrier."""
    barrier = threading.Barrier(len(users))
    claimed: list[int | None] = [None] * len(users)
    errors: list[BaseException] = []

    def claim(index: int, user) -> None:
        try:
            barrier.wait(timeout=10)
            case = claim_next(user)
            claimed[index] = case and case.pk
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i, u)) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a claim hung"
    assert not errors, errors
    return claimed


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_analysts_claiming_at_once_get_different_cases() -> None:
    ana, bob = make_user("ana"), make_user("bob")
    cases = {make_case(author="a1").pk, make_case(author="a2").pk}
    claimed = claim_at_once([ana, bob])
    assert set(claimed) == cases
    assignees = dict(Case.objects.values_list("pk", "assignee__username"))
    assert (assignees[claimed[0]], assignees[claimed[1]]) == ("ana", "bob")
    assert AuditEntry.objects.filter(action="case.claimed").count() == 2
    assert set(Case.objects.values_list("status", "version")) == {("in_review", 2)}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_analysts_racing_for_one_case_one_gets_it_and_the_other_none() -> None:
    ana, bob = make_user("ana"), make_user("bob")
    for round_ in range(5):
        case = make_case(author=f"race{round_}")
        claimed = claim_at_once([ana, bob])
        assert sorted(claimed, key=lambda pk: pk is None) == [case.pk, None], round_
        winner = ana if claimed[0] else bob
        case = fresh(case)
        assert (case.assignee, case.status, case.version) == (winner, "in_review", 2)
        assert len(entries(case, "case.claimed")) == 1


# --- label_case ----------------------------------------------------------------------------------


def test_labelling_a_case_resolves_it(analyst) -> None:
    case = make_case(events=2)
    label_case(case.pk, user=analyst, disposition="true_positive", note="phishing kit", version=1)
    case = fresh(case)
    assert case.status == Case.Status.RESOLVED
    assert (case.disposition, case.reason, case.note) == ("true_positive", "", "phishing kit")
    assert case.resolved_by == analyst
    assert case.resolved_at is not None
    assert case.assignee == analyst  # an unassigned case is the labeller's
    assert case.version == 2
    assert not case.is_open


def test_labelling_a_case_labels_every_hit_with_rule_indicator_and_sources(analyst) -> None:
    feed_a, feed_b = make_source("feed a"), make_source("feed b")
    indicator = make_indicator("evil.example", sources=(feed_b, feed_a))
    case = make_case(indicator=indicator, events=2)
    label_case(case.pk, user=analyst, disposition="false_positive", reason="benign_site")
    labels = list(HitLabel.objects.filter(case=case).order_by("hit_id"))
    assert [label.hit_id for label in labels] == sorted(case.hits.values_list("pk", flat=True))
    rule = Rule.objects.get(name="Known-bad intel")
    for label in labels:
        assert label.disposition == "false_positive"
        assert (label.reason, label.note) == ("benign_site", "")
        assert label.rule == rule
        assert label.indicator == indicator
        assert (label.indicator_type, label.indicator_value) == ("domain", "evil.example")
        assert label.source_ids == sorted([feed_a.pk, feed_b.pk])
        assert label.labelled_by == analyst


def test_labelling_a_case_keeps_hits_labelled_one_by_one(analyst) -> None:
    case = make_case(events=3)
    first, *others = case.hits.order_by("pk")
    label_hit(first.pk, user=analyst, disposition="false_positive", reason="wrong_entity")
    label_case(case.pk, user=analyst, disposition="true_positive")
    labels = dict(HitLabel.objects.filter(case=case).values_list("hit_id", "disposition"))
    assert labels == {
        first.pk: "false_positive",
        **{hit.pk: "true_positive" for hit in others},
    }
    assert HitLabel.objects.get(hit=first).reason == "wrong_entity"


def test_a_false_positive_needs_a_reason(analyst) -> None:
    case = make_case()
    with pytest.raises(TriageError, match="needs a reason code"):
        label_case(case.pk, user=analyst, disposition="false_positive")
    assert fresh(case).status == Case.Status.NEW
    assert not HitLabel.objects.exists()


def test_an_unknown_reason_code_is_refused_naming_the_valid_ones(analyst) -> None:
    case = make_case()
    with pytest.raises(TriageError) as caught:
        label_case(case.pk, user=analyst, disposition="false_positive", reason="bored")
    message = str(caught.value)
    assert "'bored'" in message
    for code in ReasonCode.objects.values_list("code", flat=True):
        assert code in message
    assert fresh(case).status == Case.Status.NEW


def test_an_inactive_reason_code_is_refused(analyst) -> None:
    ReasonCode.objects.filter(code="benign_site").update(is_active=False)
    case = make_case()
    with pytest.raises(TriageError, match="unknown reason code 'benign_site'"):
        label_case(case.pk, user=analyst, disposition="false_positive", reason="benign_site")


def test_the_other_reason_needs_a_note(analyst) -> None:
    case = make_case()
    for note in ("", "   "):
        with pytest.raises(TriageError, match="needs a note"):
            label_case(
                case.pk, user=analyst, disposition="false_positive", reason="other", note=note
            )
    assert fresh(case).status == Case.Status.NEW
    label_case(
        case.pk, user=analyst, disposition="false_positive", reason="other", note="a test post"
    )
    assert (fresh(case).reason, fresh(case).note) == ("other", "a test post")


def test_an_unknown_disposition_is_refused(analyst) -> None:
    case = make_case()
    with pytest.raises(TriageError, match="disposition must be one of"):
        label_case(case.pk, user=analyst, disposition="maybe")


def test_labelling_from_a_stale_version_is_a_conflict_and_changes_nothing(analyst) -> None:
    case = make_case()
    claim_next(analyst)  # now version 2
    with pytest.raises(Conflict) as caught:
        label_case(case.pk, user=analyst, disposition="true_positive", version=1)
    assert caught.value.case.pk == case.pk
    assert caught.value.case.version == 2
    assert caught.value.case.assignee == analyst
    assert "version 2" in str(caught.value)
    case = fresh(case)
    assert (case.status, case.disposition, case.version) == ("in_review", "", 2)
    assert not HitLabel.objects.exists()
    assert entries(case, "case.labelled") == []


def test_an_analyst_cannot_label_someone_elses_case(analyst) -> None:
    case = make_case()
    claim_next(analyst)
    bob = make_user("bob")
    with pytest.raises(PermissionDenied, match="assigned to ana"):
        label_case(case.pk, user=bob, disposition="true_positive")
    assert fresh(case).status == Case.Status.IN_REVIEW
    assert not HitLabel.objects.exists()


def test_a_lead_may_label_an_analysts_case(analyst, lead) -> None:
    case = make_case()
    claim_next(analyst)
    label_case(case.pk, user=lead, disposition="duplicate", version=2)
    case = fresh(case)
    assert (case.status, case.disposition) == ("resolved", "duplicate")
    assert case.resolved_by == lead
    assert case.assignee == analyst  # the lead resolved it; it stays the analyst's case


def test_a_user_without_a_role_cannot_label_an_unassigned_case(nobody) -> None:
    case = make_case()
    with pytest.raises(PermissionDenied):
        label_case(case.pk, user=nobody, disposition="true_positive")
    assert fresh(case).status == Case.Status.NEW


def test_a_resolved_case_may_be_relabelled_and_both_labels_are_audited(analyst) -> None:
    case = make_case()
    label_case(case.pk, user=analyst, disposition="true_positive", version=1)
    label_case(case.pk, user=analyst, disposition="false_positive", reason="benign_site", version=2)
    case = fresh(case)
    assert (case.disposition, case.reason, case.version) == ("false_positive", "benign_site", 3)
    first, second = entries(case, "case.labelled")
    assert first.changes["disposition"] == ["", "true_positive"]
    assert second.changes == {
        "disposition": ["true_positive", "false_positive"],
        "reason": ["", "benign_site"],
    }
    assert second.user == analyst


def test_relabelling_a_case_corrects_the_labels_it_gave_its_hits(analyst) -> None:
    case = make_case(events=2)
    label_case(case.pk, user=analyst, disposition="true_positive")
    label_case(case.pk, user=analyst, disposition="false_positive", reason="benign_site")
    labels = set(HitLabel.objects.filter(case=case).values_list("disposition", "reason"))
    assert labels == {("false_positive", "benign_site")}


def test_labelling_writes_an_audit_entry_with_the_changes(analyst) -> None:
    case = make_case()
    label_case(
        case.pk,
        user=analyst,
        disposition="false_positive",
        reason="other",
        note="security researcher",
    )
    (entry,) = entries(case, "case.labelled")
    assert entry.user == analyst
    assert entry.object_repr == f"Case {case.pk}"
    assert entry.note == "security researcher"
    assert entry.changes == {
        "status": ["new", "resolved"],
        "disposition": ["", "false_positive"],
        "reason": ["", "other"],
        "note": ["", "security researcher"],
        "assignee_id": [None, analyst.pk],
    }


# --- QA sampling and second review ------------------------------------------------------------


def test_a_labelled_case_is_sampled_for_qa_at_100_percent(analyst) -> None:
    set_qa_sample(100)
    case = make_case()
    label_case(case.pk, user=analyst, disposition="true_positive")
    case = fresh(case)
    assert case.qa_status == Case.QaStatus.PENDING
    review = QaReview.objects.get(case=case)
    assert review.original_disposition == "true_positive"
    assert review.original_analyst == analyst
    assert (review.reviewer, review.agrees, review.reviewed_at) == (None, None, None)
    (entry,) = entries(case, "case.labelled")
    assert entry.changes["qa_status"] == ["", "pending"]


def test_no_case_is_sampled_for_qa_at_0_percent(analyst) -> None:
    set_qa_sample(0)
    cases = [make_case(author=f"a{i}") for i in range(5)]
    for case in cases:
        label_case(case.pk, user=analyst, disposition="true_positive")
    assert set(Case.objects.values_list("qa_status", flat=True)) == {""}
    assert not QaReview.objects.exists()


def test_relabelling_a_sampled_case_does_not_sample_it_twice(analyst) -> None:
    set_qa_sample(100)
    case = make_case()
    label_case(case.pk, user=analyst, disposition="true_positive")
    label_case(case.pk, user=analyst, disposition="duplicate")
    assert QaReview.objects.filter(case=case).count() == 1
    assert fresh(case).qa_status == Case.QaStatus.PENDING


def sampled_case(analyst, disposition: str = "true_positive", **label) -> Case:
    set_qa_sample(100)
    case = make_case()
    label_case(case.pk, user=analyst, disposition=disposition, **label)
    return fresh(case)


def test_a_second_review_that_agrees_is_recorded(analyst) -> None:
    case = sampled_case(analyst)
    bob = make_user("bob")
    review = submit_qa_review(case.pk, user=bob, disposition="true_positive", note="agreed")
    review.refresh_from_db()
    assert review.reviewer == bob
    assert (review.disposition, review.agrees, review.note) == ("true_positive", True, "agreed")
    assert review.reviewed_at is not None
    after = fresh(case)
    assert after.qa_status == Case.QaStatus.REVIEWED
    assert after.version == case.version + 1
    assert after.disposition == "true_positive"  # the review does not change the verdict
    (entry,) = entries(case, "case.qa_reviewed")
    assert entry.user == bob
    assert entry.changes == {"qa_status": ["pending", "reviewed"], "agrees": [None, True]}


def test_a_second_review_that_disagrees_is_recorded(analyst, lead) -> None:
    case = sampled_case(analyst, "false_positive", reason="stale_indicator")
    review = submit_qa_review(case.pk, user=lead, disposition="true_positive")
    assert QaReview.objects.get(pk=review.pk).agrees is False
    assert entries(case, "case.qa_reviewed")[0].changes["agrees"] == [None, False]


def test_the_original_analyst_cannot_second_review(analyst) -> None:
    case = sampled_case(analyst)
    with pytest.raises(TriageError, match="by someone else"):
        submit_qa_review(case.pk, user=analyst, disposition="true_positive")
    assert QaReview.objects.get(case=case).reviewed_at is None
    assert fresh(case).qa_status == Case.QaStatus.PENDING


def test_a_case_not_sampled_cannot_be_second_reviewed(analyst, lead) -> None:
    case = make_case()
    label_case(case.pk, user=analyst, disposition="true_positive")
    with pytest.raises(TriageError, match="not waiting for a second review"):
        submit_qa_review(case.pk, user=lead, disposition="true_positive")
    assert not QaReview.objects.exists()


def test_a_case_cannot_be_second_reviewed_twice(analyst, lead) -> None:
    case = sampled_case(analyst)
    submit_qa_review(case.pk, user=lead, disposition="true_positive")
    with pytest.raises(TriageError, match="not waiting for a second review"):
        submit_qa_review(case.pk, user=make_user("bob"), disposition="duplicate")
    assert QaReview.objects.get(case=case).reviewer == lead


def test_a_second_review_needs_a_valid_disposition(analyst, lead) -> None:
    case = sampled_case(analyst)
    with pytest.raises(TriageError, match="disposition must be one of"):
        submit_qa_review(case.pk, user=lead, disposition="meh")


# --- label_hit -----------------------------------------------------------------------------------


def test_labelling_one_hit_labels_only_it_and_bumps_the_case_version(analyst) -> None:
    source = make_source("feed")
    indicator = make_indicator("evil.example", sources=(source,))
    case = make_case(indicator=indicator, events=2)
    hit, other = case.hits.order_by("pk")
    label = label_hit(
        hit.pk, user=analyst, disposition="false_positive", reason="news_or_research", version=1
    )
    label = HitLabel.objects.get(pk=label.pk)
    assert (label.hit_id, label.case_id) == (hit.pk, case.pk)
    assert (label.disposition, label.reason) == ("false_positive", "news_or_research")
    assert (label.indicator_type, label.indicator_value) == ("domain", "evil.example")
    assert label.source_ids == [source.pk]
    assert label.labelled_by == analyst
    assert not HitLabel.objects.filter(hit=other).exists()
    case = fresh(case)
    assert case.version == 2
    assert (case.status, case.disposition, case.assignee) == ("new", "", None)


def test_relabelling_a_hit_replaces_its_label(analyst) -> None:
    case = make_case()
    (hit,) = case.hits.all()
    label_hit(hit.pk, user=analyst, disposition="true_positive")
    label_hit(hit.pk, user=analyst, disposition="inconclusive", note="unclear", version=2)
    label = HitLabel.objects.get(hit=hit)
    assert (label.disposition, label.note) == ("inconclusive", "unclear")
    assert fresh(case).version == 3
    last = entries(case, "hit.labelled")[-1]
    assert last.changes == {"hit": [None, hit.pk], "disposition": ["true_positive", "inconclusive"]}


def test_labelling_a_hit_from_a_stale_version_is_a_conflict(analyst) -> None:
    case = make_case()
    (hit,) = case.hits.all()
    claim_next(analyst)
    with pytest.raises(Conflict) as caught:
        label_hit(hit.pk, user=analyst, disposition="true_positive", version=1)
    assert caught.value.case.version == 2
    assert not HitLabel.objects.exists()
    assert fresh(case).version == 2


def test_a_hit_in_no_case_cannot_be_labelled(analyst) -> None:
    Rule.objects.update(is_enabled=False)
    make_rule("shadow", mode=Rule.Mode.SHADOW)
    make_indicator("evil.example")
    scan_events([make_content_event("see evil.example")], dry_run=False)
    hit = Hit.objects.get()
    assert hit.case_id is None
    with pytest.raises(TriageError, match="in no case"):
        label_hit(hit.pk, user=analyst, disposition="true_positive")
    assert not HitLabel.objects.exists()


def test_an_unknown_hit_cannot_be_labelled(analyst) -> None:
    with pytest.raises(Hit.DoesNotExist):
        label_hit(10**9, user=analyst, disposition="true_positive")


def test_labelling_a_hit_in_someone_elses_case_is_refused(analyst) -> None:
    case = make_case()
    (hit,) = case.hits.all()
    claim_next(analyst)
    with pytest.raises(PermissionDenied):
        label_hit(hit.pk, user=make_user("bob"), disposition="true_positive")
    assert not HitLabel.objects.exists()


def test_labelling_a_hit_writes_one_audit_entry_naming_the_hit(analyst) -> None:
    case = make_case(value="evil.example")
    (hit,) = case.hits.all()
    label_hit(hit.pk, user=analyst, disposition="true_positive")
    (entry,) = entries(case, "hit.labelled")
    assert entry.changes == {"hit": [None, hit.pk], "disposition": [None, "true_positive"]}
    assert entry.note == f"hit {hit.pk} (domain evil.example)"


# --- escalate ------------------------------------------------------------------------------------


def test_escalating_sends_the_case_to_the_leads_with_the_note_as_a_comment(analyst) -> None:
    case = make_case()
    claim_next(analyst)
    escalate(case.pk, user=analyst, note="looks coordinated", version=2)
    case = fresh(case)
    assert (case.status, case.assignee, case.version) == ("escalated", analyst, 3)
    comment = CaseComment.objects.get(case=case)
    assert (comment.author, comment.body) == (analyst, "looks coordinated")
    (entry,) = entries(case, "case.escalated")
    assert entry.changes == {"status": ["in_review", "escalated"]}
    assert entry.note == "looks coordinated"


def test_escalating_without_a_note_adds_no_comment(analyst) -> None:
    case = make_case()
    escalate(case.pk, user=analyst)
    assert fresh(case).status == Case.Status.ESCALATED
    assert not CaseComment.objects.exists()


def test_a_resolved_case_cannot_be_escalated(analyst) -> None:
    case = make_case()
    label_case(case.pk, user=analyst, disposition="true_positive")
    with pytest.raises(TriageError, match="cannot be escalated"):
        escalate(case.pk, user=analyst, note="hm")
    assert fresh(case).status == Case.Status.RESOLVED
    assert not CaseComment.objects.exists()


def test_escalating_from_a_stale_version_is_a_conflict(analyst) -> None:
    case = make_case()
    claim_next(analyst)
    with pytest.raises(Conflict):
        escalate(case.pk, user=analyst, version=1)
    assert fresh(case).status == Case.Status.IN_REVIEW


# --- assign --------------------------------------------------------------------------------------


def test_a_lead_assigns_a_new_case_to_an_analyst(analyst, lead) -> None:
    case = make_case()
    assign(case.pk, user=lead, assignee=analyst, version=1)
    case = fresh(case)
    assert (case.assignee, case.status, case.version) == (analyst, "in_review", 2)
    (entry,) = entries(case, "case.assigned")
    assert entry.user == lead
    assert entry.changes == {"status": ["new", "in_review"], "assignee_id": [None, analyst.pk]}


def test_a_lead_reassigns_a_case_from_one_analyst_to_another(analyst, lead) -> None:
    case = make_case()
    claim_next(analyst)
    bob = make_user("bob")
    assign(case.pk, user=lead, assignee=bob)
    case = fresh(case)
    assert (case.assignee, case.status) == (bob, "in_review")


def test_unassigning_returns_a_case_in_review_to_the_queue(analyst, cleared_analyst) -> None:
    case = make_case()
    claim_next(analyst)
    assign(case.pk, user=analyst, assignee=None, version=2)
    case = fresh(case)
    assert (case.assignee, case.status, case.version) == (None, "new", 3)
    assert claim_next(cleared_analyst).pk == case.pk


def test_unassigning_an_escalated_case_keeps_it_escalated(analyst, lead) -> None:
    case = make_case()
    claim_next(analyst)
    escalate(case.pk, user=analyst)
    assign(case.pk, user=lead, assignee=None)
    case = fresh(case)
    assert (case.assignee, case.status) == (None, "escalated")


def test_a_case_cannot_be_assigned_to_a_user_without_the_analyst_role(lead, nobody) -> None:
    case = make_case()
    with pytest.raises(TriageError, match="nemo is not an analyst"):
        assign(case.pk, user=lead, assignee=nobody)
    case = fresh(case)
    assert (case.assignee, case.status, case.version) == (None, "new", 1)


def test_a_resolved_case_cannot_be_reassigned(analyst, lead) -> None:
    case = make_case()
    label_case(case.pk, user=analyst, disposition="true_positive")
    with pytest.raises(TriageError, match="cannot be reassigned"):
        assign(case.pk, user=lead, assignee=lead)
    assert fresh(case).assignee == analyst


def test_an_analyst_cannot_take_someone_elses_case_by_assigning_it(analyst) -> None:
    case = make_case()
    claim_next(analyst)
    bob = make_user("bob")
    with pytest.raises(PermissionDenied):
        assign(case.pk, user=bob, assignee=bob)
    assert fresh(case).assignee == analyst


# --- set_priority --------------------------------------------------------------------------------


def test_setting_the_priority_moves_the_sla_due_time(lead) -> None:
    config = TriageConfig.load()
    config.sla_hours_p1 = 1
    config.save()
    case = make_case()
    assert case.priority == 3  # medium rule, confidence 50
    set_priority(case.pk, user=lead, priority=1, version=1)
    case = fresh(case)
    assert case.priority == 1
    assert case.sla_due_at == case.created_at + timedelta(hours=1)
    assert case.version == 2
    (entry,) = entries(case, "case.priority_set")
    assert entry.changes == {"priority": [3, 1]}


def test_lowering_the_priority_extends_the_sla(analyst) -> None:
    case = make_case()
    set_priority(case.pk, user=analyst, priority=4)
    case = fresh(case)
    assert case.sla_due_at == case.created_at + timedelta(hours=168)


def test_setting_the_priority_from_a_stale_version_is_a_conflict(analyst, lead) -> None:
    case = make_case()
    claim_next(analyst)
    before = fresh(case)
    with pytest.raises(Conflict):
        set_priority(case.pk, user=lead, priority=1, version=1)
    after = fresh(case)
    assert (after.priority, after.sla_due_at) == (before.priority, before.sla_due_at)


def test_a_resolved_cases_priority_cannot_be_changed(analyst, lead) -> None:
    case = make_case()
    label_case(case.pk, user=analyst, disposition="true_positive")
    with pytest.raises(TriageError):
        set_priority(case.pk, user=lead, priority=1)
    assert fresh(case).priority == 3


@pytest.mark.parametrize("priority", [0, 5])
def test_a_priority_outside_p1_to_p4_is_refused(lead, priority: int) -> None:
    case = make_case()
    with pytest.raises(TriageError):
        set_priority(case.pk, user=lead, priority=priority)
    assert fresh(case).priority == 3


# --- add_comment ---------------------------------------------------------------------------------


def test_a_comment_is_stored_stripped_and_audited(analyst) -> None:
    case = make_case()
    comment = add_comment(case.pk, user=analyst, body="  checked the domain  \n")
    comment = CaseComment.objects.get(pk=comment.pk)
    assert (comment.case_id, comment.author, comment.body) == (
        case.pk,
        analyst,
        "checked the domain",
    )
    (entry,) = entries(case, "case.commented")
    assert (entry.user, entry.note) == (analyst, "checked the domain")
    assert fresh(case).version == 1  # a comment is not a change of the case


def test_an_empty_comment_is_refused(analyst) -> None:
    case = make_case()
    for body in ("", "  \n\t "):
        with pytest.raises(TriageError, match="empty"):
            add_comment(case.pk, user=analyst, body=body)
    assert not CaseComment.objects.exists()
    assert entries(case, "case.commented") == []


def test_anyone_who_sees_a_case_may_comment_even_if_it_is_not_theirs(analyst) -> None:
    case = make_case()
    claim_next(analyst)
    add_comment(case.pk, user=make_user("bob"), body="seen this author before")
    assert CaseComment.objects.get().author.username == "bob"


def test_an_uncleared_analyst_cannot_comment_on_a_restricted_case(analyst) -> None:
    case = make_case(tlp="RED")
    with pytest.raises(Case.DoesNotExist):
        add_comment(case.pk, user=analyst, body="hello")
    assert not CaseComment.objects.exists()


# --- bulk_action ---------------------------------------------------------------------------------


def test_bulk_assign_gives_several_cases_to_an_analyst(analyst, lead) -> None:
    cases = [make_case(author=f"a{i}") for i in range(3)]
    ids = [c.pk for c in cases]
    result = bulk_action([*reversed(ids), ids[0]], user=lead, action="assign", assignee=analyst)
    assert result.changed == sorted(ids)
    assert result.skipped == []
    assert set(Case.objects.values_list("assignee", "status")) == {(analyst.pk, "in_review")}
    assert AuditEntry.objects.filter(action="case.assigned").count() == 3


def test_bulk_false_positive_resolves_every_case_with_the_reason(analyst) -> None:
    cases = [make_case(author=f"a{i}", events=2) for i in range(2)]
    result = bulk_action(
        [c.pk for c in cases], user=analyst, action="false_positive", reason="stale_indicator"
    )
    assert result.changed == sorted(c.pk for c in cases)
    for case in cases:
        case = fresh(case)
        assert (case.status, case.disposition, case.reason) == (
            "resolved",
            "false_positive",
            "stale_indicator",
        )
        assert case.resolved_by == analyst
    assert set(HitLabel.objects.values_list("disposition", "reason")) == {
        ("false_positive", "stale_indicator")
    }
    assert HitLabel.objects.count() == 4


def test_bulk_false_positive_skips_someone_elses_case_for_an_analyst(analyst) -> None:
    mine, theirs = make_case(author="a1"), make_case(author="a2")
    bob = make_user("bob")
    assign(theirs.pk, user=bob, assignee=bob)
    result = bulk_action(
        [mine.pk, theirs.pk], user=analyst, action="false_positive", reason="benign_site"
    )
    assert result.changed == [mine.pk]
    ((skipped_id, why),) = result.skipped
    assert skipped_id == theirs.pk
    assert "assigned to bob" in why
    assert fresh(theirs).status == Case.Status.IN_REVIEW
    assert fresh(mine).status == Case.Status.RESOLVED


def test_bulk_duplicate_skips_a_case_already_resolved(analyst) -> None:
    done, open_ = make_case(author="a1"), make_case(author="a2")
    label_case(done.pk, user=analyst, disposition="true_positive")
    result = bulk_action([done.pk, open_.pk], user=analyst, action="duplicate")
    assert result.changed == [open_.pk]
    assert result.skipped == [(done.pk, "already resolved")]
    assert fresh(done).disposition == "true_positive"
    assert fresh(open_).disposition == "duplicate"


def test_bulk_actions_skip_cases_the_user_may_not_see(analyst) -> None:
    red = make_case(author="a1", tlp="RED")
    result = bulk_action([red.pk, 10**9], user=analyst, action="duplicate")
    assert result.changed == []
    assert result.skipped == [(red.pk, "not found"), (10**9, "not found")]
    assert fresh(red).status == Case.Status.NEW


def test_an_unknown_bulk_action_is_refused(lead) -> None:
    case = make_case()
    with pytest.raises(TriageError, match="unknown bulk action 'delete'"):
        bulk_action([case.pk], user=lead, action="delete")
    assert fresh(case).version == 1


def test_bulk_false_positive_without_a_reason_changes_nothing(analyst) -> None:
    cases = [make_case(author=f"a{i}") for i in range(2)]
    with pytest.raises(TriageError, match="needs a reason code"):
        bulk_action([c.pk for c in cases], user=analyst, action="false_positive")
    assert set(Case.objects.values_list("status", "version")) == {("new", 1)}
    assert not HitLabel.objects.exists()
    assert not AuditEntry.objects.filter(action="case.labelled").exists()


# --- priority rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "doubtful", "plain", "confident"),
    [
        ("critical", 2, 1, 1),
        ("high", 3, 2, 1),
        ("medium", 4, 3, 2),
        ("low", 4, 4, 3),
        ("info", 4, 4, 3),
        ("unknown-severity", 4, 3, 2),  # an unknown severity counts as medium
    ],
)
def test_hit_priority_table(severity: str, doubtful: int, plain: int, confident: int) -> None:
    assert hit_priority(severity, 10) == doubtful
    assert hit_priority(severity, 60) == plain
    assert hit_priority(severity, 100) == confident


@pytest.mark.parametrize(
    ("confidence", "priority"), [(0, 4), (39, 4), (40, 3), (79, 3), (80, 2), (100, 2)]
)
def test_hit_priority_confidence_boundaries(confidence: int, priority: int) -> None:
    assert hit_priority("medium", confidence) == priority


def test_sla_due_uses_each_priority_hours_from_the_stored_config() -> None:
    config = TriageConfig.load()
    config.sla_hours_p1, config.sla_hours_p2 = 1, 8
    config.sla_hours_p3, config.sla_hours_p4 = 48, 240
    config.save()
    opened = timezone.now()
    hours = {priority: sla_due(opened, priority) - opened for priority in (1, 2, 3, 4)}
    assert hours == {p: timedelta(hours=h) for p, h in {1: 1, 2: 8, 3: 48, 4: 240}.items()}


def test_sla_due_prefers_a_config_passed_in_over_the_stored_one() -> None:
    opened = timezone.now()
    assert sla_due(opened, 2, TriageConfig(sla_hours_p2=3)) == opened + timedelta(hours=3)
    assert sla_due(opened, 2) == opened + timedelta(hours=24)


def test_sla_due_creates_the_default_config_when_it_is_missing() -> None:
    TriageConfig.objects.all().delete()
    opened = timezone.now()
    assert sla_due(opened, 3) == opened + timedelta(hours=72)
    assert TriageConfig.objects.get().pk == 1


def test_a_new_case_is_due_by_the_configured_hours_for_its_priority() -> None:
    config = TriageConfig.load()
    config.sla_hours_p2 = 6
    config.save()
    case = make_case(confidence=90)  # medium rule, confident indicator: P2
    assert case.priority == 2
    assert case.sla_due_at == case.created_at + timedelta(hours=6)
