"""Event retention: day partitions are created ahead and dropped after the retention period."""

from datetime import UTC, date, datetime

import django_rq
import pytest
from django.utils import timezone
from rq.cron import CronScheduler

from detection.jobs import maintain_event_partitions_job
from detection.models import ContentEvent, Hit
from detection.retention import (
    drop_expired_partitions,
    ensure_partitions,
    partition_days,
    partition_name,
)
from detection.scan import scan_events
from tdp.models import AuditEntry
from tests.factories import make_content_event, make_indicator

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_ensure_partitions_creates_today_and_the_next_days() -> None:
    names = ensure_partitions(2, today=date(2026, 11, 25))
    assert names == [
        "detection_contentevent_p20261125",
        "detection_contentevent_p20261126",
        "detection_contentevent_p20261127",
    ]
    assert {date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)} <= set(partition_days())


def test_ensure_partitions_is_idempotent() -> None:
    ensure_partitions(1, today=date(2026, 11, 25))
    ensure_partitions(1, today=date(2026, 11, 25))
    assert partition_days().count(date(2026, 11, 25)) == 1


def test_partitions_older_than_the_retention_are_dropped(settings) -> None:
    settings.TDP_EVENT_RETENTION_DAYS = 14
    ensure_partitions(0, today=date(2026, 11, 10))  # 15 days old: expired
    ensure_partitions(0, today=date(2026, 11, 11))  # 14 days old: kept
    ensure_partitions(0, today=date(2026, 11, 25))

    dropped = drop_expired_partitions(NOW)

    assert partition_name(date(2026, 11, 10)) in dropped
    days = partition_days()
    assert date(2026, 11, 10) not in days
    assert {date(2026, 11, 11), date(2026, 11, 25)} <= set(days)


def test_dropping_partitions_writes_one_audit_entry(settings) -> None:
    settings.TDP_EVENT_RETENTION_DAYS = 14
    ensure_partitions(0, today=date(2026, 11, 1))
    drop_expired_partitions(NOW)
    [entry] = AuditEntry.objects.filter(action="detection.drop_partitions")
    assert partition_name(date(2026, 11, 1)) in entry.changes["dropped"]


def test_nothing_expired_drops_nothing(settings) -> None:
    settings.TDP_EVENT_RETENTION_DAYS = 14
    ensure_partitions(0, today=date(2026, 11, 25))
    assert drop_expired_partitions(NOW) == []
    assert not AuditEntry.objects.filter(action="detection.drop_partitions").exists()


def test_expired_events_go_with_their_partition_and_their_hits_stay(settings) -> None:
    settings.TDP_EVENT_RETENTION_DAYS = 14
    make_indicator("evil.example")
    old = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    scan_events([make_content_event("see evil.example", id="old")], dry_run=False, now=old)
    assert ContentEvent.objects.filter(event_id="old").exists()

    drop_expired_partitions(NOW)

    assert not ContentEvent.objects.filter(event_id="old").exists()
    assert Hit.objects.get(event_id="old").event_day == date(2026, 11, 1)


def test_the_job_ensures_and_drops_partitions() -> None:
    result = maintain_event_partitions_job()
    assert partition_name(timezone.now().date()) in result["ensured"]
    assert len(result["ensured"]) == 3
    assert result["dropped"] == []


def test_the_partition_job_is_registered_hourly() -> None:
    scheduler = CronScheduler(connection=django_rq.get_connection("low"))
    scheduler.load_config_from_file("tdp/cron.py")
    [job] = [job for job in scheduler.get_jobs() if job.func is maintain_event_partitions_job]
    assert (job.interval, job.queue_name) == (3600, "low")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_worker_runs_the_partition_job() -> None:
    job = django_rq.get_queue("low").enqueue(maintain_event_partitions_job)
    assert django_rq.get_worker("low").work(burst=True)
    job.refresh()
    assert job.is_finished
    assert timezone.now().date() in partition_days()
