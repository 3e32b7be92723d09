"""RQ entry points for intel. Thin: look things up by id and call the domain function."""

import logging
from typing import Any

import django_rq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from intel.feeds import FeedBusy, due_feeds, pull
from intel.imports import run_import
from intel.lifecycle import expire_due_indicators
from intel.models import Feed, FeedRun, IntelImport

logger = logging.getLogger(__name__)

FEED_QUEUE = "default"


def expire_indicators_job() -> int:
    """Scheduled (tdp/cron.py): expire indicators whose TTL has passed."""
    return expire_due_indicators()


def import_file_job(import_id: int) -> str:
    """Run one uploaded file import; safe to run again (the import claims itself)."""
    record = run_import(IntelImport.objects.get(pk=import_id))
    return record.state


def enqueue_import(record: IntelImport) -> None:
    """Queue an import once the surrounding transaction commits (workers never see it early)."""

    def send() -> None:
        try:
            django_rq.get_queue("default").enqueue(
                import_file_job, record.pk, job_timeout=3600, result_ttl=86400
            )
        except Exception:
            # Redis is down: the import stays queued and its page offers a retry.
            logger.exception("could not enqueue import %s", record.pk)

    transaction.on_commit(send)


def pull_feed_job(
    feed_id: int,
    force: bool = False,
    trigger: str = FeedRun.Trigger.SCHEDULE,
    user_id: int | None = None,
) -> dict | None:
    """Pull one feed (scheduled or "Pull now"); a pull already running makes this a no-op."""
    feed = Feed.objects.select_related("source").filter(pk=feed_id).first()
    if feed is None:
        logger.info("feed %s no longer exists", feed_id)
        return None
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        return pull(feed, force=force, trigger=trigger, user=user).as_dict()
    except FeedBusy as exc:
        logger.info("%s", exc)
        return None


def enqueue_pull(
    feed: Feed,
    *,
    force: bool = False,
    trigger: str = FeedRun.Trigger.MANUAL,
    user: Any = None,
) -> None:
    """Queue a pull of `feed` after the current transaction commits (`user` is recorded)."""
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    transaction.on_commit(
        lambda: django_rq.get_queue(FEED_QUEUE).enqueue(
            pull_feed_job,
            feed.pk,
            force,
            trigger,
            user_id,
            job_timeout=settings.TDP_FEED_JOB_TIMEOUT,
            result_ttl=86400,
        )
    )


def enqueue_due_feeds_job() -> list[int]:
    """Scheduled every minute (tdp/cron.py): queue a pull of every feed that is due."""
    claimed = due_feeds()
    for feed_id in claimed:
        django_rq.get_queue(FEED_QUEUE).enqueue(
            pull_feed_job, feed_id, job_timeout=settings.TDP_FEED_JOB_TIMEOUT, result_ttl=86400
        )
    return claimed
