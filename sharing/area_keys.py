"""How a records query names areas: the keys of an ExtractQuery's ``area``, each with the
record's column, and an area as a label in SQL."""

from __future__ import annotations

from psycopg2 import sql

from sanitise.areas import DISTRICT, KIND_COLUMN
from sanitise.choices import AreaKind

# An ExtractQuery's ``area``: "districts" (postcode districts), "bbox", and lists of area codes
# under these keys (AREA_KEYS gives each one's column on a record). A record in any area named
# is in.
KIND_KEY = {
    AreaKind.WARD: "wards",
    AreaKind.LSOA: "lsoas",
    AreaKind.MSOA: "msoas",
    AreaKind.LAD: "local_authorities",
    DISTRICT: "districts",
}
AREA_KEYS = {key: KIND_COLUMN[kind] for kind, key in KIND_KEY.items() if kind != DISTRICT}
NOT_LOCATED = "(not located)"
NO_AREA = "(no area known)"


def area_label_sql(alias: str, area_kind: str) -> sql.Composable:
    """A record's (or a monthly count's) area of this kind as SQL: its postcode district or
    area code; NOT_LOCATED or NO_AREA where it has none."""
    if area_kind == DISTRICT:
        source = (
            sql.SQL("split_part({}.postcode, ' ', 1)") if alias == "r" else sql.SQL("{}.district")
        )
        return sql.SQL("COALESCE(NULLIF({}, ''), {})").format(
            source.format(sql.Identifier(alias)), sql.Literal(NOT_LOCATED)
        )
    column = KIND_COLUMN[area_kind]
    return sql.SQL("COALESCE(NULLIF({}.{}, ''), {})").format(
        sql.Identifier(alias), sql.Identifier(column), sql.Literal(NO_AREA)
    )
