"""`manage.py refresh_suggestions`: recompute the false-positive suggestions now.

The scheduled job (every 15 minutes) calls the same function; this prints its counts.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tuning.suggestions import refresh_suggestions


class Command(BaseCommand):
    help = "Recompute the false-positive tuning suggestions from the hit labels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--min-labels", type=int, default=None, help="Default: TDP_TUNING_MIN_LABELS."
        )
        parser.add_argument(
            "--fp-rate", type=float, default=None, help="Default: TDP_TUNING_FP_RATE."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = refresh_suggestions(min_labels=options["min_labels"], rate=options["fp_rate"])
        self.stdout.write(json.dumps(result.as_dict()))
