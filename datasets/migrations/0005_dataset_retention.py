import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0004_supplyschedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="records_retention_months",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
                help_text="Months records are kept after their event date (or period); "
                "empty uses HUB_RECORDS_RETENTION_MONTHS.",
            ),
        ),
        migrations.AddField(
            model_name="dataset",
            name="identifying_retention_days",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
                help_text="Days identifying fields are kept after their event date (or period); "
                "empty uses HUB_IDENTIFYING_RETENTION_DAYS.",
            ),
        ),
    ]
