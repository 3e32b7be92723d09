"""RQ entry points for detection. Thin: each calls one domain function."""

from detection.retention import drop_expired_partitions, ensure_partitions


def maintain_event_partitions_job() -> dict[str, list[str]]:
    """Scheduled hourly (tdp/cron.py): create the coming days' partitions, drop expired ones."""
    return {"ensured": ensure_partitions(), "dropped": drop_expired_partitions()}
