"""RQ entry points for detection. Thin: each calls one domain function."""

from detection.batches import requeue_stale_batches, run_batch
from detection.retention import drop_expired_partitions, ensure_partitions


def maintain_event_partitions_job() -> dict[str, list[str]]:
    """Scheduled hourly (tdp/cron.py): create the coming days' partitions, drop expired ones."""
    return {"ensured": ensure_partitions(), "dropped": drop_expired_partitions()}


def scan_batch_job(batch_id: str) -> str | None:
    """Scan one batch posted to /api/v1/events; safe to run again (the batch claims itself)."""
    batch = run_batch(batch_id)
    return batch.status if batch else None


def requeue_stale_batches_job() -> list[str]:
    """Scheduled every 5 minutes (tdp/cron.py): queue again batches Redis lost or a worker left."""
    return requeue_stale_batches()
