"""`manage.py backtest --rule NAME [--days N] [--indicators FILE]`: replay stored events.

Replays the stored content events of the last N days (default: the retention period) against
the rule, with active intel changed by FILE (one indicator per line: ``type,value`` or a plain
value is added; ``-`` before it removes it; see `tuning.backtest.changes`). Writes nothing to
the queue or anywhere else. Prints a short report, then as its last line exactly
``{"events": n, "would_hit": n, "labelled_true_positive": n, "labelled_false_positive": n,
"new_cases": n}``.
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.models import Rule
from tuning.backtest import parse_indicator_changes, run_backtest


class Command(BaseCommand):
    help = "Back-test a rule over the stored events of the last N days; writes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rule", required=True, help="The rule's exact name.")
        parser.add_argument(
            "--days", type=int, default=None, help="Days to replay (default: the retention)."
        )
        parser.add_argument(
            "--indicators", type=Path, default=None, help="A file of indicator changes."
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="Processes (default TDP_BACKTEST_WORKERS)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rule = Rule.objects.prefetch_related("sources").filter(name=options["rule"]).first()
        if rule is None:
            raise CommandError(f"no rule named {options['rule']!r}")
        days = options["days"] or settings.TDP_EVENT_RETENTION_DAYS
        if days < 1:
            raise CommandError("--days must be at least 1")
        changes = None
        if options["indicators"] is not None:
            try:
                with options["indicators"].open(encoding="utf-8") as lines:
                    changes = parse_indicator_changes(lines)
            except OSError as exc:
                raise CommandError(f"cannot read {options['indicators']}: {exc}") from exc
            for error in changes.errors:
                self.stderr.write(f"skipped {error}")
            if changes.rejected > len(changes.errors):
                self.stderr.write(f"... {changes.rejected} lines skipped in all")
        result = run_backtest(rule, days=days, changes=changes, workers=options["workers"])
        self.stdout.write(
            f"rule {rule.name!r}, days {result.since} to {result.until}: "
            f"{result.indicators:,} indicators (added {result.added:,}, already active "
            f"{result.already_active:,}, removed {result.removed:,}), {result.hits:,} would-be "
            f"hits, {result.seconds:.1f} s"
        )
        self.stdout.write(json.dumps(result.summary()))
