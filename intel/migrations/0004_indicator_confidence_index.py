"""An index for the indicator list sorted by confidence.

The (confidence, id) index serves the list sorted by confidence, whose first page otherwise
sorts every row its filters match.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intel", "0003_feeds"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="indicator",
            index=models.Index(fields=["confidence", "id"], name="indicator_confidence_id"),
        ),
    ]
