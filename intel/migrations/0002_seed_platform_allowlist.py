"""Seed the allowlist with the platform's own domains, which must never become active intel.

The list sits beside this migration (platform_allowlist.json) so it can be reviewed on its own.
"""

import json
from pathlib import Path

from django.db import migrations

SEED_FILE = Path(__file__).with_name("platform_allowlist.json")


def seed(apps, schema_editor):
    AllowlistEntry = apps.get_model("intel", "AllowlistEntry")
    for item in json.loads(SEED_FILE.read_text()):
        AllowlistEntry.objects.get_or_create(
            kind=item["kind"], value=item["value"], defaults={"reason": item["reason"]}
        )


def unseed(apps, schema_editor):
    AllowlistEntry = apps.get_model("intel", "AllowlistEntry")
    for item in json.loads(SEED_FILE.read_text()):
        AllowlistEntry.objects.filter(kind=item["kind"], value=item["value"], owner=None).delete()


class Migration(migrations.Migration):
    dependencies = [("intel", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
