"""The records' monthly summaries, kept exactly in step with the records: the counts by area
(RecordMonthlyCount) and by sanitised point (RecordMonthlyPoint).

Every change to the records that a summary could see changes both in the same transaction: a
supply's load recounts that supply, and the supplies whose records took their event dates from
it through a link; the retention purge subtracts what it deletes; deleting a supply deletes
them. The workspace then counts years of records, and maps whole months, from a few thousand
rows. The counts are the points' rows summed, so a recount reads the records once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import connection, transaction
from psycopg2 import sql

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Record, RecordMonthlyCount, RecordMonthlyPoint, Supply
from datasets.storage import field_sql

_TABLES = {
    "counts": sql.Identifier(RecordMonthlyCount._meta.db_table),
    "points": sql.Identifier(RecordMonthlyPoint._meta.db_table),
    "records": sql.Identifier(Record._meta.db_table),
    "supplies": sql.Identifier(Supply._meta.db_table),
}
# Each summary's key: its columns, and the expressions on a record that give them (the same
# the records' own counts group by).
_COUNT_KEY = {
    "supply_id": "r.supply_id",
    "dataset_id": "r.dataset_id",
    "partnership_id": "r.partnership_id",
    "month": "date_trunc('month', r.event_date)::date",
    "district": "split_part(r.postcode, ' ', 1)",
    "ward_code": "r.ward_code",
    "lsoa_code": "r.lsoa_code",
    "msoa_code": "r.msoa_code",
    "lad_code": "r.lad_code",
}
_POINT_KEY = {**_COUNT_KEY, "easting": "r.easting", "northing": "r.northing"}


def _columns(key: dict[str, str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(column) for column in key)


def _grouped_records(key: dict[str, str], where: str) -> sql.Composable:
    """The records matching ``where`` grouped by the summary's key, with count and key sum."""
    return sql.SQL(
        "SELECT {expressions}, count(*), sum(r.record_key) FROM {records} r "
        "WHERE {where} AND r.event_date IS NOT NULL GROUP BY {positions}"
    ).format(
        expressions=sql.SQL(", ").join(sql.SQL(expression) for expression in key.values()),
        where=sql.SQL(where),
        positions=sql.SQL(", ").join(sql.SQL(str(n)) for n in range(1, len(key) + 1)),
        **_TABLES,
    )


def counts_recount(*, supply_ids: Iterable[uuid.UUID | str]) -> None:
    """Replace the supplies' summaries with a count of their records as they are now."""
    ids = [str(pk) for pk in supply_ids]
    if not ids:
        return
    with connection.cursor() as cursor:
        for table in ("points", "counts"):
            cursor.execute(
                sql.SQL("DELETE FROM {table} WHERE supply_id = ANY(%s::uuid[])").format(
                    table=_TABLES[table]
                ),
                [ids],
            )
        cursor.execute(
            sql.SQL("INSERT INTO {points} ({columns}, count, key_sum) {grouped}").format(
                columns=_columns(_POINT_KEY),
                grouped=_grouped_records(_POINT_KEY, "r.supply_id = ANY(%s::uuid[])"),
                **_TABLES,
            ),
            [ids],
        )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {counts} ({columns}, count, key_sum) "
                "SELECT {columns}, sum(count), sum(key_sum) FROM {points} "
                "WHERE supply_id = ANY(%s::uuid[]) GROUP BY {columns}"
            ).format(columns=_columns(_COUNT_KEY), **_TABLES),
            [ids],
        )


