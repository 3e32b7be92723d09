"""`manage.py rescan_queued_batches` and its cron tick: batches Redis lost are queued again."""

from datetime import timedelta
from io import StringIO

import django_rq
import pytest
from django.core.management import call_command
from django.utils import timezone
from rq.cron import CronScheduler

from detection.batches import requeue_stale_batches
from detection.jobs import requeue_stale_batches_job
from detection.models import ScanBatch
from tests.factories import make_content_event

pytestmark = pytest.mark.django_db


def make_batch(status: str = "queued", **fields) -> ScanBatch:
    return ScanBatch.objects.create(
        status=status, events=1, pending_events=[make_content_event("hi")], **fields
    )


def test_it_requeues_batches_queued_over_5_minutes_ago(django_capture_on_commit_callbacks) -> None:
    old = make_batch(enqueued_at=timezone.now() - timedelta(minutes=6))
    make_batch(enqueued_at=timezone.now() - timedelta(minutes=4))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rescan_queued_batches", stdout=out)
    assert out.getvalue().strip() == "requeued 1 batches"
    [job] = django_rq.get_queue("scan").get_jobs()
    assert job.args == (str(old.pk),)
    old.refresh_from_db()
    assert old.enqueued_at > timezone.now() - timedelta(minutes=1)  # the next tick waits again


def test_it_requeues_batches_left_running_by_a_dead_worker() -> None:
    stale = make_batch("running", started_at=timezone.now() - timedelta(hours=1))
    make_batch("running", started_at=timezone.now())
    make_batch("done", enqueued_at=timezone.now() - timedelta(hours=1))
    assert requeue_stale_batches() == [str(stale.pk)]


def test_the_tick_is_registered_every_5_minutes() -> None:
    scheduler = CronScheduler(connection=django_rq.get_connection("default"))
    scheduler.load_config_from_file("tdp/cron.py")
    [job] = [job for job in scheduler.get_jobs() if job.func is requeue_stale_batches_job]
    assert (job.interval, job.queue_name) == (300, "default")
