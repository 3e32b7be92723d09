"""The weekly report: made once when due, emailed through Django's email backend, stored,
listed, viewed and downloaded under its own CSP, never naming TLP:RED intel."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from metrics import reports, rollups
from metrics.models import WeeklyReport
from tdp.models import AuditEntry
from tests.metrics.conftest import NOON, hits_with_labels

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 10, 12)  # NOON (Wednesday 14th) is in this week


@pytest.fixture
def recipients(settings):
    settings.TDP_WEEKLY_REPORT_TO = ["leads@example.org"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_report_is_made_and_emailed(
    world, recipients, django_capture_on_commit_callbacks
) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=3, fp=1, at=NOON)
    rollups.refresh(full=True)
    with django_capture_on_commit_callbacks(execute=True):
        report = reports.make_report(MONDAY)
    assert "Phish" in report.html and "75.0%" in report.html and "<svg" in report.html
    [message] = mail.outbox
    assert message.to == ["leads@example.org"]
    assert "week of 2026-10-12" in message.subject
    assert "Phish: 4 hits, precision 75.0%" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and html == report.html
    report.refresh_from_db()
    assert report.emailed_to == ["leads@example.org"] and report.emailed_at is not None
    assert AuditEntry.objects.filter(action="metrics.report_made").exists()


def test_without_recipients_the_report_is_only_stored(world, settings) -> None:
    settings.TDP_WEEKLY_REPORT_TO = []
    report = reports.make_report(MONDAY)
    assert mail.outbox == [] and report.emailed_at is None


def test_a_failing_mail_server_leaves_the_report_stored(
    world, recipients, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no SMTP")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        report = reports.make_report(MONDAY)
    report.refresh_from_db()
    assert report.emailed_at is None and "no SMTP" in report.email_error


def test_the_report_counts_only_its_week_and_never_names_tlp_red(world, lead) -> None:
    hits_with_labels(world["phish"], world["red"], fp=5, at=NOON)
    hits_with_labels(world["phish"], world["a_only"], fp=1, at=NOON)
    hits_with_labels(world["spam"], world["a_only"], fp=9, at=NOON + timedelta(days=7))
    html, text = reports.render_report(MONDAY)
    assert "a.example" in html and "red.example" not in html
    assert "Spam" not in html and "Phish: 6 hits" in text


def test_the_due_report_is_made_once_from_monday_morning(world, recipients) -> None:
    monday = datetime(2026, 10, 19, tzinfo=UTC)
    assert reports.make_due_report(monday + timedelta(hours=6)) is None
    report = reports.make_due_report(monday + timedelta(hours=7))
    assert report.week_start == MONDAY
    assert reports.make_due_report(monday + timedelta(days=2)) is None
    assert WeeklyReport.objects.count() == 1


def test_only_mondays_start_a_week() -> None:
    with pytest.raises(ValueError, match="not a Monday"):
        reports.make_report(date(2026, 10, 13))


def test_reports_are_listed_viewed_and_downloaded_by_leads(lead_client, analyst_client) -> None:
    report = reports.make_report(MONDAY, email=False)
    listing = lead_client.get(reverse("metrics:report_list")).content.decode()
    assert (
        "2026-10-12" in listing and reverse("metrics:report_download", args=[report.pk]) in listing
    )
    view = lead_client.get(reverse("metrics:report_detail", args=[report.pk]))
    assert view["Content-Security-Policy"].startswith("sandbox")
    assert view["Content-Disposition"].startswith("inline")
    download = lead_client.get(reverse("metrics:report_download", args=[report.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="tdp-weekly-2026-10-12.html"'
    assert download.content.decode() == report.html
    for name in ("report_detail", "report_download"):
        assert analyst_client.get(reverse(f"metrics:{name}", args=[report.pk])).status_code == 403
    assert lead_client.get(reverse("metrics:report_detail", args=[999])).status_code == 404


def test_a_lead_can_make_last_weeks_report_now(lead_client, lead, analyst_client) -> None:
    assert analyst_client.post(reverse("metrics:report_make")).status_code == 403
    assert lead_client.get(reverse("metrics:report_make")).status_code == 405
    response = lead_client.post(reverse("metrics:report_make"))
    assert response.status_code == 302
    report = WeeklyReport.objects.get()
    assert report.week_start == reports.last_complete_week()
    assert AuditEntry.objects.get(action="metrics.report_made").user == lead


def test_the_command_makes_a_given_weeks_report(world, settings) -> None:
    import io

    from django.core.management import call_command

    settings.TDP_WEEKLY_REPORT_TO = []
    out = io.StringIO()
    call_command("weekly_report", "--week", "2026-10-14", "--no-email", stdout=out)
    assert "week of 2026-10-12" in out.getvalue()
    assert WeeklyReport.objects.get().week_start == MONDAY
    assert AuditEntry.objects.get(action="metrics.report_made").user_name == "manage.py"
