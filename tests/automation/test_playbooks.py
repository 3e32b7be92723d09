"""Playbooks: the file schema and its errors, conditions, template values, the runner (steps,
resume without repeats, dry runs, kill switches, rate limits), webhooks (HMAC signature,
idempotency key, retries) against a real local server, the outbox and the import/export commands.
"""

import hashlib
import hmac
import io
import json
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from automation import outbox
from automation.models import AutomationEvent, AutomationSettings, Playbook, PlaybookRun
from automation.playbooks import PlaybookError, save_playbook, validate_playbook
from automation.playbooks.context import render
from automation.playbooks.runner import run_playbook
from cases.models import Case
from tdp.models import AuditEntry
from tests.factories import make_case, make_user
from tests.httpserver import LocalHTTPServer, Route

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_urls(settings) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = True
    settings.TDP_ENRICH_ON_TRIGGER = False  # enrichment has its own tests
    settings.TDP_WEBHOOK_BACKOFF = 0.01
    outbox.forget_consumers()


def playbook(**fields) -> Playbook:
    data = {
        "name": "pb",
        "trigger": "case_created",
        "actions": [{"type": "set_priority", "priority": "P1"}],
        **fields,
    }
    return save_playbook(data, actor="test")[0]


def drain() -> int:
    return outbox.drain(seconds=30)


# --- Schema -------------------------------------------------------------------------------


