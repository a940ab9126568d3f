"""Codes stored before code lists had a normal form ("008N", "028/01") rewritten in it ("8N",
"28/1"), so that a filter or a breakdown by code finds one code, whenever it was supplied."""

import pandas as pd
from django.db import migrations


def _normalise_stored_codes(apps, schema_editor):
    from datasets.codelists import RULES

    Dataset = apps.get_model("datasets", "Dataset")
    with schema_editor.connection.cursor() as cursor:
        for dataset in Dataset.objects.all():
            for field in dataset.descriptor.get("fields", []):
                rule = RULES.get((field.get("codeList") or {}).get("normalise", ""))
                if rule is None:
                    continue
                cursor.execute(
                    "SELECT DISTINCT data ->> %s FROM datasets_record "
                    "WHERE dataset_id = %s AND data ? %s",
                    [field["name"], dataset.pk, field["name"]],
                )
                written = [code for (code,) in cursor.fetchall() if code is not None]
                normal = rule.normalise(pd.Series(written, dtype="string"))
                for old, new in zip(written, normal, strict=True):
                    if pd.isna(new) or new == old:
                        continue
                    cursor.execute(
                        "UPDATE datasets_record SET data = jsonb_set(data, %s, to_jsonb(%s::text)) "
                        "WHERE dataset_id = %s AND data ->> %s = %s",
                        [[field["name"]], new, dataset.pk, field["name"], old],
                    )


class Migration(migrations.Migration):
    dependencies = [("datasets", "0012_alter_supply_file_format")]

    operations = [migrations.RunPython(_normalise_stored_codes, migrations.RunPython.noop)]
