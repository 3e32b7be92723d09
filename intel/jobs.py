"""RQ entry points for intel. Thin: look things up by id and call the domain function."""

import logging

import django_rq
from django.db import transaction

from intel.imports import run_import
from intel.lifecycle import expire_due_indicators
from intel.models import IntelImport

logger = logging.getLogger(__name__)


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
