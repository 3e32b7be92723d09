"""The outbox drains a claimed batch set-wise: each event still gets its own run, outcome and
audit trail; a run that fails does not hold back the others; an unexpected error falls back to
one event at a time; the SQL a batch needs does not grow with its size.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automation import outbox
from automation.enrichers.history import indicator_histories
from automation.models import AutomationEvent, AutomationSettings, Enrichment, PlaybookRun
from automation.playbooks import runner, save_playbook
from cases import triage
from cases.models import Case
from tdp.models import AuditEntry
from tests.factories import make_case, make_user
from tests.httpserver import LocalHTTPServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _automation(settings) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = True
    settings.TDP_ENRICH_ON_TRIGGER = False
    settings.TDP_WEBHOOK_BACKOFF = 0.01
    outbox.forget_consumers()


def three_steps(url: str) -> None:
    save_playbook(
        {
            "name": "triage wave",
            "trigger": "case_created",
            "actions": [
                {"type": "set_priority", "priority": "P1"},
                {"type": "tag", "tags": ["Wave"]},
                {"type": "webhook", "url": url, "body": {"case": "{{ case.id }}"}},
            ],
        },
        actor="test",
    )


def test_each_case_of_a_batch_gets_its_own_run_and_a_failure_stays_with_its_case() -> None:
    with LocalHTTPServer() as server:
        server.route("/hook/good", json={"ok": True})
        server.route("/hook/bad", status=400)
        # The receiver's path depends on the case: the author "bad" gets a 400.
        three_steps(
            server.url("/hook/") + "{% if case.author_id == 'bad' %}bad{% else %}good{% endif %}"
        )
        cases = [make_case(author=name) for name in ("a1", "a2", "bad", "a3", "a4")]
        assert outbox.drain(seconds=30) == 5

        runs = {run.object_id: run for run in PlaybookRun.objects.all()}
        assert len(runs) == 5
        bad = next(c for c in cases if c.author_id == "bad")
        assert runs[bad.pk].status == "failed"
        assert "answered 400" in runs[bad.pk].error
        assert [s["status"] for s in runs[bad.pk].steps] == ["done", "done", "failed"]
        for case in cases:
            case.refresh_from_db()
            assert (case.priority, case.tags) == (1, ["wave"])
            if case.pk != bad.pk:
                assert runs[case.pk].status == "success"
                assert runs[case.pk].first_action_at is not None
                assert [s["status"] for s in runs[case.pk].steps] == ["done"] * 3
            actions = AuditEntry.objects.filter(
                object_id=str(case.pk), user_name="playbook:triage wave"
            )
            assert sorted(actions.values_list("action", flat=True)) == [
                "case.priority_set",
                "case.tagged",
            ]
        keys = [r.headers["idempotency-key"] for r in server.requests]
        assert len(keys) == 5 and len(set(keys)) == 5  # one webhook per case, each its own key
        assert not AutomationEvent.objects.filter(processed_at__isnull=True).exists()


def test_set_wise_steps_check_each_case_like_the_single_action() -> None:
    lead = make_user("lead1", role="lead")
    first, second = make_case(author="a1"), make_case(author="a2")
    results = triage.set_priorities([first.pk, second.pk, 999_999], user="playbook:p1", priority=2)
    assert isinstance(results[999_999], Case.DoesNotExist)
    assert results[first.pk].priority == 2 and results[second.pk].priority == 2
    triage.label_case(first.pk, user=lead, disposition="true_positive")
    resolved = triage.set_priorities([first.pk], user="playbook:p1", priority=1)[first.pk]
    assert isinstance(resolved, triage.TriageError)
    first.refresh_from_db()
    assert first.priority == 2  # a resolved case is left as it was


def test_an_unexpected_error_falls_back_to_one_event_at_a_time(monkeypatch) -> None:
    save_playbook(
        {
            "name": "triage wave",
            "trigger": "case_created",
            "actions": [{"type": "tag", "tags": ["wave"]}],
        },
        actor="test",
    )
    cases = [make_case(author=name) for name in ("a1", "boom", "a2")]
    boom = next(c for c in cases if c.author_id == "boom")
    single_tag, batch_tag = runner.ACTIONS["tag"], runner.BATCH_ACTIONS["tag"]

    def explode_on_boom(action, target):
        if target.obj.pk == boom.pk:
            raise RuntimeError("a bug in an action")
        return single_tag(action, target)

    def explode_batch(actions, targets):
        if any(target.obj.pk == boom.pk for target in targets):
            raise RuntimeError("a bug in an action")
        return batch_tag(actions, targets)

    monkeypatch.setitem(runner.ACTIONS, "tag", explode_on_boom)
    monkeypatch.setitem(runner.BATCH_ACTIONS, "tag", explode_batch)
    assert outbox.drain(seconds=30) == 3

    failed = AutomationEvent.objects.get(object_id=boom.pk)
    assert failed.processed_at is None and "a bug in an action" in failed.error
    for case in cases:
        case.refresh_from_db()
        if case.pk != boom.pk:
            assert case.tags == ["wave"]
            assert PlaybookRun.objects.get(object_id=case.pk).status == "success"
            assert AutomationEvent.objects.get(object_id=case.pk).processed_at is not None
    assert Case.objects.get(pk=boom.pk).tags == []


def test_the_sql_of_a_batch_does_not_grow_with_its_size(settings) -> None:
    settings.TDP_ENRICH_ON_TRIGGER = True
    save_playbook(
        {
            "name": "local steps",
            "trigger": "case_created",
            "actions": [
                {"type": "set_priority", "priority": "P1"},
                {"type": "tag", "tags": ["wave"]},
            ],
        },
        actor="test",
    )

    def queries_to_drain(authors: list[str]) -> int:
        for author in authors:
            make_case(author=author)
        with CaptureQueriesContext(connection) as captured:
            assert outbox.drain(seconds=30) == len(authors)
        return len(captured)

    AutomationSettings.load()  # created on first use: not part of what a batch costs
    small = queries_to_drain([f"s{i}" for i in range(3)])
    large = queries_to_drain([f"l{i}" for i in range(30)])
    assert large == small
    assert Case.objects.filter(priority=1, tags=["wave"]).count() == 33
    assert Enrichment.objects.filter(provider="internal_history").count() == 33


def test_histories_of_a_batch_count_hits_labels_and_cases_per_indicator() -> None:
    lead = make_user("lead1", role="lead")
    first = make_case(author="a1", value="one.example", events=2)
    again = make_case(author="a2", indicator=first.hits.first().indicator)
    other = make_case(author="a3", value="two.example")
    triage.label_case(first.pk, user=lead, disposition="true_positive")
    one, two = first.hits.first().indicator_id, other.hits.first().indicator_id

    found = indicator_histories([one, two, 0])
    assert (found[one]["hits"], found[one]["cases"], found[one]["open_cases"]) == (3, 2, 1)
    assert found[one]["latest_case_ids"] == [again.pk, first.pk]
    assert found[one]["dispositions"] == {"true_positive": 2}
    assert (found[two]["hits"], found[two]["cases"], found[two]["labelled_hits"]) == (1, 1, 0)
    assert found[0] == {
        "hits": 0,
        "first_hit_at": None,
        "last_hit_at": None,
        "sources": [],
        "dispositions": {},
        "labelled_hits": 0,
        "cases": 0,
        "open_cases": 0,
        "latest_case_ids": [],
    }


def test_two_events_of_one_trigger_object_in_a_batch_act_once() -> None:
    with LocalHTTPServer() as server:
        server.route("/hook", json={})
        save_playbook(
            {
                "name": "once",
                "trigger": "case_created",
                "actions": [
                    {"type": "tag", "tags": ["x"]},
                    {"type": "webhook", "url": server.url("/hook")},
                ],
            },
            actor="test",
        )
        case = make_case()
        outbox.emit("case_created", "case", case.pk)  # a second event for the same case
        assert outbox.drain(seconds=30) == 2
        assert len(server.requests) == 1
        run = PlaybookRun.objects.get()
        assert run.status == "success"
        assert AuditEntry.objects.filter(object_id=str(case.pk), action="case.tagged").count() == 1


def test_steps_on_one_case_from_several_events_of_a_batch_all_land() -> None:
    for name, trigger, tag in (
        ("on case", "case_created", "case"),
        ("on hit", "hit_created", "h{{ hit.id }}"),
    ):
        save_playbook(
            {"name": name, "trigger": trigger, "actions": [{"type": "tag", "tags": [tag]}]},
            actor="test",
        )
    outbox.forget_consumers()
    case = make_case(events=2)
    assert outbox.drain(seconds=30) == 3  # one case opened, two hits created
    case.refresh_from_db()
    hit_tags = sorted(f"h{pk}" for pk in case.hits.values_list("pk", flat=True))
    assert case.tags == sorted(["case", *hit_tags])


def test_the_kill_switch_is_read_again_before_anything_leaves(monkeypatch) -> None:
    with LocalHTTPServer() as server:
        server.route("/hook", json={})
        save_playbook(
            {
                "name": "switched off midway",
                "trigger": "case_created",
                "actions": [
                    {"type": "tag", "tags": ["x"]},
                    {"type": "webhook", "url": server.url("/hook")},
                ],
            },
            actor="test",
        )
        batch_tag = runner.BATCH_ACTIONS["tag"]

        def tag_then_switch_off(actions, targets):
            AutomationSettings.objects.update(playbooks_enabled=False)  # an admin, meanwhile
            return batch_tag(actions, targets)

        monkeypatch.setitem(runner.BATCH_ACTIONS, "tag", tag_then_switch_off)
        AutomationSettings.load()
        make_case(author="a1")
        make_case(author="a2")
        outbox.drain(seconds=30)
        assert server.requests == []
        for run in PlaybookRun.objects.all():
            assert run.status == "failed" and "kill switch" in run.error
            assert [s["status"] for s in run.steps] == ["done", "failed"]


def test_the_sql_of_a_batch_of_hits_does_not_grow_with_its_size() -> None:
    save_playbook(
        {
            "name": "hits",
            "trigger": "hit_created",
            "actions": [{"type": "tag", "tags": ["hit"]}],
        },
        actor="test",
    )
    outbox.forget_consumers()
    AutomationSettings.load()

    def queries_to_drain(author: str, events: int) -> int:
        make_case(author=author, events=events)
        with CaptureQueriesContext(connection) as captured:
            outbox.drain(seconds=30)
        return len(captured)

    assert queries_to_drain("few", 2) == queries_to_drain("many", 20)


def test_a_batch_enricher_that_fails_stores_its_error_and_playbooks_still_run(
    settings, monkeypatch
) -> None:
    settings.TDP_ENRICH_ON_TRIGGER = True
    save_playbook(
        {"name": "p", "trigger": "case_created", "actions": [{"type": "tag", "tags": ["x"]}]},
        actor="test",
    )

    def broken(ids):
        raise RuntimeError("history is down")

    monkeypatch.setattr("automation.enrichers.history.indicator_histories", broken)
    case = make_case()
    outbox.drain(seconds=30)
    row = Enrichment.objects.get(provider="internal_history")
    assert "history is down" in row.error
    assert Enrichment.objects.get(provider="url_anatomy").error == ""
    assert PlaybookRun.objects.get(object_id=case.pk).status == "success"
