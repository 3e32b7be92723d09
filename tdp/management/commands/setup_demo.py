"""`manage.py setup_demo`: demo users for each role and real public intel samples. Idempotent."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from intel.imports import get_or_create_source, import_stream
from intel.ingest import IngestSpec, ingest
from intel.models import Source
from intel.parsers import ParsedRow
from tdp.roles import ADMIN, ANALYST, CLEARED_GROUP, LEAD

DEMO_PASSWORD = "tdp-demo-password"  # noqa: S105  documented local demo login
DEMO_USERS = (
    # username, role, cleared for TLP:RED
    ("analyst", ANALYST, False),
    ("analyst2", ANALYST, True),
    ("lead", LEAD, True),
    ("admin", ADMIN, True),
)
DEMO_FEEDS = (
    # file under demo/feeds, source name, import options
    (
        "urlhaus_recent.csv",
        "abuse.ch URLhaus",
        {"tlp": "CLEAR", "confidence": 80, "tags": ["malware-distribution"]},
    ),
    (
        "feodotracker_ipblocklist.csv",
        "abuse.ch Feodo Tracker",
        {"tlp": "CLEAR", "confidence": 85, "tags": ["botnet-c2"], "value_column": "dst_ip"},
    ),
    ("ipsum.txt", "IPsum", {"tlp": "CLEAR", "confidence": 60, "tags": ["scanner"]}),
    (
        "blocklistproject_scam.txt",
        "Block List Project: scam",
        {"tlp": "CLEAR", "confidence": 60, "tags": ["scam"]},
    ),
    (
        "polkadot_phishing_all.json",
        "Polkadot{.js} phishing list",
        {"tlp": "CLEAR", "confidence": 70, "tags": ["crypto-scam"], "json_list_path": "deny"},
    ),
    ("misp_qakbot_emotet.json", "CIRCL OSINT (MISP)", {"tlp": "GREEN", "confidence": 75}),
    ("stix_poisonivy.json", "FireEye Poison Ivy report (STIX)", {"tlp": "GREEN", "confidence": 70}),
)
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
        cleared = Group.objects.get(name=CLEARED_GROUP)
        for username, role, is_cleared in DEMO_USERS:
            user, created = user_model.objects.get_or_create(username=username)
            if created:
                user.set_password(DEMO_PASSWORD)
            user.is_staff = role == ADMIN  # the django-rq dashboard and admin want staff
            user.email = f"{username}@tdp.example"
            user.save()
            user.groups.add(Group.objects.get(name=role))
            if is_cleared:
                user.groups.add(cleared)
            self.stdout.write(f"user {username}: {role}{' (cleared)' if is_cleared else ''}")

    def load_intel(self) -> None:
        feeds_dir = Path(settings.BASE_DIR) / "demo" / "feeds"
        for filename, source_name, options in DEMO_FEEDS:
            source = get_or_create_source(source_name, Source.Kind.FILE)
            with open(feeds_dir / filename, "rb") as stream:
                result = import_stream(stream, source=source, options=options, filename=filename)
            summary = {k: v for k, v in result.as_dict().items() if k != "errors"}
            self.stdout.write(f"{source_name}: {json.dumps(summary)}")
        red = get_or_create_source("Partner report (restricted)", Source.Kind.MANUAL)
        rows = [ParsedRow(line=i, value=v, type=t) for i, (t, v) in enumerate(RED_INTEL, 1)]
        ingest(rows, IngestSpec(source=red, tlp="RED", confidence=90, tags=["restricted"]))
        self.stdout.write("restricted TLP:RED demo intel loaded")
