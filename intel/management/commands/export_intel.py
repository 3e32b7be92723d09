"""`manage.py export_intel`: stream indicators to stdout as JSON lines, CSV, a list or STIX."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from intel.export import export_chunks
from intel.models import TLP, Indicator, IndicatorType, Status


class Command(BaseCommand):
    """Write the chosen indicators to stdout; TLP:RED only with --include-red."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", default="jsonl", choices=("jsonl", "csv", "txt", "stix", "json")
        )
        parser.add_argument("--status", action="append", choices=Status.values)
        parser.add_argument("--type", action="append", choices=IndicatorType.values)
        parser.add_argument("--source", help="only indicators reported by this source name")
        parser.add_argument("--tag")
        parser.add_argument(
            "--include-red", action="store_true", help="include TLP:RED intel (cleared use only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queryset = Indicator.objects.all()
        if options["status"]:
            queryset = queryset.filter(status__in=options["status"])
        if options["type"]:
            queryset = queryset.filter(type__in=options["type"])
        if options["source"]:
            queryset = queryset.filter(provenance__source__name=options["source"])
        if options["tag"]:
            queryset = queryset.filter(tags__contains=[options["tag"].lower()])
        if not options["include_red"]:
            queryset = queryset.exclude(tlp=TLP.RED)
        for chunk in export_chunks(queryset, options["format"]):
            self.stdout.write(chunk, ending="")
