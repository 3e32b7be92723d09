"""`manage.py import_playbooks FILE.json`: create or update playbooks by name from a file."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from automation.playbooks import PlaybookError, save_playbook, validate_playbook


class Command(BaseCommand):
    """Read one playbook object, a list of them, or {"playbooks": [...]} (- for stdin).

    Every playbook is checked before any is saved: one invalid playbook (unknown keys,
    triggers, conditions or actions are named in the error) saves nothing. Prints one line
    per playbook (created, updated or unchanged) and a JSON summary last.
    """

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="JSON file of playbooks, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        import sys

        path = options["path"]
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not JSON: {exc}") from exc
        if isinstance(data, dict) and "playbooks" in data and set(data) == {"playbooks"}:
            data = data["playbooks"]
        items = data if isinstance(data, list) else [data]
        names: set[str] = set()
        try:
            for number, item in enumerate(items, 1):
                clean = validate_playbook(item, where=f"playbook {number}")
                if clean["name"] in names:
                    raise PlaybookError(f"playbook {clean['name']!r} appears twice")
                names.add(clean["name"])
        except PlaybookError as exc:
            raise CommandError(str(exc)) from exc
        counts = {"created": 0, "updated": 0}
        with transaction.atomic():
            for item in items:
                playbook, created = save_playbook(item, actor="import_playbooks")
                counts["created" if created else "updated"] += 1
                self.stdout.write(f"{'created' if created else 'updated'} {playbook.name}")
        self.stdout.write(json.dumps(counts))
