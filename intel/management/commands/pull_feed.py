"""`manage.py pull_feed NAME [--force]`: pull one feed now and print the run as one JSON line."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intel.feeds import FeedBusy, pull
from intel.models import Feed, FeedRun


class Command(BaseCommand):
    """Run one pull in the foreground (the same function the scheduled job calls).

    Prints `{"status": "success|partial|failed|unchanged", "received": n, "created": n,
    "updated": n, "unchanged": n, "rejected": n, "expired": n, ...}`. Exits non-zero when the
    pull failed or the feed does not exist; `--force` ignores the ETag / Last-Modified.
    """

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the feed's name")
        parser.add_argument("--force", action="store_true", help="fetch even if unchanged")

    def handle(self, *args: Any, **options: Any) -> None:
        feed = Feed.objects.select_related("source").filter(name=options["name"]).first()
        if feed is None:
            raise CommandError(f"no feed named {options['name']!r}")
        try:
            run = pull(feed, force=options["force"], trigger=FeedRun.Trigger.COMMAND)
        except FeedBusy as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(run.as_dict()))
        if run.status == FeedRun.Status.FAILED:
            raise CommandError(f"the pull failed: {run.error}")
