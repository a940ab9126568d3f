"""The records' monthly counts (RecordMonthlyCount), kept exactly in step with the records.

Every change to the records that a count could see changes the counts in the same
transaction: a supply's load recounts that supply, and the supplies whose records took their
event dates from it through a link; the retention purge subtracts what it deletes; deleting a
supply deletes its counts. The workspace then counts years of records from a few thousand rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import connection
from psycopg2 import sql

from datasets.models import Dataset, Record, RecordMonthlyCount, Supply
from datasets.storage import field_sql

_TABLES = {
    "summary": sql.Identifier(RecordMonthlyCount._meta.db_table),
    "records": sql.Identifier(Record._meta.db_table),
}
# The count's key, from a record: the same expressions the records' own counts group by.
_KEY = sql.SQL(
    "r.supply_id, r.dataset_id, r.partnership_id, date_trunc('month', r.event_date)::date, "
    "split_part(r.postcode, ' ', 1), r.ward_code, r.lsoa_code, r.msoa_code, r.lad_code"
)
_KEY_COLUMNS = (
    "supply_id, dataset_id, partnership_id, month, district, ward_code, lsoa_code, msoa_code, "
    "lad_code"
)


def counts_recount(*, supply_ids: Iterable[uuid.UUID | str]) -> None:
    """Replace the supplies' counts with a count of their records as they are now."""
    ids = [str(pk) for pk in supply_ids]
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DELETE FROM {summary} WHERE supply_id = ANY(%s::uuid[])").format(**_TABLES),
            [ids],
        )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {summary} ({columns}, count, key_sum) "
                "SELECT {key}, count(*), sum(r.record_key) FROM {records} r "
                "WHERE r.supply_id = ANY(%s::uuid[]) AND r.event_date IS NOT NULL "
                "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
            ).format(key=_KEY, columns=sql.SQL(_KEY_COLUMNS), **_TABLES),
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
                        "ON {linked_key} = {key} "
                        "WHERE o.supply_id = %(supply)s AND r.dataset_id = %(linked)s "
                        "AND r.partnership_id = %(partnership)s AND r.supply_id <> %(supply)s"
                    ).format(
                        linked_key=field_sql("o", fields[0]),
                        key=field_sql("r", fields[0]),
                        **_TABLES,
                    ),
                    {
                        "supply": str(supply.pk),
                        "linked": dataset.pk,
                        "partnership": supply.agency.partnership_id,
                    },
                )
                found.update(pk for (pk,) in cursor.fetchall())
    return sorted(found)


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
        cursor.execute(
            sql.SQL(
                "UPDATE {summary} c SET count = c.count - gone.count, "
                "key_sum = c.key_sum - gone.key_sum FROM ("
                "SELECT {key}, count(*), sum(r.record_key) FROM {records} r "
                "WHERE r.id = ANY(%s) AND r.event_date IS NOT NULL "
                "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
                ") AS gone ({columns}, count, key_sum) "
                "WHERE c.supply_id = gone.supply_id AND c.dataset_id = gone.dataset_id "
                "AND c.partnership_id = gone.partnership_id AND c.month = gone.month "
                "AND c.district = gone.district AND c.ward_code = gone.ward_code "
                "AND c.lsoa_code = gone.lsoa_code AND c.msoa_code = gone.msoa_code "
                "AND c.lad_code = gone.lad_code"
            ).format(key=_KEY, columns=sql.SQL(_KEY_COLUMNS), **_TABLES),
            [record_ids],
        )
        cursor.execute(
            sql.SQL(
                "DELETE FROM {summary} WHERE count = 0 AND supply_id IN "
                "(SELECT supply_id FROM {records} WHERE id = ANY(%s))"
            ).format(**_TABLES),
            [record_ids],
        )
