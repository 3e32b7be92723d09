"""`manage.py import_intel PATH`: import a file of intel and print the counts as one JSON line."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intel.imports import get_or_create_source, import_stream
from intel.models import TLP, IndicatorType, Severity
from intel.parsers import FORMATS, ParseError


class Command(BaseCommand):
    """Parse PATH (CSV, list, JSON, JSON lines, STIX 2.1, MISP; gzip too) and ingest it.

    The last stdout line is a JSON object with received, created, updated, unchanged, rejected,
    skipped and errors (up to 20 `{"line", "reason"}` samples). Exit 0 when the file was read,
    even with rejected rows; non-zero with a one-line reason when it cannot be read at all.
    """

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="file to import, or - for standard input")
        parser.add_argument("--format", default="auto", choices=FORMATS)
        parser.add_argument("--source", help="source name (default: the file name)")
        parser.add_argument("--type", choices=IndicatorType.values, help="force every value's type")
        parser.add_argument("--tlp", choices=TLP.values)
        parser.add_argument("--confidence", type=int, choices=range(0, 101), metavar="0-100")
        parser.add_argument("--severity", choices=Severity.values, default=Severity.MEDIUM)
        parser.add_argument("--tags", default="", help="comma-separated tags for every row")
        parser.add_argument("--ttl-days", type=int, help="expiry in days (default: per type)")
        parser.add_argument("--value-column", help="CSV column / JSON key holding the value")
        parser.add_argument("--type-column", help="CSV column / JSON key holding the type")
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected)")
        parser.add_argument("--json-list-path", help="JSON: dotted path of the list to read")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        source_name = options["source"] or ("stdin" if path == "-" else Path(path).name)
        import_options = {
            "format": options["format"],
            "type": options["type"],
            "tlp": options["tlp"],
            "confidence": options["confidence"],
            "severity": options["severity"],
            "tags": [t.strip() for t in options["tags"].split(",") if t.strip()],
            "ttl_days": options["ttl_days"],
            "value_column": options["value_column"],
            "type_column": options["type_column"],
            "delimiter": options["delimiter"],
            "json_list_path": options["json_list_path"],
        }
        try:
            stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot open {path}: {exc.strerror}") from exc
        with stream:
            if path != "-" and Path(path).is_dir():
                raise CommandError(f"{path} is a directory, not a file")
            try:
                result = import_stream(
                    stream,
                    source=get_or_create_source(source_name),
                    options=import_options,
                    filename=Path(path).name,
                )
            except ParseError as exc:
                raise CommandError(f"cannot read {path}: {exc}") from exc
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc}") from exc
        self.stdout.write(json.dumps(result.as_dict()))
