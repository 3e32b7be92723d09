"""Automation pages: playbooks (list, detail, save from JSON, switches), runs (list with filters
and the htmx partial, detail), failures with retry, re-enrich buttons, and the HTTP enricher
admin; each with its access rules, audit entries, and secrets never shown.
"""

import json
from collections.abc import Iterator

import django_rq
import pytest
from django.urls import reverse
from django.utils import timezone

from automation import outbox
from automation.jobs import drain_automation, enrich_indicators_job
from automation.models import (
    AutomationEvent,
    AutomationSettings,
    HttpEnricher,
    Playbook,
    PlaybookRun,
)
from automation.playbooks import save_playbook
from cases.models import Case
from tdp.models import AuditEntry
from tests.factories import make_case, make_indicator
from tests.httpserver import LocalHTTPServer

pytestmark = pytest.mark.django_db

SECRET = "wh-s3cret-never-shown"
BEARER = "Bearer tok-never-shown-77"
API_KEY = "rep-k3y-never-shown-0042"

PLAYBOOKS = reverse("automation:playbook_list")
SAVE = reverse("automation:playbook_save")
SWITCH = reverse("automation:kill_switch")
RUNS = reverse("automation:run_list")
FAILURES = reverse("automation:failures")
EXPORT = reverse("automation:playbook_export")


@pytest.fixture(autouse=True)
def _automation(settings) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = True
    settings.TDP_ENRICH_ON_TRIGGER = False  # enrichment runs in tests of its own
    settings.TDP_WEBHOOK_BACKOFF = 0.01
    outbox.forget_consumers()


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as local:
        local.route("/hook", json={"ok": True})
        local.route("/boom", status=500, body=b"down")
        yield local


def playbook(name: str = "pb", **fields) -> Playbook:
    data = {
        "name": name,
        "trigger": "case_created",
        "actions": [{"type": "set_priority", "priority": "P1"}],
        **fields,
    }
    return save_playbook(data, actor="test")[0]


def secret_hook(server: LocalHTTPServer, path: str = "/hook", **action) -> dict:
    return {
        "type": "webhook",
        "url": server.url(path),
        "secret": SECRET,
        "headers": {"Authorization": BEARER},
        **action,
    }


def drain() -> int:
    return outbox.drain(seconds=30)


