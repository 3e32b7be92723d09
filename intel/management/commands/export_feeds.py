"""`manage.py export_feeds`: print every feed's configuration as JSON (never its secrets)."""

import json
from typing import Any

from django.core.management.base import BaseCommand

from intel.feed_config import export_feed_config
from intel.models import Feed


class Command(BaseCommand):
    """Write the feeds as the JSON list `import_feeds` reads, for version control."""

    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        feeds = [export_feed_config(feed) for feed in Feed.objects.order_by("name")]
        self.stdout.write(json.dumps(feeds, indent=2))
