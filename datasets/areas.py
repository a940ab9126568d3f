"""The records' areas kept in step with the postcode lookup: a new lookup re-derives the
areas of every stored record whose postcode it changes, and their monthly counts, in the
import's own transaction, so that no count or map mixes two lookups."""

from __future__ import annotations

from django.db import connection, transaction
from psycopg2 import sql

from datasets.models import Record
from datasets.summary import counts_recount
from hub.models import Partnership
from sanitise.areas import AREA_COLUMNS
from sanitise.models import PostcodeAreas

_TABLES = {
    "records": sql.Identifier(Record._meta.db_table),
    "partnerships": sql.Identifier(Partnership._meta.db_table),
    "lookup": sql.Identifier(PostcodeAreas._meta.db_table),
}


def records_areas_rederive() -> int:
    """Give every record the areas of its postcode in the lookup as it now stands, where the
    postcode lies in its partnership's local authorities or postcode areas as at load
    (sanitise.areas.postcode_areas_current), "" elsewhere; recount the supplies touched. The
    number of records changed."""

    def listed(prefix: str) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL(prefix + "{}").format(sql.Identifier(column)) for column in AREA_COLUMNS
        )

    blank = sql.SQL(", ").join(sql.Literal("") for _ in AREA_COLUMNS)
    # The partnership's postcode: in one of its authorities, or one of its postcode areas.
    theirs = sql.SQL(
        "(p.lad_code = ANY(h.local_authorities) OR substring(p.postcode from '^[A-Z]+') "
        "= ANY(h.postcode_areas))"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Every partnership's load lock, in order, as loads and purges take theirs: no load
        # commits records with the old areas unseen, and no purge's subtraction interleaves.
        cursor.execute(
            sql.SQL(
                "SELECT pg_advisory_xact_lock(id) FROM "
                "(SELECT id FROM {partnerships} ORDER BY id) AS every"
            ).format(**_TABLES)
        )
        cursor.execute(
            sql.SQL(
                "WITH changed AS (UPDATE {records} r SET ({columns}) = ({found}) "
                "FROM {lookup} p, {partnerships} h "
                "WHERE p.postcode = r.postcode AND h.id = r.partnership_id AND {theirs} "
                "AND ({ours}) IS DISTINCT FROM ({found}) RETURNING r.supply_id) "
                "SELECT supply_id, count(*) FROM changed GROUP BY 1"
            ).format(
                columns=listed(""),
                found=listed("p."),
                ours=listed("r."),
                theirs=theirs,
                **_TABLES,
            )  # fmt: skip
        )
        # One row per supply, not per record: a first lookup changes millions.
        changed = dict(cursor.fetchall())
        cursor.execute(
            sql.SQL(
                "WITH changed AS (UPDATE {records} r SET ({columns}) = ({blank}) "
                "WHERE ({ours}) IS DISTINCT FROM ({blank}) AND NOT EXISTS (SELECT 1 FROM "
                "{lookup} p JOIN {partnerships} h ON h.id = r.partnership_id "
                "WHERE p.postcode = r.postcode AND {theirs}) RETURNING r.supply_id) "
                "SELECT supply_id, count(*) FROM changed GROUP BY 1"
            ).format(columns=listed(""), ours=listed("r."), blank=blank, theirs=theirs, **_TABLES)
        )
        for supply_id, count in cursor.fetchall():
            changed[supply_id] = changed.get(supply_id, 0) + count
        counts_recount(supply_ids=list(changed))
    return sum(changed.values())


def on_area_lookup_imported(sender, *, version, **kwargs) -> None:
    """Receiver of sanitise.signals.area_lookup_imported."""
    records_areas_rederive()
