"""The records' areas kept in step with the postcode lookup: a new lookup re-derives the
areas of every stored record whose postcode it changes, and their monthly counts, in the
import's own transaction, so that no count or map mixes two lookups."""

from __future__ import annotations

from django.db import connection
from psycopg2 import sql

from datasets.models import Record
from datasets.summary import counts_recount
from sanitise.areas import AREA_COLUMNS
from sanitise.models import PostcodeAreas

_TABLES = {
    "records": sql.Identifier(Record._meta.db_table),
    "lookup": sql.Identifier(PostcodeAreas._meta.db_table),
}


def records_areas_rederive() -> int:
    """Give every record the areas of its postcode in the lookup as it now stands ("" where
    the lookup lacks the postcode) and recount the supplies touched; the number of records
    changed."""

    def listed(prefix: str) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL(prefix + "{}").format(sql.Identifier(column)) for column in AREA_COLUMNS
        )

    blank = sql.SQL(", ").join(sql.Literal("") for _ in AREA_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "UPDATE {records} r SET ({columns}) = ({theirs}) FROM {lookup} p "
                "WHERE p.postcode = r.postcode AND ({ours}) IS DISTINCT FROM ({theirs}) "
                "RETURNING r.supply_id"
            ).format(columns=listed(""), theirs=listed("p."), ours=listed("r."), **_TABLES)
        )
        supplies = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            sql.SQL(
                "UPDATE {records} r SET ({columns}) = ({blank}) "
                "WHERE ({ours}) IS DISTINCT FROM ({blank}) "
                "AND NOT EXISTS (SELECT 1 FROM {lookup} p WHERE p.postcode = r.postcode) "
                "RETURNING r.supply_id"
            ).format(columns=listed(""), ours=listed("r."), blank=blank, **_TABLES)
        )
        supplies += [row[0] for row in cursor.fetchall()]
    counts_recount(supply_ids=set(supplies))
    return len(supplies)


def on_area_lookup_imported(sender, *, version, **kwargs) -> None:
    """Receiver of sanitise.signals.area_lookup_imported."""
    records_areas_rederive()
