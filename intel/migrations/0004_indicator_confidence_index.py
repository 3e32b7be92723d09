"""An index for the indicator list sorted by confidence.

The (confidence, id) index serves the list sorted by confidence, whose first page otherwise
sorts every row its filters match. Built concurrently: imports keep writing meanwhile.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("intel", "0003_feeds"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="indicator",
            index=models.Index(fields=["confidence", "id"], name="indicator_confidence_id"),
        ),
    ]