def _redated_supplies(supply: Supply) -> list[uuid.UUID]:
    """Other supplies holding records linked to this supply's: records of a dataset with no
    event date of its own (victims, offenders) take their offence's date when it loads."""
    slug = supply.dataset.slug
    found: set[uuid.UUID] = set()
    for dataset in Dataset.objects.filter(is_active=True):
        if dataset.schema.event_date is not None:
            continue
        for fields, target in dataset.schema.links:
            if len(fields) != 1 or target != slug:
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    sql.SQL(
                        "SELECT DISTINCT r.supply_id FROM {records} r JOIN {records} o "
                        "ON {linked_key} = {key} JOIN {supplies} s ON s.id = r.supply_id "
                        "WHERE o.supply_id = %(supply)s AND r.dataset_id = %(linked)s "
                        "AND r.partnership_id = %(partnership)s AND r.supply_id <> %(supply)s "
                        "AND s.status <> %(withdrawn)s"
                    ).format(
                        linked_key=field_sql("o", fields[0]),
                        key=field_sql("r", fields[0]),
                        **_TABLES,
                    ),
                    {
                        "supply": str(supply.pk),
                        "linked": dataset.pk,
                        "partnership": supply.agency.partnership_id,
                        # Its summaries are gone for good; its records are being deleted.
                        "withdrawn": SupplyStatus.WITHDRAWN,
                    },
                )
                found.update(pk for (pk,) in cursor.fetchall())
    return sorted(found)


def summaries_rebuild() -> int:
    """Recount every supply's summaries from its records, one partnership at a time under its
    load lock: for after an upgrade that changes what they hold, once every worker runs the
    new code (a worker still on the old code would keep only what it knew). Returns the
    supplies recounted."""
    recounted = 0
    partnerships = Supply.objects.values_list("agency__partnership_id", flat=True).distinct()
    for partnership_id in sorted(partnerships):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [partnership_id])
            ids = list(
                Supply.objects.filter(agency__partnership_id=partnership_id).values_list(
                    "pk", flat=True
                )
            )
            counts_recount(supply_ids=ids)
            recounted += len(ids)
    return recounted


def counts_load(*, supply: Supply) -> None:
    """In a load's transaction, once its records are in and dated: the supply's counts, and
    those of the supplies whose records its offences dated."""
    counts_recount(supply_ids=[supply.pk, *_redated_supplies(supply)])


def counts_forget(*, record_ids: list[int]) -> None:
    """In the transaction that deletes these records, before it does: subtract them.

    Takes the load's lock of each partnership concerned first, so that no load recounts a
    supply between this subtraction and the deletion (the recount would count the records
    and then lose the subtraction).
    """
    if not record_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT pg_advisory_xact_lock(partnership_id) FROM (SELECT DISTINCT "
                "partnership_id FROM {records} WHERE id = ANY(%s) ORDER BY 1) AS concerned"
            ).format(**_TABLES),
            [record_ids],
        )
        # The tables in the order counts_recount writes them, so that the two never wait
        # on each other in opposite orders.
        for table, key in (("points", _POINT_KEY), ("counts", _COUNT_KEY)):
            # Unlocated records have no point: matched all the same, and every other column
            # by equality, which the planner can join on.
            matched = sql.SQL(" AND ").join(
                sql.SQL(
                    "c.{column} = gone.{column}"
                    if column in _COUNT_KEY
                    else "c.{column} IS NOT DISTINCT FROM gone.{column}"
                ).format(column=sql.Identifier(column))
                for column in key
            )
            cursor.execute(
                sql.SQL(
                    "UPDATE {table} c SET count = c.count - gone.count, "
                    "key_sum = c.key_sum - gone.key_sum "
                    "FROM ({grouped}) AS gone ({columns}, count, key_sum) WHERE {matched} "
                    "RETURNING c.id, c.count"
                ).format(
                    table=_TABLES[table],
                    grouped=_grouped_records(key, "r.id = ANY(%s)"),
                    columns=_columns(key),
                    matched=matched,
                ),
                [record_ids],
            )
            emptied = [row_id for row_id, count in cursor.fetchall() if count == 0]
            if emptied:
                cursor.execute(
                    sql.SQL("DELETE FROM {table} WHERE id = ANY(%s)").format(table=_TABLES[table]),
                    [emptied],
                )


def counts_delete(*, supply: Supply) -> None:
    """A withdrawn supply's summaries, gone before its records are: it counts nowhere."""
    RecordMonthlyCount.objects.filter(supply=supply).delete()
    RecordMonthlyPoint.objects.filter(supply=supply).delete()
