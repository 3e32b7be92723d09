"""The weekly report: last week's detection quality, intel, operations and automation as one
self-contained HTML page (and a plain-text summary), stored and emailed to
`TDP_WEEKLY_REPORT_TO`.

A week runs Monday 00:00 to Monday 00:00 UTC. The cron tick calls `make_due_report`, which makes
the last complete week's report once, from `TDP_WEEKLY_REPORT_HOUR` on Monday (later ticks find
it made). Recipients may not be cleared for TLP:RED, so the report never names a TLP:RED
indicator.
"""

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from metrics import automation, charts, detection, operations
from metrics import intel as intel_metrics
from metrics.models import WeeklyReport
from metrics.periods import Period
from metrics.precision import quality_rows
from tdp.audit import record

logger = logging.getLogger(__name__)

TOP_ROWS = 10


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def last_complete_week(now: datetime | None = None) -> date:
    """The Monday starting the last week that has ended."""
    today = (now or timezone.now()).astimezone(UTC).date()
    return week_start(today) - timedelta(days=7)


def report_context(monday: date) -> dict[str, Any]:
    """Everything the report shows for the week starting ``monday``."""
    period = Period.week(monday)
    reader = AnonymousUser()  # not cleared: TLP:RED indicators are left out
    rules = quality_rows("rule", user=reader, since=period.since, until=period.until)
    totals = {
        column: sum(getattr(row, column) for row in rules)
        for column in ("hits", "cases", "labelled", "true_positive", "false_positive")
    }
    judged = totals["true_positive"] + totals["false_positive"]
    totals["precision"] = totals["true_positive"] / judged if judged else None
    indicators = quality_rows(
        "indicator", user=reader, since=period.since, until=period.until, limit=200
    )
    noisy = sorted(indicators, key=lambda r: (-r.false_positive, r.key))[:TOP_ROWS]
    labels, series = detection.volume("rule", None, period)
    flows = operations.sla_rates(period)
    return {
        "week_start": monday,
        "week_end": monday + timedelta(days=7),
        "period": period,
        "totals": totals,
        "rules": rules[:TOP_ROWS],
        "policies": quality_rows("policy", user=reader, since=period.since, until=period.until),
        "feeds": quality_rows("feed", user=reader, since=period.since, until=period.until),
        "noisy_indicators": [row for row in noisy if row.false_positive],
        "volume_chart": charts.line_chart(
            labels,
            [charts.Series(detection.SERIES_NAMES[c], series[c]) for c in detection.SERIES_COLUMNS],
            title="Hits per day",
        ),
        "times": operations.response_times(period),
        "sla": flows,
        "analysts": operations.analyst_rows(period)[:TOP_ROWS],
        "sources": intel_metrics.source_rows(period)[:TOP_ROWS],
        "freshness": intel_metrics.feed_freshness(period),
        "automation": automation.time_saved(period),
        "playbooks": automation.playbook_rows(period)[:TOP_ROWS],
        "failures": automation.failure_count(period),
        "site_url": settings.TDP_SITE_URL,
    }


def render_report(monday: date) -> tuple[str, str]:
    """The report of the week starting ``monday`` as (HTML, plain text)."""
    context = report_context(monday)
    return (
        render_to_string("metrics/weekly_report.html", context),
        render_to_string("metrics/weekly_report.txt", context),
    )


@transaction.atomic
def make_report(monday: date, *, actor: Any = None, email: bool = True) -> WeeklyReport:
    """Make (or remake) the report of the week starting ``monday``, audited; with ``email``,
    send it to `TDP_WEEKLY_REPORT_TO` once the transaction commits."""
    if monday.weekday() != 0:
        raise ValueError(f"{monday} is not a Monday")
    html, text = render_report(monday)
    report, created = WeeklyReport.objects.update_or_create(
        week_start=monday,
        defaults={"week_end": monday + timedelta(days=7), "html": html, "text": text},
    )
    record(
        "metrics.report_made" if created else "metrics.report_remade",
        report,
        actor=actor,
        changes={"week_start": [None, monday.isoformat()]},
    )
    if email and settings.TDP_WEEKLY_REPORT_TO:
        transaction.on_commit(lambda: send_report(report.pk))
    return report


def send_report(report_id: int) -> None:
    """Email the report to `TDP_WEEKLY_REPORT_TO` and record when (or why not)."""
    report = WeeklyReport.objects.get(pk=report_id)
    recipients = list(settings.TDP_WEEKLY_REPORT_TO)
    message = EmailMultiAlternatives(
        subject=f"TDP weekly metrics, week of {report.week_start:%Y-%m-%d}",
        body=report.text,
        to=recipients,
    )
    message.attach_alternative(report.html, "text/html")
    try:
        message.send()
    except Exception as exc:  # an SMTP failure must not lose the stored report
        logger.warning("weekly report %s not emailed: %s", report.pk, exc)
        WeeklyReport.objects.filter(pk=report.pk).update(email_error=str(exc)[:1000])
        return
    WeeklyReport.objects.filter(pk=report.pk).update(
        emailed_to=recipients, emailed_at=timezone.now(), email_error=""
    )


def make_due_report(now: datetime | None = None) -> WeeklyReport | None:
    """Make last week's report if it is due (from Monday's report hour) and not made yet."""
    now = (now or timezone.now()).astimezone(UTC)
    monday = last_complete_week(now)
    due_at = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    if now < due_at + timedelta(hours=settings.TDP_WEEKLY_REPORT_HOUR):
        return None
    if WeeklyReport.objects.filter(week_start=monday).exists():
        return None
    return make_report(monday)
