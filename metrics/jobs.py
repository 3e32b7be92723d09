"""RQ entry points of the metrics app (registered in tdp/cron.py)."""

import logging

from metrics import reports, rollups

logger = logging.getLogger(__name__)


def refresh_metrics_job() -> dict[str, int | None]:
    """Cron tick: refresh the rollups, then make last week's report if it is due; returns the
    ids of the refresh run and of the report made (None for what did not happen).

    A tick that finds a refresh still running skips it (the next tick catches up); the report
    is made from the refreshed rollups.
    """
    run = None
    try:
        run = rollups.refresh(wait=False)
    except rollups.RefreshBusy:
        logger.info("metrics refresh skipped: another one is running")
    report = reports.make_due_report()
    return {"refresh": run and run.pk, "report": report and report.pk}
