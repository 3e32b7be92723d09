"""`manage.py rescan_queued_batches`: queue again intake batches stuck in queued or running."""

from typing import Any

from django.core.management.base import BaseCommand

from detection.batches import requeue_stale_batches


class Command(BaseCommand):
    """Queue again batches queued over 5 minutes ago (Redis was down) or left running by a
    worker that died; prints how many. The cron tick in tdp/cron.py does the same."""

    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        ids = requeue_stale_batches()
        self.stdout.write(f"requeued {len(ids)} batches")
