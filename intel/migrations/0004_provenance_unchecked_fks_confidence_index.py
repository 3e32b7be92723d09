"""Provenance foreign keys without database constraints; an index for the list by confidence.

PostgreSQL checked both foreign keys of every provenance row one row at a time (about a sixth
of a million-row import); see IndicatorSource. The (confidence, id) index serves the indicator
list sorted by confidence, whose first page otherwise sorts every row its filters match.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intel", "0003_feeds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="indicatorsource",
            name="indicator",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="provenance",
                to="intel.indicator",
            ),
        ),
        migrations.AlterField(
            model_name="indicatorsource",
            name="source",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="provenance",
                to="intel.source",
            ),
        ),
        migrations.AddIndex(
            model_name="indicator",
            index=models.Index(fields=["confidence", "id"], name="indicator_confidence_id"),
        ),
    ]
