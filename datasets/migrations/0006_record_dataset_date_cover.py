from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY: a warehouse of millions of records keeps taking supplies while
    # the index builds; it cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("datasets", "0005_dataset_retention"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="record",
            index=models.Index(
                fields=["dataset", "event_date"],
                include=["partnership", "supply", "postcode", "easting", "northing"],
                name="record_dataset_date_cover",
            ),
        ),
        RemoveIndexConcurrently(
            model_name="record",
            name="datasets_re_dataset_7d26d1_idx",
        ),
    ]
