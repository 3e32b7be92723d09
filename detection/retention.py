"""Day partitions of the content event table: create the coming days', drop the expired ones.

`detection_contentevent` is partitioned by `received_day` (migration 0001), one partition per
UTC day named `detection_contentevent_pYYYYMMDD`. Dropping a whole partition is how events
expire: instant, and no dead rows to vacuum. Both functions are idempotent; `tdp/cron.py` runs
them hourly, and storing events creates today's partition on demand as well.
"""

import logging
import re
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tdp import audit

logger = logging.getLogger(__name__)

TABLE = "detection_contentevent"
_PARTITION = re.compile(rf"^{TABLE}_p(\d{{8}})$")


def partition_name(day: date) -> str:
    """The name of the partition holding events received on ``day``."""
    return f"{TABLE}_p{day:%Y%m%d}"


def ensure_partition(day: date) -> None:
    """Create the partition for ``day`` unless it exists (safe in concurrent workers)."""
    name = partition_name(day)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is not None:
            return
        # Two workers creating the same partition at once would both fail on the catalog's
        # unique index, IF NOT EXISTS notwithstanding: take turns.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        # Names and bounds come from a date, never from input; identifiers cannot be parameters.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"
        )


def ensure_partitions(days_ahead: int = 2, *, today: date | None = None) -> list[str]:
    """Make sure today's partition and the next ``days_ahead`` days' exist; returns their names."""
    today = today or timezone.now().date()
    days = [today + timedelta(days=n) for n in range(days_ahead + 1)]
    for day in days:
        ensure_partition(day)
    return [partition_name(day) for day in days]


def partition_days() -> list[date]:
    """The days that have a partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    days = [datetime.strptime(m[1], "%Y%m%d").date() for n in names if (m := _PARTITION.match(n))]
    return sorted(days)


@transaction.atomic
def drop_expired_partitions(now: datetime | None = None) -> list[str]:
    """Drop the partitions of days older than `TDP_EVENT_RETENTION_DAYS`; returns their names.

    The day ``retention`` days ago is kept, so an event stays at least that many full days.
    Hits keep their event's id and day after the event itself is gone.
    """
    now = now or timezone.now()
    oldest_kept = now.date() - timedelta(days=settings.TDP_EVENT_RETENTION_DAYS)
    dropped = [partition_name(day) for day in partition_days() if day < oldest_kept]
    with connection.cursor() as cursor:
        for name in dropped:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
    if dropped:
        logger.info("dropped %s expired event partitions", len(dropped))
        audit.record("detection.drop_partitions", None, changes={"dropped": dropped})
    return dropped
