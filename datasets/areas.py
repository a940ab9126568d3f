"""The records' areas kept in step with the postcode lookup: a new lookup re-derives the
areas of every stored record whose postcode it changes, and their monthly counts, in the
import's own transaction; a load that began before it re-derives its own records before it
commits. No count or map mixes two lookups."""

from __future__ import annotations

from django.db import connection, transaction
from psycopg2 import sql

from datasets.models import Record
from datasets.summary import counts_recount
from hub.models import Partnership
from hub.services import every_partnership_lock
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
    with transaction.atomic(), connection.cursor() as cursor:
        # Every partnership's load lock, in order, as loads and purges take theirs: no load
        # commits records unseen in between, and no purge's subtraction interleaves.
        every_partnership_lock()
        changed = _areas_update(cursor)
        counts_recount(supply_ids=list(changed))
    return sum(changed.values())


def supply_areas_rederive(cursor, *, supply_id) -> None:
    """In a load's transaction, under its partnership's lock and before its counts: the areas
    of the supply's records from the lookup as it now stands, for a load whose records took
    theirs from a lookup that a newer one replaced while it ran."""
    _areas_update(cursor, supply_id=supply_id)


def _areas_update(cursor, *, supply_id=None) -> dict:
    """The records' areas set from the lookup (only the supply's, if given); the number of
    records changed by supply."""

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
    only = sql.SQL("r.supply_id = %(supply)s AND " if supply_id else "")
    params = {"supply": str(supply_id)} if supply_id else {}
    cursor.execute(
        sql.SQL(
            "WITH changed AS (UPDATE {records} r SET ({columns}) = ({found}) "
            "FROM {lookup} p, {partnerships} h "
            "WHERE {only}p.postcode = r.postcode AND h.id = r.partnership_id AND {theirs} "
            "AND ({ours}) IS DISTINCT FROM ({found}) RETURNING r.supply_id) "
            "SELECT supply_id, count(*) FROM changed GROUP BY 1"
        ).format(
            columns=listed(""),
            found=listed("p."),
            ours=listed("r."),
            theirs=theirs,
            only=only,
            **_TABLES,
        ),  # fmt: skip
        params,
    )
    # One row per supply, not per record: a first lookup changes millions.
    changed = dict(cursor.fetchall())
    cursor.execute(
        sql.SQL(
            "WITH changed AS (UPDATE {records} r SET ({columns}) = ({blank}) "
            "WHERE {only}({ours}) IS DISTINCT FROM ({blank}) AND NOT EXISTS (SELECT 1 FROM "
            "{lookup} p JOIN {partnerships} h ON h.id = r.partnership_id "
            "WHERE p.postcode = r.postcode AND {theirs}) RETURNING r.supply_id) "
            "SELECT supply_id, count(*) FROM changed GROUP BY 1"
        ).format(
            columns=listed(""),
            ours=listed("r."),
            blank=blank,
            theirs=theirs,
            only=only,
            **_TABLES,
        ),  # fmt: skip
        params,
    )
    for changed_supply, count in cursor.fetchall():
        changed[changed_supply] = changed.get(changed_supply, 0) + count
    return changed


def on_area_lookup_imported(sender, *, version, **kwargs) -> None:
    """Receiver of sanitise.signals.area_lookup_imported."""
    records_areas_rederive()
