"""RQ entry points for tuning. Thin: each calls one domain function."""

from tuning.backtest.runs import run_backtest_run
from tuning.suggestions import refresh_suggestions


def refresh_suggestions_job() -> dict[str, int]:
    """Scheduled every 15 minutes (tdp/cron.py): bring the suggestions in line with the labels."""
    return refresh_suggestions().as_dict()


def run_backtest_job(run_id: int) -> str:
    """Run one back-test started from the page; safe to run again (the run claims itself)."""
    return run_backtest_run(run_id).status
