import django.db.models.deletion
from django.db import migrations, models

# The counts of the records already in the warehouse, as datasets.summary keeps them from now
# on. Writes to the records wait while the table fills, so that no load commits unseen between
# the count and the end of this migration.
FILL = """
LOCK TABLE datasets_record IN SHARE MODE;
INSERT INTO datasets_recordmonthlycount
    (supply_id, dataset_id, partnership_id, month, district, count)
SELECT supply_id, dataset_id, partnership_id, date_trunc('month', event_date)::date,
       split_part(postcode, ' ', 1), count(*)
FROM datasets_record
WHERE event_date IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0006_record_dataset_date_cover"),
        ("hub", "0004_api_token"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordMonthlyCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "month",
                    models.DateField(help_text="The first day of the records' event month."),
                ),
                (
                    "district",
                    models.CharField(
                        blank=True,
                        help_text="The postcode district; empty for unlocated records.",
                        max_length=8,
                    ),
                ),
                ("count", models.PositiveIntegerField()),
                (
                    "dataset",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="datasets.dataset",
                    ),
                ),
                (
                    "partnership",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="hub.partnership",
                    ),
                ),
                (
                    "supply",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="datasets.supply",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["dataset", "partnership", "month"],
                        include=("supply", "district", "count"),
                        name="record_monthly_count_read",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("supply", "dataset", "partnership", "month", "district"),
                        name="record_monthly_count_unique",
                    )
                ],
            },
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
    ]
