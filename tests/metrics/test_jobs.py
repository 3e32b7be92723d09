"""The metrics cron job, its schedule and its wiring through a real RQ worker."""

from datetime import UTC, datetime

import django_rq
import pytest
from rq import cron

from metrics import reports
from metrics.jobs import refresh_metrics_job
from metrics.models import RollupRun, WeeklyReport
from tests.metrics.conftest import NOON, hits_with_labels


@pytest.mark.django_db
def test_the_tick_refreshes_and_makes_the_due_report(world, monkeypatch) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    monkeypatch.setattr(reports.timezone, "now", lambda: datetime(2026, 10, 19, 8, tzinfo=UTC))
    result = refresh_metrics_job()
    assert result["refresh"] == RollupRun.objects.get().pk
    assert result["report"] == WeeklyReport.objects.get().pk
    again = refresh_metrics_job()
    assert again["report"] is None and RollupRun.objects.count() == 2


def test_the_tick_is_scheduled_every_five_minutes() -> None:
    import importlib

    import tdp.cron

    entries = [e for e in cron._job_data_registry if e["func"] is refresh_metrics_job]
    if not entries:  # another test cleared the registry after tdp.cron was first imported
        importlib.reload(tdp.cron)
        entries = [e for e in cron._job_data_registry if e["func"] is refresh_metrics_job]
    entry = entries[-1]
    assert (entry["interval"], entry["queue_name"]) == (300, "low")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_tick_runs_on_a_real_worker(world) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    job = django_rq.get_queue("low").enqueue(refresh_metrics_job)
    assert django_rq.get_worker("low").work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert RollupRun.objects.get().status == RollupRun.Status.SUCCESS