def page(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def jobs(queue: str) -> list:
    return django_rq.get_queue(queue).jobs


def audited(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


# --- Access -----------------------------------------------------------------------------------


def lead_pages(pb: Playbook, run: PlaybookRun) -> list[str]:
    return [
        PLAYBOOKS,
        reverse("automation:playbook_detail", args=[pb.pk]),
        RUNS,
        reverse("automation:run_detail", args=[run.pk]),
        FAILURES,
    ]


def test_analysts_get_403_on_every_automation_page(analyst_client, server) -> None:
    pb = playbook(actions=[secret_hook(server, "/boom", retries=0)])
    make_case()
    drain()
    run = PlaybookRun.objects.get()
    for url in lead_pages(pb, run):
        assert analyst_client.get(url).status_code == 403, url
    event = AutomationEvent.objects.get()
    for url in [
        SAVE,
        SWITCH,
        reverse("automation:playbook_toggle", args=[pb.pk]),
        reverse("automation:run_retry", args=[run.pk]),
        reverse("automation:event_retry", args=[event.pk]),
    ]:
        assert analyst_client.post(url, {"enabled": "on"}).status_code == 403, url
    assert analyst_client.get(EXPORT).status_code == 403
    run.refresh_from_db()
    assert run.status == "failed"  # nothing was retried
    assert AutomationSettings.load().playbooks_enabled


def test_anonymous_users_are_sent_to_the_login_page(client) -> None:
    response = client.get(PLAYBOOKS)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_leads_read_every_page_but_cannot_change_playbooks_or_switches(lead_client) -> None:
    pb = playbook()
    make_case()
    drain()
    run = PlaybookRun.objects.get()
    for url in lead_pages(pb, run):
        body = page(lead_client, url)
        assert "Stop all playbooks" not in body and "Save playbook" not in body, url
    assert "Turn off" not in page(lead_client, PLAYBOOKS)  # no per-playbook switch either
    definition = json.dumps(
        {"name": "x", "trigger": "case_created", "actions": [{"type": "escalate"}]}
    )
    assert lead_client.post(SAVE, {"definition": definition}).status_code == 403
    assert lead_client.post(SWITCH).status_code == 403
    toggle = reverse("automation:playbook_toggle", args=[pb.pk])
    assert lead_client.post(toggle).status_code == 403
    assert lead_client.get(EXPORT).status_code == 403
    assert list(Playbook.objects.values_list("name", "is_enabled")) == [("pb", True)]
    assert AutomationSettings.load().playbooks_enabled


def test_admins_see_the_switches_the_json_form_and_the_rq_dashboard_link(admin_client_) -> None:
    playbook()
    body = page(admin_client_, PLAYBOOKS)
    assert "Stop all playbooks" in body and "Turn off" in body and "Save playbook" in body
    assert reverse("django_rq:home") in page(admin_client_, FAILURES)


def test_the_rq_dashboard_link_is_for_admins_only(lead_client) -> None:
    assert reverse("django_rq:home") not in page(lead_client, FAILURES)


# --- Saving playbooks from JSON -----------------------------------------------------------------


def test_an_admin_saves_a_pasted_playbook_and_it_is_audited(admin_client_, admin_user) -> None:
    definition = {
        "name": "Escalate phishing",
        "trigger": "case_created",
        "conditions": {"tag": "phishing"},
        "actions": [{"type": "escalate", "note": "auto"}],
    }
    response = admin_client_.post(SAVE, {"definition": json.dumps(definition)})
    pb = Playbook.objects.get(name="Escalate phishing")
    assert response.status_code == 302 and response.url == pb.get_absolute_url()
    assert (pb.trigger, pb.conditions, pb.actions) == (
        "case_created",
        {"tag": "phishing"},
        [{"type": "escalate", "note": "auto"}],
    )
    (entry,) = audited("playbook.created")
    assert (entry.user, entry.object_id) == (admin_user, str(pb.pk))

    definition["actions"] = [{"type": "set_priority", "priority": "P2"}]
    response = admin_client_.post(SAVE, {"definition": json.dumps(definition)}, follow=True)
    assert "Playbook Escalate phishing updated." in response.content.decode()
    assert Playbook.objects.get().actions == [{"type": "set_priority", "priority": "P2"}]
    assert len(audited("playbook.updated")) == 1


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("{not json", "Not saved: Not JSON"),
        (
            json.dumps({"name": "x", "trigger": "case_created", "actions": [{"type": "explode"}]}),
            "unknown action &#x27;explode&#x27;",
        ),
        (
            json.dumps({"name": "x", "trigger": "case_opened", "actions": [{"type": "escalate"}]}),
            "unknown trigger &#x27;case_opened&#x27;",
        ),
        (
            json.dumps(
                {
                    "name": "<script>alert(1)</script>",
                    "trigger": "case_created",
                    "actions": [{"type": "set_priority", "priority": "P9"}],
                }
            ),
            "priority is P1-P4",
        ),
    ],
)
def test_an_invalid_playbook_shows_its_error_and_saves_nothing(
    admin_client_, definition, message
) -> None:
    response = admin_client_.post(SAVE, {"definition": definition}, follow=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert message in body
    assert "<script>alert(1)</script>" not in body
    assert not Playbook.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="playbook.").exists()


def test_saving_needs_a_post(admin_client_) -> None:
    assert admin_client_.get(SAVE).status_code == 405


# --- Switches ---------------------------------------------------------------------------------


def test_the_kill_switch_turns_every_playbook_off_and_on_audited(admin_client_, admin_user) -> None:
    playbook()
    response = admin_client_.post(SWITCH, follow=True)  # the form sends no "enabled": off
    body = response.content.decode()
    assert "OFF for everyone" in body and "Turn playbooks back on" in body
    assert not AutomationSettings.load().playbooks_enabled
    make_case()
    drain()
    assert not PlaybookRun.objects.exists()  # stopped, even though the playbook is on

    admin_client_.post(SWITCH, {"enabled": "on"})
    assert AutomationSettings.load().playbooks_enabled
    off, on = audited("automation.switched")
    assert off.user == on.user == admin_user
    assert off.changes == {"playbooks_enabled": [True, False]}
    assert on.changes == {"playbooks_enabled": [False, True]}


