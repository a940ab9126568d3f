"""The records' field columns: every dataset's stored fields as typed columns of the one
records table, named ``f_<field>``, added from the schema files by ``load_catalogue`` (DDL,
not a migration per dataset).

Typed columns load without PostgreSQL parsing JSON for every record, and extracts read them
without a lookup per field per row. A field name means one thing, of one type, across the
catalogue (``crime_ref`` in the offence, victim and offender files), so the datasets share
its column; the columns of one dataset are NULL in another's rows, which costs a bit each.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection
from psycopg2 import sql

from datasets.catalogue import (
    PERSONAL_ROLES,
    CatalogueError,
    DatasetSchema,
    primary_group,
    withheld_fields,
)
from datasets.choices import FieldType
from datasets.copytext import TO_DATE

FIELD_PREFIX = "f_"
SQL_TYPES = {
    FieldType.STRING: "text",
    FieldType.INTEGER: "bigint",
    FieldType.NUMBER: "double precision",
    FieldType.DATE: "date",
    FieldType.TIME: "time without time zone",
    FieldType.BOOLEAN: "boolean",
}
# The sanitised location of a group other than the primary one (whose location is the
# records' common columns), as sanitise.services.sanitise_frame names it.
GROUP_LOCATION_TYPES = {
    "easting": "integer",
    "northing": "integer",
    "postcode": "text",
    "location_method": "text",
}
# The index that finds a dataset's records by a field other datasets link to them by.
LINK_INDEX_PREFIX = "record_link_"
# How long adding columns waits for the records table before giving up (and the
# catalogue's change with it): run it again when the table is quieter.
LOCK_TIMEOUT_SECONDS = 10


def stored_columns(schema: DatasetSchema) -> dict[str, str]:
    """The fields a dataset's records keep, name → SQL type: what sanitisation leaves of them
    (never an identifying field, save an address reduced to its street and a postcode made
    safe), and the sanitised location of each group but the primary one."""
    withheld = withheld_fields(schema)
    # What sanitisation puts back in their place (sanitise.services): a street, a safe postcode.
    replaced = {group.address for group in schema.locations} | {
        group.postcode for group in schema.locations if group.role in PERSONAL_ROLES
    }
    replaced.discard(None)
    names = set(schema.field_names)
    derived = {"age"} if {"age", "date_of_birth"} <= names else set()
    columns = {
        spec.name: SQL_TYPES[spec.type]
        for spec in schema.fields
        if spec.name in replaced | derived or spec.name not in withheld
    }
    primary = primary_group(schema)
    for group in schema.locations:
        if group is not primary:
            columns.update(
                {f"{group.role}_{part}": kind for part, kind in GROUP_LOCATION_TYPES.items()}
            )
    return columns


def field_column(name: str) -> sql.Identifier:
    return sql.Identifier(FIELD_PREFIX + name)


def field_sql(alias: str, name: str) -> sql.Composable:
    """A field of the record ``alias``, typed."""
    return sql.SQL("{}.{}").format(sql.Identifier(alias), field_column(name))


def field_text_sql(alias: str, name: str) -> sql.Composable:
    """A field as text: ISO dates, HH:MM:SS times, true/false; NULL where missing."""
    return sql.SQL("({}::text)").format(field_sql(alias, name))


def _record_table() -> str:
    from datasets.models import Record

    return Record._meta.db_table


def _existing_columns(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        return dict(cursor.fetchall())


def storage_sync(schemas: Iterable[DatasetSchema]) -> list[str]:
    """Add the field columns the schemas need to the records table, and an index on each
    field that links records of two datasets; returns the columns added.

    Columns are never dropped or retyped here: older supplies keep what they hold. A field
    named as another dataset's field of a different type is refused, naming both, before
    anything changes; the table is not locked when nothing is to be added, and the change
    gives up after LOCK_TIMEOUT_SECONDS rather than hold up every query while it waits.
    """
    table = _record_table()
    existing = _existing_columns(table)
    wanted: dict[str, tuple[str, str]] = {}
    links: set[str] = set()
    for schema in schemas:
        for name, kind in stored_columns(schema).items():
            column = FIELD_PREFIX + name
            seen = wanted.get(column) or (
                (existing[column], "records already stored") if column in existing else None
            )
            if seen is not None and seen[0] != kind:
                raise CatalogueError(
                    f"{schema.slug}: the field {name} is {kind} here but {seen[0]} in {seen[1]}; "
                    "a field name means one thing across the catalogue, so rename one of them."
                )
            wanted[column] = (kind, schema.slug)
        links |= {fields[0] for fields, _ in schema.links if len(fields) == 1}
    added = [column for column in wanted if column not in existing]
    indexes = {f"{LINK_INDEX_PREFIX}{name}": name for name in sorted(links)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        missing = [index for index in indexes if index not in {n for (n,) in cursor.fetchall()}]
        if added or missing:
            # A load holds the table for its whole pass, an extract while it reads: rather than
            # queue every other query behind this change while it waits, give up and say so.
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{LOCK_TIMEOUT_SECONDS}s"])
        for column in added:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    sql.Identifier(table), sql.Identifier(column), sql.SQL(wanted[column][0])
                )
            )
        for index in missing:
            cursor.execute(
                sql.SQL("CREATE INDEX {} ON {} (dataset_id, {})").format(
                    sql.Identifier(index), sql.Identifier(table), field_column(indexes[index])
                )
            )
    return added


def copy_values(values: pd.Series, kind: str) -> pa.Array:
    """A column of sanitised values as the text COPY reads for a column of SQL type ``kind``
    (null where missing)."""
    if kind in ("bigint", "integer"):
        numbers = pd.to_numeric(values, errors="raise")
        if pd.api.types.is_float_dtype(numbers.dtype):
            numbers = numbers.round()
        array = pa.array(numbers.astype("Int64"), type=pa.int64(), from_pandas=True)
    elif kind == "double precision":
        array = pa.array(pd.to_numeric(values, errors="raise"), type=pa.float64(), from_pandas=True)
    elif kind == "date":
        dates = pd.to_datetime(values)
        if dates.dt.tz is not None:
            dates = dates.dt.tz_localize(None)
        array = pc.cast(pa.array(dates, from_pandas=True), options=TO_DATE)
    elif kind == "boolean":
        array = pa.array(values.astype("boolean"), type=pa.bool_(), from_pandas=True)
    else:
        try:
            array = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            # Text that came as another type (a code read as a number): written as text.
            array = pa.array(
                values.map(str, na_action="ignore"), type=pa.string(), from_pandas=True
            )
    return pc.cast(array, pa.string())
