"""`manage.py scan_content PATH [--dry-run]`: scan a file of content events against intel."""

import json
import sys
from collections.abc import Iterator
from itertools import islice
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.scan import scan_events

BATCH_SIZE = 1000


class Command(BaseCommand):
    """Scan PATH (JSON lines, or one JSON array) of content events with the enabled rules.

    With --dry-run nothing is written: one JSON line per match
    `{"event", "rule", "type", "indicator", "field"}`, then `{"events", "matches", "rejected"}`
    (rule filters apply; per-author thresholds do not, since they count stored hits).
    Otherwise events and hits are stored (idempotently: scanning a file twice adds nothing) and
    the last line is `{"events", "hits", "cases", "rejected"}` (`cases`: cases opened).
    Rejected events are counted, with their reasons on stderr.
    """

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="file of content events, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="print matches, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path, dry_run = options["path"], options["dry_run"]
        try:
            stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot open {path}: {exc.strerror}") from exc
        totals = {"events": 0, "matches": 0, "hits": 0, "cases": 0, "rejected": 0}
        with stream:
            items = read_items(stream)
            while batch := list(islice(items, BATCH_SIZE)):
                for place, obj in batch:
                    if isinstance(obj, NotJson):
                        self.stderr.write(f"{place}: not JSON ({obj.error})")
                        totals["rejected"] += 1
                batch = [(place, obj) for place, obj in batch if not isinstance(obj, NotJson)]
                places = [place for place, _ in batch]
                result = scan_events([obj for _, obj in batch], dry_run=dry_run)
                for index, reason in result.rejected:
                    self.stderr.write(f"{places[index]}: {reason}")
                for match in result.matches if dry_run else ():
                    self.stdout.write(json.dumps(match.as_dict(), ensure_ascii=False))
                totals["events"] += result.events
                totals["matches"] += len(result.matches)
                totals["hits"] += result.hits
                totals["cases"] += result.cases
                totals["rejected"] += len(result.rejected)
        if dry_run:
            keys = ("events", "matches", "rejected")
            summary = {key: totals[key] for key in keys}
        else:
            summary = {key: totals[key] for key in ("events", "hits", "cases")}
            summary["rejected"] = totals["rejected"]
        self.stdout.write(json.dumps(summary))


class NotJson:
    """Stands in for a line that is not JSON, so it is reported with its place."""

    def __init__(self, error: str) -> None:
        self.error = error


def read_items(stream: TextIO) -> Iterator[tuple[str, object]]:
    """``(place, object)`` for each event: ``line N`` in JSON lines, ``item N`` in an array."""
    head, skipped = stream.read(1), 0
    while head and head.isspace():
        skipped += head == "\n"
        head = stream.read(1)
    if head == "[":
        try:
            items = json.loads(head + stream.read())
        except json.JSONDecodeError as exc:
            raise CommandError(f"not a JSON array: {exc}") from exc
        for number, item in enumerate(items, 1):
            yield f"item {number}", item
        return
    first = True
    for number, line in enumerate(stream, 1 + skipped):
        if first:
            line, first = head + line, False
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {number}", NotJson(exc.msg)