def test_the_documented_example_is_valid() -> None:
    example = {
        "name": "Known-bad domains to takedown",
        "enabled": True,
        "dry_run": False,
        "trigger": "case_created",
        "conditions": {"rule": "Known-bad intel", "indicator_type": ["domain"]},
        "actions": [
            {
                "type": "webhook",
                "url": "https://hooks.example/tdp",
                "secret": "s3cret",
                "body": {"case": "{{ case.id }}", "indicators": "{{ case.indicator_values }}"},
            },
            {"type": "set_priority", "priority": "P1"},
            {"type": "resolve", "disposition": "false_positive", "reason": "allowlisted"},
        ],
    }
    assert validate_playbook(example)["name"] == "Known-bad domains to takedown"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"trigger": "case_opened"}, "unknown trigger 'case_opened'"),
        ({"conditions": {"severity": "high"}}, "unknown condition(s) severity"),
        ({"actions": [{"type": "launch_missiles"}]}, "unknown action 'launch_missiles'"),
        (
            {"actions": [{"type": "webhook", "url": "https://x.example", "sekret": "a"}]},
            "unknown key(s) sekret",
        ),
        ({"actions": [{"type": "set_priority"}]}, "missing key(s) priority"),
        ({"actions": [{"type": "set_priority", "priority": "P9"}]}, "priority is P1-P4"),
        ({"actions": []}, "actions is a non-empty list"),
        ({"actions": [{"type": "notify", "channel": "pager"}]}, "channel is email or chat"),
    ],
)
def test_invalid_playbooks_are_rejected_naming_the_problem(change, message) -> None:
    data = {"name": "x", "trigger": "case_created", "actions": [{"type": "escalate"}], **change}
    with pytest.raises(PlaybookError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_playbook(data)


# --- Templates and conditions -------------------------------------------------------------------


def test_templates_keep_types_for_a_single_value_and_render_text_otherwise() -> None:
    ctx = {"case": {"id": 7, "indicator_values": ["a.example", "b.example"]}}
    body = {
        "case": "{{ case.id }}",
        "list": "{{ case.indicator_values }}",
        "text": "Case {{ case.id }}!",
    }
    assert render(body, ctx) == {"case": 7, "list": ["a.example", "b.example"], "text": "Case 7!"}
    assert render("<b>{{ case.id }}</b>", ctx) == "<b>7</b>"  # JSON, not HTML: no escaping


def test_conditions_must_all_hold() -> None:
    pb = playbook(
        conditions={
            "rule": "Known-bad intel",
            "indicator_type": "domain",
            "tag": "phishing",
            "confidence_min": 80,
        }
    )
    other = save_playbook(
        {
            "name": "urls only",
            "trigger": "case_created",
            "conditions": {"indicator_type": ["url"]},
            "actions": [{"type": "escalate"}],
        },
        actor="test",
    )[0]
    make_case(value="evil.example", tags=["phishing"], confidence=90)
    drain()
    assert PlaybookRun.objects.get(playbook=pb).status == "success"
    skipped = PlaybookRun.objects.get(playbook=other)
    assert skipped.status == "skipped"
    assert skipped.matched["indicator_type"]["found"] == ["domain"]
    assert Case.objects.get().status == "new"


# --- The runner -------------------------------------------------------------------------------


def test_a_case_created_runs_the_actions_in_order_and_records_each_step() -> None:
    pb = playbook(
        actions=[
            {"type": "set_priority", "priority": "P1"},
            {"type": "tag", "tags": ["Auto", "spam-wave"]},
            {"type": "escalate", "note": "auto"},
        ]
    )
    case = make_case()
    assert AutomationEvent.objects.filter(trigger="case_created", object_id=case.pk).exists()
    assert drain() == 1
    run = PlaybookRun.objects.get(playbook=pb)
    assert run.status == "success"
    assert [s["status"] for s in run.steps] == ["done", "done", "done"]
    assert all("duration_ms" in s for s in run.steps)
    case.refresh_from_db()
    assert (case.priority, case.tags, case.status) == (1, ["auto", "spam-wave"], "escalated")
    names = set(
        AuditEntry.objects.filter(object_id=str(case.pk)).values_list("user_name", flat=True)
    )
    assert "playbook:pb" in names  # the actions are audited as the playbook


def test_auto_resolve_as_false_positive_suppresses_known_noise() -> None:
    playbook(
        actions=[{"type": "resolve", "disposition": "false_positive", "reason": "benign_site"}]
    )
    case = make_case()
    drain()
    case.refresh_from_db()
    assert (case.status, case.disposition, case.reason) == (
        "resolved",
        "false_positive",
        "benign_site",
    )
    assert case.hit_labels.filter(disposition="false_positive").count() == 1
    assert case.qa_status == ""  # automation's labels are not sampled for human QA


def test_a_run_resumes_after_its_last_finished_step_and_never_repeats(settings) -> None:
    with LocalHTTPServer() as server:
        server.route("/hook", json={"ok": True})
        pb = playbook(
            actions=[
                {"type": "webhook", "url": server.url("/hook")},
                {"type": "assign", "user": "nobody-here"},
            ]
        )
        case = make_case()
        drain()
        run = PlaybookRun.objects.get(playbook=pb)
        assert run.status == "failed" and "no active user" in run.error
        assert [s["status"] for s in run.steps] == ["done", "failed"]
        make_user("nobody-here", role="analyst")
        from automation.playbooks.runner import retry_run

        retry_run(run)
        drain()
        run.refresh_from_db()
        assert run.status == "success"
        assert len(server.requests) == 1  # the webhook was not sent again
        case.refresh_from_db()
        assert case.assignee.username == "nobody-here"


def test_processing_the_same_event_twice_acts_once() -> None:
    with LocalHTTPServer() as server:
        server.route("/hook", json={})
        pb = playbook(actions=[{"type": "webhook", "url": server.url("/hook")}])
        make_case()
        drain()
        event = AutomationEvent.objects.get(trigger="case_created")
        from automation.playbooks.context import build_context

        ctx, obj = build_context(event)
        run_playbook(pb, event, ctx, obj)
        assert len(server.requests) == 1
        assert PlaybookRun.objects.filter(playbook=pb).count() == 1


def test_dry_run_records_what_would_happen_and_does_nothing() -> None:
    with LocalHTTPServer() as server:
        server.route("/hook", json={})
        pb = playbook(
            dry_run=True,
            actions=[
                {
                    "type": "webhook",
                    "url": server.url("/hook"),
                    "secret": "s3cret",
                    "body": {"c": "{{ case.id }}"},
                },
                {"type": "set_priority", "priority": "P1"},
            ],
        )
        case = make_case()
        drain()
        run = PlaybookRun.objects.get(playbook=pb)
        assert run.status == "dry_run"
        assert [s["status"] for s in run.steps] == ["would_run", "would_run"]
        assert run.steps[0]["settings"]["body"] == {"c": case.pk}
        assert run.steps[0]["settings"]["secret"] == "•••"
        assert server.requests == []
        case.refresh_from_db()
        assert case.priority != 1


def test_the_kill_switches_stop_playbooks() -> None:
    pb = playbook()
    settings_row = AutomationSettings.load()
    settings_row.playbooks_enabled = False
    settings_row.save()
    make_case(author="a1")
    drain()
    assert not PlaybookRun.objects.exists()
    settings_row.playbooks_enabled = True
    settings_row.save()
    Playbook.objects.filter(pk=pb.pk).update(is_enabled=False)
    outbox.forget_consumers()
    make_case(author="a2")
    drain()
    assert not PlaybookRun.objects.exists()


def test_actions_over_their_rate_limit_are_skipped_and_recorded() -> None:
    playbook(actions=[{"type": "tag", "tags": ["x"], "rate_per_minute": 1}])
    make_case(author="a1")
    make_case(author="a2")
    drain()
    statuses = sorted(run.steps[0]["status"] for run in PlaybookRun.objects.all())
    assert statuses == ["done", "rate_limited"]


# --- Webhooks, takedowns, notifications ---------------------------------------------------------


def test_a_webhook_is_signed_and_carries_an_idempotency_key() -> None:
    with LocalHTTPServer() as server:
        server.route("/hook", json={"received": True})
        playbook(
            actions=[
                {
                    "type": "webhook",
                    "url": server.url("/hook"),
                    "secret": "s3cret",
                    "body": {"case": "{{ case.id }}", "indicators": "{{ case.indicator_values }}"},
                }
            ]
        )
        case = make_case(value="evil.example")
        drain()
        (request,) = server.requests
        assert json.loads(request.body) == {"case": case.pk, "indicators": ["evil.example"]}
        expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-tdp-signature"] == expected
        assert request.headers["idempotency-key"].startswith(f"case_created:case:{case.pk}:")
        run = PlaybookRun.objects.get()
        assert run.steps[0]["output"]["status"] == 200
        assert "s3cret" not in json.dumps(run.steps)


def test_a_webhook_retries_a_500_then_succeeds() -> None:
    answers = iter([Route(status=500), Route(status=500), Route(status=200, body=b"{}")])
    with LocalHTTPServer() as server:
        server.route("/hook", handler=lambda request: next(answers))
        playbook(actions=[{"type": "webhook", "url": server.url("/hook"), "retries": 3}])
        make_case()
        drain()
        run = PlaybookRun.objects.get()
        assert run.status == "success"
        assert run.steps[0]["output"]["attempts"] == 3
        keys = {r.headers["idempotency-key"] for r in server.requests}
        assert len(server.requests) == 3 and len(keys) == 1  # one key: the receiver can dedupe


def test_a_webhook_that_times_out_fails_the_run_with_a_clear_error() -> None:
    with LocalHTTPServer() as server:
        server.route("/slow", body=b"{}", delay=3)
        playbook(
            actions=[{"type": "webhook", "url": server.url("/slow"), "retries": 0, "timeout": 1}]
        )
        make_case()
        drain()
        run = PlaybookRun.objects.get()
        assert run.status == "failed"
        assert "after 1 attempts" in run.error


def test_a_webhook_to_a_private_address_is_refused(settings) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = False
    playbook(actions=[{"type": "webhook", "url": "http://169.254.169.254/latest/meta-data"}])
    make_case()
    drain()
    run = PlaybookRun.objects.get()
    assert run.status == "failed"
    assert "169.254.169.254" in run.error or "not allowed" in run.error.lower()


def test_takedown_sends_its_request_template() -> None:
    with LocalHTTPServer() as server:
        server.route("/takedown", status=202, body=b"{}")
        playbook(
            actions=[
                {
                    "type": "takedown",
                    "url": server.url("/takedown"),
                    "method": "PUT",
                    "body": {
                        "account": "{{ case.author_id }}",
                        "reason": "policy {{ case.policy }}",
                    },
                }
            ]
        )
        make_case(author="u-42")
        drain()
        (request,) = server.requests
        assert request.method == "PUT"
        assert json.loads(request.body) == {"account": "u-42", "reason": "policy other"}


def test_notify_by_email_uses_django_mail(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    playbook(
        actions=[
            {
                "type": "notify",
                "channel": "email",
                "to": ["leads@example.org"],
                "subject": "Case {{ case.id }}",
                "body": "Rule {{ case.rule }}",
            }
        ]
    )
    case = make_case()
    drain()
    (message,) = mail.outbox
    assert message.subject == f"Case {case.pk}"
    assert message.to == ["leads@example.org"]


# --- Triggers ---------------------------------------------------------------------------------


def test_labelling_a_case_triggers_case_labelled_playbooks(analyst) -> None:
    pb = save_playbook(
        {
            "name": "fp feedback",
            "trigger": "case_labelled",
            "conditions": {"disposition": "false_positive"},
            "actions": [{"type": "tag", "tags": ["fp-review"]}],
        },
        actor="test",
    )[0]
    case = make_case()
    from cases.triage import label_case

    label_case(case.pk, user=analyst, disposition="false_positive", reason="benign_site")
    drain()
    assert PlaybookRun.objects.get(playbook=pb).status == "success"
    assert Case.objects.get().tags == ["fp-review"]


def test_without_consumers_no_events_are_written() -> None:
    make_case()
    assert not AutomationEvent.objects.exists()


# --- Files ------------------------------------------------------------------------------------


def test_import_creates_then_updates_by_name_and_export_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "playbooks.json"
    data = [
        {"name": "a", "trigger": "case_created", "actions": [{"type": "escalate"}]},
        {
            "name": "b",
            "trigger": "hit_created",
            "enabled": False,
            "actions": [{"type": "tag", "tags": ["x"]}],
        },
    ]
    path.write_text(json.dumps(data))
    out = io.StringIO()
    call_command("import_playbooks", str(path), stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1]) == {"created": 2, "updated": 0}
    data[0]["actions"] = [{"type": "set_priority", "priority": "P2"}]
    path.write_text(json.dumps(data))
    out = io.StringIO()
    call_command("import_playbooks", str(path), stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1]) == {"created": 0, "updated": 2}
    assert Playbook.objects.get(name="a").actions == [{"type": "set_priority", "priority": "P2"}]
    assert AuditEntry.objects.filter(action="playbook.updated").count() == 1  # b was unchanged
    out = io.StringIO()
    call_command("export_playbooks", stdout=out)
    exported = json.loads(out.getvalue())
    assert [p["name"] for p in exported] == ["a", "b"]
    assert exported[1]["enabled"] is False


def test_an_invalid_file_saves_nothing_and_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "playbooks.json"
    path.write_text(
        json.dumps(
            [
                {"name": "good", "trigger": "case_created", "actions": [{"type": "escalate"}]},
                {"name": "bad", "trigger": "case_created", "actions": [{"type": "explode"}]},
            ]
        )
    )
    with pytest.raises(CommandError, match="playbook 'bad', action 1: unknown action 'explode'"):
        call_command("import_playbooks", str(path))
    assert not Playbook.objects.exists()
