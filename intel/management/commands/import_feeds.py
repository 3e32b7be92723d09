"""`manage.py import_feeds FILE.json`: create or update feeds (by name) from a JSON file."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from intel.feed_config import FeedConfigError, apply_feed_config, clean_feed_config


class Command(BaseCommand):
    """Read a JSON list of feeds (or one feed object) and create or update each by name.

    The whole file is validated first: one invalid feed changes nothing and names its error.
    """

    help = __doc__
    stealth_options = ("stdin",)  # call_command(..., stdin=StringIO(...)) for "-"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="JSON file, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        try:
            if path == "-":
                text = (options.get("stdin") or sys.stdin).read()
            else:
                text = Path(path).read_text(encoding="utf-8")
            data = json.loads(text)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from exc
        items = data if isinstance(data, list) else [data]
        try:
            cleaned = [clean_feed_config(item) for item in items]
        except FeedConfigError as exc:
            raise CommandError(str(exc)) from exc
        names = [values["name"] for values in cleaned]
        if len(set(names)) != len(names):
            raise CommandError("the file names the same feed twice")
        created = updated = 0
        with transaction.atomic():
            for values in cleaned:
                _, is_new = apply_feed_config(values, actor=None)
                created += is_new
                updated += not is_new
        self.stdout.write(
            json.dumps({"feeds": len(cleaned), "created": created, "updated": updated})
        )