def test_a_playbook_has_its_own_switch_audited(admin_client_, admin_user) -> None:
    pb = playbook()
    other = playbook("other", actions=[{"type": "tag", "tags": ["x"]}])
    toggle = reverse("automation:playbook_toggle", args=[pb.pk])
    response = admin_client_.post(toggle)
    assert response.status_code == 302 and response.url == PLAYBOOKS
    make_case()
    drain()
    assert list(PlaybookRun.objects.values_list("playbook__name", flat=True)) == ["other"]
    admin_client_.post(toggle, {"enabled": "on"})
    pb.refresh_from_db()
    other.refresh_from_db()
    assert pb.is_enabled and other.is_enabled
    off, on = audited("playbook.switched")
    assert (off.user, off.object_id, off.changes) == (
        admin_user,
        str(pb.pk),
        {"is_enabled": [True, False]},
    )
    assert on.changes == {"is_enabled": [False, True]}


def test_a_switch_never_redirects_off_site(admin_client_) -> None:
    pb = playbook()
    toggle = reverse("automation:playbook_toggle", args=[pb.pk])
    response = admin_client_.post(toggle, {"next": "https://evil.example/phish"})
    assert response.status_code == 302
    assert not response.url.startswith(("https://evil.example", "//evil.example")), (
        "playbook_toggle redirects to any POSTed `next` (an open redirect)"
    )


def test_a_switch_returns_to_a_local_next_page(admin_client_) -> None:
    pb = playbook()
    toggle = reverse("automation:playbook_toggle", args=[pb.pk])
    response = admin_client_.post(toggle, {"next": pb.get_absolute_url()})
    assert response.url == pb.get_absolute_url()


# --- Runs ---------------------------------------------------------------------------------------


def runs_of_two_playbooks(server: LocalHTTPServer) -> tuple[PlaybookRun, PlaybookRun]:
    good = playbook("good", actions=[{"type": "tag", "tags": ["ok"]}])
    bad = playbook("bad", actions=[secret_hook(server, "/boom", retries=0)])
    make_case()
    drain()
    return PlaybookRun.objects.get(playbook=good), PlaybookRun.objects.get(playbook=bad)


def run_link(run: PlaybookRun) -> str:
    return f'href="{reverse("automation:run_detail", args=[run.pk])}"'


def test_the_run_list_filters_by_status_playbook_and_object(lead_client, server) -> None:
    ok, failed = runs_of_two_playbooks(server)
    body = page(lead_client, RUNS)
    assert run_link(ok) in body and run_link(failed) in body
    body = page(lead_client, RUNS, status="failed")
    assert run_link(failed) in body and run_link(ok) not in body
    body = page(lead_client, RUNS, playbook=ok.playbook_id)
    assert run_link(ok) in body and run_link(failed) not in body
    body = page(lead_client, RUNS, object_type="case", object_id=ok.object_id)
    assert run_link(ok) in body and run_link(failed) in body
    body = page(lead_client, RUNS, object_id=ok.object_id + 1000)
    assert run_link(ok) not in body and "No runs match." in body


def test_an_invalid_run_filter_shows_nothing_rather_than_everything(lead_client, server) -> None:
    ok, _ = runs_of_two_playbooks(server)
    assert run_link(ok) not in page(lead_client, RUNS, status="exploded")


