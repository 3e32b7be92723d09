"""A covering (indicator, day) index for precision reads, built concurrently (refreshes keep
writing meanwhile); the foreign key's own index goes (the covering one starts with it)."""

import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("intel", "0003_feeds"),
        ("metrics", "0002_admin_permissions"),
    ]

    operations = [
        RemoveIndexConcurrently(
            model_name="indicatorday",
            name="indicatorday_indicator",
        ),
        migrations.AlterField(
            model_name="indicatorday",
            name="indicator",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="intel.indicator",
            ),
        ),
        AddIndexConcurrently(
            model_name="indicatorday",
            index=models.Index(
                fields=["indicator", "day"],
                include=("hits", "cases", "labelled", "true_positive", "false_positive"),
                name="indicatorday_indicator_sums",
            ),
        ),
    ]
