"""Tuning jobs, the refresh command, the schedule and the settings checks."""

import io
import json

import django_rq
import pytest
from django.core.management import call_command
from django.db import connections
from rq.cron import CronScheduler
from rq.worker import SimpleWorker, Worker

from detection.scan import scan_events
from tests.factories import make_content_event, make_indicator, make_rule
from tests.tuning.conftest import label_hits
from tuning.backtest import replay
from tuning.backtest.runs import start_backtest
from tuning.checks import check_tuning_settings
from tuning.jobs import refresh_suggestions_job, run_backtest_job
from tuning.models import BacktestRun, TuningSuggestion


@pytest.mark.django_db
def test_the_refresh_job_returns_its_counts(analyst) -> None:
    label_hits(make_indicator("job.example"), fp=10, user=analyst)
    assert refresh_suggestions_job() == {"created": 2, "updated": 0, "withdrawn": 0}  # + the rule
    assert refresh_suggestions_job() == {"created": 0, "updated": 0, "withdrawn": 0}


@pytest.mark.django_db
def test_the_refresh_command_prints_its_counts(analyst) -> None:
    label_hits(make_indicator("cmd.example"), tp=2, fp=3, user=analyst)
    out = io.StringIO()
    call_command("refresh_suggestions", "--min-labels", "5", "--fp-rate", "0.6", stdout=out)
    assert json.loads(out.getvalue()) == {"created": 2, "updated": 0, "withdrawn": 0}
    assert TuningSuggestion.objects.open().count() == 2


def test_the_refresh_is_scheduled_every_15_minutes() -> None:
    scheduler = CronScheduler(connection=django_rq.get_connection("low"))
    scheduler.load_config_from_file("tdp/cron.py")
    [tick] = [job for job in scheduler.get_jobs() if job.func is refresh_suggestions_job]
    assert (tick.interval, tick.queue_name) == (900, "low")


@pytest.mark.django_db
def test_the_back_test_job_runs_a_queued_run_once(lead) -> None:
    scan_events([make_content_event("x", id="j1")], dry_run=False)
    run = BacktestRun.objects.create(rule=make_rule("Job rule"), rule_name="Job rule", days=1)
    assert run_backtest_job(run.pk) == "done"
    run.refresh_from_db()
    finished_at = run.finished_at
    assert run.result["events"] == 1
    assert run_backtest_job(run.pk) == "done"  # claimed already: nothing runs again
    run.refresh_from_db()
    assert run.finished_at == finished_at


@pytest.mark.django_db
def test_a_run_of_a_deleted_rule_fails_with_its_reason() -> None:
    run = BacktestRun.objects.create(rule=None, rule_name="Gone", days=1)
    assert run_backtest_job(run.pk) == "failed"
    run.refresh_from_db()
    assert "deleted" in run.error


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker])
def test_a_queued_back_test_is_run_by_a_real_worker(
    settings, lead, monkeypatch, worker_class
) -> None:
    settings.TDP_BACKTEST_INLINE_EVENTS = 0
    settings.TDP_BACKTEST_WORKERS = 2
    monkeypatch.setattr(replay, "CHUNK_EVENTS", 1)  # three chunks: the job forks its pool
    make_indicator("worker.example")
    scan_events(
        [make_content_event("worker.example", id=f"w{n}", author=f"a{n}") for n in range(3)],
        dry_run=False,
    )
    run = start_backtest(
        rule=make_rule("Worker rule", is_enabled=False),
        draft=None,
        days=1,
        indicators="",
        actor=lead,
    )
    assert run.status == "queued"
    # As `manage.py rqworker` does before working: a forked work horse must not share (and, by
    # closing it before forking its pool, end) this process's connection.
    connections.close_all()
    assert django_rq.get_worker("default", worker_class=worker_class).work(burst=True)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert (run.result["events"], run.result["would_hit"], run.result["new_cases"]) == (3, 3, 3)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("TDP_TUNING_FP_RATE", 0, "tuning.E001"),
        ("TDP_TUNING_FP_RATE", 1.5, "tuning.E001"),
        ("TDP_TUNING_MIN_LABELS", 0, "tuning.E002"),
        ("TDP_BACKTEST_WORKERS", -1, "tuning.E003"),
    ],
)
def test_bad_settings_are_reported(settings, name, value, error) -> None:
    setattr(settings, name, value)
    assert [e.id for e in check_tuning_settings(None)] == [error]


def test_the_default_settings_pass_the_checks() -> None:
    assert check_tuning_settings(None) == []


@pytest.mark.django_db
def test_a_back_test_over_much_intel_is_queued_even_for_few_events(
    settings, lead, django_capture_on_commit_callbacks
) -> None:
    settings.TDP_BACKTEST_INLINE_INDICATORS = 2
    for n in range(3):
        make_indicator(f"many{n}.example")
    scan_events([make_content_event("x", id="i1")], dry_run=False)
    rule = make_rule("Much intel", is_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_backtest(rule=rule, draft=None, days=1, indicators="", actor=lead)
    assert run.status == "queued"
    assert django_rq.get_queue("default").count == 1
