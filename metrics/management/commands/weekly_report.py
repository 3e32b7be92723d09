"""`manage.py weekly_report [--week YYYY-MM-DD] [--no-email]`: make a weekly report now."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics import reports


class Command(BaseCommand):
    help = "Make (or remake) the weekly metrics report of a week; last week by default."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--week", help="A day of the week to report (default: last week).")
        parser.add_argument("--no-email", action="store_true", help="Store it only.")

    def handle(self, *args: Any, **options: Any) -> str:
        if options["week"]:
            try:
                day = date.fromisoformat(options["week"])
            except ValueError as exc:
                raise CommandError(f"--week: {exc}") from exc
            monday = reports.week_start(day)
        else:
            monday = reports.last_complete_week()
        report = reports.make_report(monday, actor="manage.py", email=not options["no_email"])
        return f"weekly report {report.pk} for the week of {monday:%Y-%m-%d}"
