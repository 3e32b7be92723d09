"""`manage.py setup_demo`: demo users for each role, real public intel samples and example
playbooks (demo/playbooks.json). Idempotent."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandParser

from automation.models import Playbook
from automation.playbooks import save_playbook
from intel.feed_config import apply_feed_config, clean_feed_config
from intel.feeds import pull
from intel.imports import get_or_create_source
from intel.ingest import IngestSpec, ingest
from intel.models import FeedRun, Source
from intel.parsers import ParsedRow
from tdp.roles import ADMIN, ANALYST, LEAD, assign_role

DEMO_PASSWORD = "tdp-demo-password"  # noqa: S105  documented local demo login
DEMO_USERS = (
    # username, role, cleared for TLP:RED
    ("analyst", ANALYST, False),
    ("analyst2", ANALYST, True),
    ("lead", LEAD, True),
    ("admin", ADMIN, True),
)
# demo/feeds.json configures file-kind feeds; each is served from its file under demo/feeds/.
DEMO_FEED_FILES = {
    "abuse.ch URLhaus (recent)": "urlhaus_recent.csv",
    "abuse.ch Feodo Tracker": "feodotracker_ipblocklist.csv",
    "IPsum": "ipsum.txt",
    "Block List Project: scam": "blocklistproject_scam.txt",
    "Polkadot{.js} phishing list": "polkadot_phishing_all.json",
    "CIRCL OSINT (MISP)": "misp_qakbot_emotet.json",
    "FireEye Poison Ivy report (STIX)": "stix_poisonivy.json",
}
# A few TLP:RED items so the clearance rule can be seen: only cleared users find them.
RED_INTEL = (
    ("domain", "partner-takedown-target.example"),
    ("account", "@restricted_case_actor"),
    ("url", "https://red-only.example/staging/payload"),
)


class Command(BaseCommand):
    """Create the demo users (password: tdp-demo-password) and import the demo feeds."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        self.create_users()
        if not options["users_only"]:
            self.load_intel()

    def create_users(self) -> None:
        user_model = get_user_model()
        for username, role, is_cleared in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"email": f"{username}@tdp.example"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            assign_role(user, role, cleared=is_cleared)
            self.stdout.write(f"user {username}: {role}{' (cleared)' if is_cleared else ''}")

    def load_intel(self) -> None:
        demo_dir = Path(settings.BASE_DIR) / "demo"
        for config in json.loads((demo_dir / "feeds.json").read_text()):
            feed, _ = apply_feed_config(clean_feed_config(config), actor=None)
            if not feed.file:
                filename = DEMO_FEED_FILES[feed.name]
                with open(demo_dir / "feeds" / filename, "rb") as handle:
                    feed.file.save(filename, File(handle))
            if not feed.runs.exists():  # a first run, so the feed list shows real health
                run = pull(feed, trigger=FeedRun.Trigger.COMMAND)
                counts = {name: getattr(run, name) for name in FeedRun.COUNT_FIELDS}
                self.stdout.write(f"feed {feed.name}: {run.status} {json.dumps(counts)}")
        red = get_or_create_source("Partner report (restricted)", Source.Kind.MANUAL)
        rows = [ParsedRow(line=i, value=v, type=t) for i, (t, v) in enumerate(RED_INTEL, 1)]
        ingest(rows, IngestSpec(source=red, tlp="RED", confidence=90, tags=["restricted"]))
        self.stdout.write("restricted TLP:RED demo intel loaded")
        for data in json.loads((demo_dir / "playbooks.json").read_text()):
            if Playbook.objects.filter(name=data["name"]).exists():
                continue  # never overwrite what an admin changed since
            playbook, _ = save_playbook(data, actor="setup_demo")
            self.stdout.write(f"playbook {playbook.name} created")
