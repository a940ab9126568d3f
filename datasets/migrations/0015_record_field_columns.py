"""The records' fields move from one JSON column to typed columns, f_<field> (datasets.storage),
each dataset's as its schema (as last loaded) types them; then the JSON column goes. A record
holding a field its schema no longer stores stops the migration, naming it, rather than lose
it. Undone, the columns go back into the JSON column."""

from django.db import migrations, models
from psycopg2 import sql

CASTS = {
    "bigint": "(data ->> {key})::numeric::bigint",
    "integer": "round((data ->> {key})::numeric)::integer",
}


def _fields_to_columns(apps, schema_editor):
    from datasets.catalogue import schema_from_descriptor
    from datasets.storage import FIELD_PREFIX, storage_sync, stored_columns

    Dataset = apps.get_model("datasets", "Dataset")
    schemas = {
        dataset.pk: schema_from_descriptor(dataset.descriptor, where=dataset.slug)
        for dataset in Dataset.objects.all()
    }
    storage_sync(schemas.values())
    with schema_editor.connection.cursor() as cursor:
        for pk, schema in schemas.items():
            columns = stored_columns(schema)
            cursor.execute(
                "SELECT DISTINCT field.key FROM datasets_record, jsonb_each(data) AS field "
                "WHERE dataset_id = %s AND field.value <> 'null'::jsonb",
                [pk],
            )
            unknown = sorted({key for (key,) in cursor.fetchall()} - set(columns))
            if unknown:
                raise RuntimeError(
                    f"Records of {schema.slug} hold fields its schema does not store: "
                    f"{', '.join(unknown)}. Add them to the schema file, or export and remove "
                    "those records, then migrate again."
                )
            assignments = [
                sql.SQL("{} = " + CASTS.get(kind, "(data ->> {key})::" + kind)).format(
                    sql.Identifier(FIELD_PREFIX + name), key=sql.Literal(name)
                )
                for name, kind in columns.items()
            ]
            # The JSON emptied as it is read, so that the rows' new versions do not carry it.
            assignments.append(sql.SQL("data = NULL"))
            cursor.execute(
                sql.SQL("UPDATE datasets_record SET {} WHERE dataset_id = %s").format(
                    sql.SQL(", ").join(assignments)
                ),
                [pk],
            )


def _columns_to_fields(apps, schema_editor):
    from datasets.catalogue import schema_from_descriptor
    from datasets.storage import FIELD_PREFIX, stored_columns

    Dataset = apps.get_model("datasets", "Dataset")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'datasets_record'::regclass "
            "AND attnum > 0 AND NOT attisdropped AND starts_with(attname, %s)",
            [FIELD_PREFIX],
        )
        present = {name for (name,) in cursor.fetchall()}
        for dataset in Dataset.objects.all():
            schema = schema_from_descriptor(dataset.descriptor, where=dataset.slug)
            names = [n for n in stored_columns(schema) if FIELD_PREFIX + n in present]
            members = [
                sql.SQL("{}, to_jsonb({})").format(
                    sql.Literal(name), sql.Identifier(FIELD_PREFIX + name)
                )
                for name in names
            ]
            cursor.execute(
                sql.SQL("UPDATE datasets_record SET data = jsonb_build_object({}) "
                        "WHERE dataset_id = %s").format(sql.SQL(", ").join(members)),
                [dataset.pk],
            )  # fmt: skip
        cursor.execute("UPDATE datasets_record SET data = '{}' WHERE data IS NULL")
        for name in sorted(present):
            cursor.execute(
                sql.SQL("ALTER TABLE datasets_record DROP COLUMN {}").format(sql.Identifier(name))
            )


class Migration(migrations.Migration):
    dependencies = [("datasets", "0014_record_areas")]

    operations = [
        # Nullable first, so that undoing the migration can add it back before refilling it.
        migrations.AlterField(model_name="record", name="data", field=models.JSONField(null=True)),
        migrations.RunPython(_fields_to_columns, _columns_to_fields),
        migrations.RemoveIndex(model_name="record", name="record_crime_ref"),
        migrations.RemoveField(model_name="record", name="data"),
    ]
