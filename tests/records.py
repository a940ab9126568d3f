"""Records made and read as the load stores them: the common columns through the ORM, each
dataset's fields in their typed columns (datasets.storage)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from psycopg2 import sql

from datasets.models import Record
from datasets.storage import FIELD_PREFIX, field_column

TABLE = sql.Identifier(Record._meta.db_table)


def fields_set(record_id: int, fields: dict) -> None:
    """Write a record's fields (by field name) into their columns."""
    if not fields:
        return
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = %s").format(field_column(name)) for name in fields
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("UPDATE {} SET {} WHERE id = %s").format(TABLE, assignments),
            [*fields.values(), record_id],
        )


def record_create(*, data: dict | None = None, **columns) -> Record:
    """Record.objects.create, with the record's fields given as ``data``."""
    record = Record.objects.create(**columns)
    fields_set(record.pk, data or {})
    return record


def records_create(rows: Iterable[dict]) -> list[Record]:
    """Records from keyword dicts as record_create takes them, in one bulk insert."""
    rows = [dict(row) for row in rows]
    fields = [row.pop("data", None) or {} for row in rows]
    records = Record.objects.bulk_create([Record(**row) for row in rows])
    for record, values in zip(records, fields, strict=True):
        fields_set(record.pk, values)
    return records


def record_fields(record: Record | int) -> dict:
    """A record's fields, by field name; those it has no value for left out."""
    record_id = record.pk if isinstance(record, Record) else record
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT * FROM {} WHERE id = %s").format(TABLE), [record_id])
        names = [column.name for column in cursor.description]
        row = cursor.fetchone()
    return {
        name[len(FIELD_PREFIX) :]: value
        for name, value in zip(names, row, strict=True)
        if name.startswith(FIELD_PREFIX) and value is not None
    }


def records_with(**fields):
    """Record.objects filtered by fields' values (compared as text)."""
    where = sql.SQL(" AND ").join(
        sql.SQL("{}::text = %s").format(field_column(name)) for name in fields
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT id FROM {} WHERE {}").format(TABLE, where),
            [str(value) for value in fields.values()],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    return Record.objects.filter(pk__in=ids)
