"""`manage.py demo_stream`: submit a few synthetic content events per second (for `make up`)."""

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from detection.batches import submit_batch
from detection.demo import sample_intel, synthetic_events


class Command(BaseCommand):
    """Every second, submit a small batch of synthetic events through the intake path.

    Some events carry real demo intel, so the default rule turns them into hits. Stops cleanly
    on Ctrl-C / SIGTERM, or after --batches batches.
    """

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rate", type=int, default=5, help="events per second")
        parser.add_argument("--batches", type=int, default=0, help="stop after N (0 = forever)")
        parser.add_argument("--match-rate", type=float, default=0.05)
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between batches")

    def handle(self, *args: Any, **options: Any) -> None:
        self.running = True
        signal.signal(signal.SIGTERM, self.stop)
        intel = sample_intel()
        sent = 0
        while self.running and (not options["batches"] or sent < options["batches"]):
            events = list(
                synthetic_events(options["rate"], intel, match_rate=options["match_rate"])
            )
            batch = submit_batch(events, actor=None)
            sent += 1
            self.stdout.write(f"batch {batch.pk}: {len(events)} events")
            if not options["batches"] or sent < options["batches"]:
                try:
                    time.sleep(options["interval"])
                except KeyboardInterrupt:
                    break

    def stop(self, *args: Any) -> None:
        """Finish the current batch, then stop."""
        self.running = False
