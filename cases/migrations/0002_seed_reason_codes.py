"""Seed the false-positive reason codes every install starts with (admins can add more)."""

from django.db import migrations

REASONS = [
    ("stale_indicator", "Stale indicator", False),
    ("benign_site", "Benign site", False),
    ("news_or_research", "News or research", False),
    ("wrong_entity", "Wrong entity", False),
    ("parody_or_satire", "Parody or satire", False),
    ("other", "Other (explain in a note)", True),
]


def seed(apps, schema_editor):
    ReasonCode = apps.get_model("cases", "ReasonCode")
    for position, (code, label, needs_note) in enumerate(REASONS, 1):
        ReasonCode.objects.get_or_create(
            code=code, defaults={"label": label, "needs_note": needs_note, "position": position * 10}
        )
    apps.get_model("cases", "TriageConfig").objects.get_or_create(pk=1)


def unseed(apps, schema_editor):
    apps.get_model("cases", "ReasonCode").objects.filter(code__in=[r[0] for r in REASONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