def test_htmx_gets_only_the_run_results(lead_client, server) -> None:
    ok, failed = runs_of_two_playbooks(server)
    response = lead_client.get(RUNS, {"status": "success"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="run-results"' in body
    assert run_link(ok) in body and run_link(failed) not in body
    assert "HX-Request" in response["Vary"]


def test_the_run_page_shows_each_step_and_masks_secrets(lead_client, server) -> None:
    pb = playbook(
        actions=[
            {"type": "tag", "tags": ["wave"]},
            secret_hook(server, body={"case": "{{ case.id }}"}),
            {"type": "assign", "user": "nobody-here"},
            {"type": "escalate"},
        ]
    )
    case = make_case()
    drain()
    run = PlaybookRun.objects.get(playbook=pb)
    body = page(lead_client, reverse("automation:run_detail", args=[run.pk]))
    assert 'id="run-status">Failed' in body
    assert "no active user" in body  # the failed step's error
    for status in ("done", "failed", "not_run"):
        assert f"<td>{status}</td>" in body
    assert "ms</td>" in body  # durations
    assert "&quot;status&quot;: 200" in body  # the webhook's output
    assert f"case_created:case:{case.pk}" in body  # the idempotency key
    assert SECRET not in body and BEARER not in body


def test_a_dry_run_page_shows_what_would_be_sent_with_the_secret_masked(
    lead_client, server
) -> None:
    pb = playbook(dry_run=True, actions=[secret_hook(server, body={"case": "{{ case.id }}"})])
    case = make_case()
    drain()
    run = PlaybookRun.objects.get(playbook=pb)
    body = page(lead_client, reverse("automation:run_detail", args=[run.pk]))
    assert "would_run" in body and f"&quot;case&quot;: {case.pk}" in body
    assert "•••" in body or "\\u2022\\u2022\\u2022" in body  # the mask, maybe JSON-escaped
    assert SECRET not in body
    assert server.requests == []


def test_webhook_secrets_never_appear_in_the_pages(admin_client_, server) -> None:
    definition = {
        "name": "with secrets",
        "trigger": "case_created",
        "actions": [{"type": "webhook", "url": server.url("/hook"), "secret": SECRET}],
    }
    admin_client_.post(SAVE, {"definition": json.dumps(definition)})  # audited
    pb = Playbook.objects.get()
    case = make_case()
    drain()
    run = PlaybookRun.objects.get()
    assert run.status == "success"
    pages = {
        "playbooks": PLAYBOOKS,
        "playbook": reverse("automation:playbook_detail", args=[pb.pk]),
        "runs": RUNS,
        "run": reverse("automation:run_detail", args=[run.pk]),
        "failures": FAILURES,
        "case": case.get_absolute_url(),
        "audit trail": reverse("audit_list"),
    }
    leaks = [name for name, url in pages.items() if SECRET in page(admin_client_, url)]
    assert leaks == [], "the playbook's audit entry copies its actions, secret included"
    assert SECRET not in json.dumps(list(AuditEntry.objects.values_list("changes", flat=True)))


def test_credential_headers_of_a_webhook_are_masked_like_its_secret(lead_client, server) -> None:
    live = playbook("live", actions=[secret_hook(server)])
    dry = playbook("dry", dry_run=True, actions=[secret_hook(server)])
    make_case()
    drain()
    pages = {
        "playbook": live.get_absolute_url(),
        "dry run": reverse(
            "automation:run_detail", args=[PlaybookRun.objects.get(playbook=dry).pk]
        ),
    }
    leaks = [name for name, url in pages.items() if BEARER in page(lead_client, url)]
    assert leaks == [], "`describe()` masks only the `secret` key, not an Authorization header"


# --- Failures and retries -----------------------------------------------------------------------


def failed_event(case: Case) -> AutomationEvent:
    """An event that failed every attempt (as `outbox._process_one` leaves it)."""
    event = AutomationEvent.objects.get(object_id=case.pk, trigger="case_created")
    AutomationEvent.objects.filter(pk=event.pk).update(
        error="RuntimeError: the database went away",
        attempts=outbox.MAX_ATTEMPTS,
        processed_at=timezone.now(),
    )
    return event


def test_failures_list_failed_runs_and_events_with_retry_buttons(lead_client, server) -> None:
    _, failed = runs_of_two_playbooks(server)
    event = failed_event(make_case(author="a2"))
    body = page(lead_client, FAILURES)
    assert f'action="{reverse("automation:run_retry", args=[failed.pk])}"' in body
    assert "answered 500" in body
    assert f'action="{reverse("automation:event_retry", args=[event.pk])}"' in body
    assert "the database went away" in body


def test_retrying_a_failed_run_queues_a_drain_audited_and_resumes_it(
    lead_client, lead, server, django_capture_on_commit_callbacks
) -> None:
    pb = playbook(
        actions=[
            {"type": "tag", "tags": ["first"]},
            {"type": "webhook", "url": server.url("/flaky"), "retries": 0},
        ]
    )
    server.route("/flaky", status=500)
    make_case()
    drain()
    run = PlaybookRun.objects.get(playbook=pb)
    assert run.status == "failed"
    server.route("/flaky", json={"ok": True})

    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(reverse("automation:run_retry", args=[run.pk]), follow=True)
    assert f"Run {run.pk} queued again." in response.content.decode()
    assert [job.func for job in jobs("high")] == [drain_automation]
    (entry,) = audited("playbook_run.retried")
    assert (entry.user, entry.object_id) == (lead, str(run.pk))
    drain()
    run.refresh_from_db()
    assert run.status == "success"
    assert [s["status"] for s in run.steps] == ["done", "done"]
    assert AuditEntry.objects.filter(action="case.tagged").count() == 1  # not tagged twice


def test_retrying_a_failed_event_queues_a_drain_audited(
    lead_client, lead, django_capture_on_commit_callbacks
) -> None:
    pb = playbook()
    case = make_case()
    event = failed_event(case)
    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(reverse("automation:event_retry", args=[event.pk]))
    assert response.status_code == 302 and response.url == FAILURES
    event.refresh_from_db()
    assert (event.processed_at, event.attempts, event.error) == (None, 0, "")
    assert [job.func for job in jobs("high")] == [drain_automation]
    (entry,) = audited("automation_event.retried")
    assert (entry.user, entry.object_id) == (lead, str(event.pk))
    drain()
    assert PlaybookRun.objects.get(playbook=pb).status == "success"


def test_retry_buttons_need_a_post(lead_client, server) -> None:
    _, failed = runs_of_two_playbooks(server)
    assert lead_client.get(reverse("automation:run_retry", args=[failed.pk])).status_code == 405


# --- Re-enrich ----------------------------------------------------------------------------------


def test_reenriching_an_indicator_queues_a_forced_job_on_low_audited(
    analyst_client, analyst, django_capture_on_commit_callbacks
) -> None:
    indicator = make_indicator("evil.example")
    url = reverse("automation:reenrich_indicator", args=[indicator.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(url)
    assert response.status_code == 302 and response.url == indicator.get_absolute_url()
    (job,) = jobs("low")
    assert job.func == enrich_indicators_job
    assert job.args[:2] == ([indicator.pk], True)  # forced
    assert jobs("high") == [] and jobs("default") == []
    (entry,) = audited("indicator.reenrich_requested")
    assert (entry.user, entry.object_id) == (analyst, str(indicator.pk))


def test_reenriching_a_case_queues_its_indicators_on_low_audited(
    analyst_client, analyst, django_capture_on_commit_callbacks
) -> None:
    case = make_case(value="evil.example")
    indicator_id = case.hits.get().indicator_id
    url = reverse("automation:reenrich_case", args=[case.pk])
    assert f'action="{url}"' in page(analyst_client, case.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(url)
    assert response.status_code == 302 and response.url == case.get_absolute_url()
    (job,) = jobs("low")
    assert (job.func, job.args[:2]) == (enrich_indicators_job, ([indicator_id], True))
    (entry,) = audited("case.reenrich_requested")
    assert (entry.user, entry.object_id) == (analyst, str(case.pk))


def test_reenriching_red_intel_is_404_for_analysts_without_clearance(
    analyst_client, cleared_client, django_capture_on_commit_callbacks
) -> None:
    red = make_indicator("red.example", tlp="RED")
    case = make_case(indicator=red)
    assert case.is_restricted
    for url in (
        reverse("automation:reenrich_indicator", args=[red.pk]),
        reverse("automation:reenrich_case", args=[case.pk]),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert analyst_client.post(url).status_code == 404
    assert jobs("low") == []
    assert not AuditEntry.objects.filter(action__endswith="reenrich_requested").exists()
    with django_capture_on_commit_callbacks(execute=True):
        url = reverse("automation:reenrich_indicator", args=[red.pk])
        assert cleared_client.post(url).status_code == 302
    assert len(jobs("low")) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reenrich_says_whether_the_job_was_queued(settings, analyst_client) -> None:
    # Committed for real: the job is queued (or not) on commit, as in production.
    indicator = make_indicator()
    url = reverse("automation:reenrich_indicator", args=[indicator.pk])
    body = analyst_client.post(url, follow=True).content.decode()
    assert "Enrichment queued; refresh in a moment." in body
    assert "unreachable" not in body
    assert len(jobs("low")) == 1

    import socket

    with socket.socket() as probe:  # a port nobody listens on: Redis is down
        probe.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    settings.RQ_QUEUES = {name: {**c, "URL": closed} for name, c in settings.RQ_QUEUES.items()}
    body = analyst_client.post(url, follow=True).content.decode()
    assert "The job queue is unreachable; enrichment was not queued." in body
    assert "Enrichment queued" not in body, "the page says both 'queued' and 'not queued'"


def test_reenrich_needs_a_role_and_a_post(client, nobody, analyst_client) -> None:
    indicator = make_indicator()
    url = reverse("automation:reenrich_indicator", args=[indicator.pk])
    assert analyst_client.get(url).status_code == 405
    client.force_login(nobody)
    assert client.post(url).status_code == 403
    assert jobs("low") == []


# --- The HTTP enricher admin ----------------------------------------------------------------------

ADMIN_ADD = reverse("admin:automation_httpenricher_add")


def enricher_form(**fields) -> dict:
    return {
        "name": "rep",
        "is_enabled": "on",
        "applies_to": "domain,url",
        "url_template": "https://rep.example/v1/{value}",
        "api_key": "",
        "api_key_header": "x-apikey",
        "fields": "data.score",
        "ttl_seconds": "3600",
        "timeout_seconds": "5",
        "rate_per_minute": "60",
        **fields,
    }


def test_the_enricher_api_key_is_write_only_and_never_audited(admin_client_, admin_user) -> None:
    response = admin_client_.post(ADMIN_ADD, enricher_form(api_key=API_KEY))
    assert response.status_code == 302, response.content.decode()[:2000]
    enricher = HttpEnricher.objects.get()
    assert enricher.api_key == API_KEY
    change = reverse("admin:automation_httpenricher_change", args=[enricher.pk])
    for url in (change, reverse("admin:automation_httpenricher_changelist")):
        assert API_KEY not in page(admin_client_, url)

    response = admin_client_.post(change, enricher_form(api_key="", rate_per_minute="4"))
    assert response.status_code == 302
    enricher.refresh_from_db()
    assert (enricher.api_key, enricher.rate_per_minute) == (API_KEY, 4)  # blank keeps the key

    admin_client_.post(change, enricher_form(api_key="n3w-k3y-0043"))
    enricher.refresh_from_db()
    assert enricher.api_key == "n3w-k3y-0043"
    admin_client_.post(change, enricher_form(clear_api_key="on"))
    enricher.refresh_from_db()
    assert enricher.api_key == ""

    entries = AuditEntry.objects.filter(action__startswith="http_enricher.").order_by("id")
    assert [e.action for e in entries] == ["http_enricher.created"] + ["http_enricher.changed"] * 3
    assert all(e.user == admin_user for e in entries)
    assert entries[1].changes["rate_per_minute"] == [60, 4]
    assert "api_key" not in entries[1].changes  # kept: not a change
    assert entries[2].changes["api_key"] == ["•••", "•••"]
    trail = json.dumps([e.changes for e in entries]) + page(admin_client_, reverse("audit_list"))
    assert API_KEY not in trail and "n3w-k3y-0043" not in trail


def test_the_enricher_admin_rejects_a_template_without_value(admin_client_) -> None:
    response = admin_client_.post(
        ADMIN_ADD, enricher_form(url_template="https://rep.example/v1/lookup", api_key=API_KEY)
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "The template needs {value}" in body
    assert API_KEY not in body  # not even echoed back into the re-rendered form
    assert not HttpEnricher.objects.exists()


def test_the_enricher_admin_is_for_admins(lead_client) -> None:
    response = lead_client.get(ADMIN_ADD)
    assert response.status_code in (302, 403)
    assert not HttpEnricher.objects.exists()
