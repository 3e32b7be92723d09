"""`manage.py export_playbooks [--output FILE]`: every playbook as a JSON list."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from automation.models import Playbook
from automation.playbooks import export_playbook


class Command(BaseCommand):
    """Write every playbook in the file form `import_playbooks` reads (a JSON list, by name).

    Webhook secrets are included, so keep the file where secrets belong.
    """

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        data = [export_playbook(p) for p in Playbook.objects.order_by("position", "name")]
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"{len(data)} playbooks written to {options['output']}")
        else:
            self.stdout.write(text, ending="")
