"""Seed the default rule: every active indicator of every type, live, grouped per author."""

from django.db import migrations

DEFAULT_RULE = "Known-bad intel"


def create_default_rule(apps, schema_editor):
    Rule = apps.get_model("detection", "Rule")
    Rule.objects.get_or_create(
        name=DEFAULT_RULE,
        defaults={
            "description": "Any active indicator, of any type, tag, source or confidence.",
            "is_enabled": True,
            "mode": "live",
            "indicator_types": [],
            "tags": [],
            "min_confidence": 0,
            "event_kinds": [],
            "threshold": 1,
            "severity": "medium",
            "policy_label": "other",
            "grouping": "per_author",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("detection", "0002_rule_hit")]

    # Reversing leaves the rule: it may have hits, and deleting it would lose them.
    operations = [migrations.RunPython(create_default_rule, migrations.RunPython.noop)]
