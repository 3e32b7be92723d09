"""`manage.py refresh_metrics [--days N] [--full]`: refresh the metrics rollups now."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from metrics import rollups


class Command(BaseCommand):
    help = "Refresh the metrics rollup tables (recent days, or everything with --full)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="Recompute this many recent days."
        )
        parser.add_argument("--full", action="store_true", help="Rebuild every rollup.")

    def handle(self, *args: Any, **options: Any) -> str:
        run = rollups.refresh(full=options["full"], days=options["days"])
        counts = ", ".join(f"{table} {n}" for table, n in sorted(run.counts.items()))
        return f"refresh {run.pk} ({run.kind}) in {run.duration_ms} ms: {counts}"
