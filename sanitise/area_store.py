"""Writing areas through ``reference_replace``, keeping, when an import only names or only
draws areas, what the other kind of import stored.
"""

from __future__ import annotations

import pandas as pd
from django.db import connection
from psycopg2 import sql

from sanitise.areas import KIND_COLUMN
from sanitise.choices import AreaKind
from sanitise.imports import ImportResult, reference_replace
from sanitise.models import Area, PostcodeAreas

NAME_COLUMNS = ["code", "kind", "name", "lad_code", "approximate"]
BOUNDARY_COLUMNS = [*NAME_COLUMNS, "boundary", "label_longitude", "label_latitude"]


def _table(model) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def lock(model) -> None:
    """Serialise imports into the table, as reference_replace does, before reading it."""
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(_table(model)))


def areas_store(
    *, rows: pd.DataFrame, columns: list[str], drawn: bool, kind: str, **arguments
) -> ImportResult:
    """Upsert Area rows. Naming (``drawn`` False): a stored area keeps its boundary and
    ``approximate``. Drawing: a stored area keeps its name and naming version, and takes this
    import as its ``boundary_version``. A blank lad_code keeps the stored one."""
    lock(Area)
    codes = rows["code"].tolist()
    stored = pd.DataFrame(
        list(
            Area.objects.filter(code__in=codes).values_list(
                "code", "name", "lad_code", "approximate", "version_id"
            )
        ),
        columns=["code", "stored_name", "stored_lad", "stored_approximate", "stored_version"],
    )
    merged = rows.merge(stored, on="code", how="left")
    known = merged["stored_version"].notna()
    merged["lad_code"] = merged["lad_code"].where(
        merged["lad_code"] != "", merged["stored_lad"].fillna("")
    )
    if drawn:
        merged["name"] = merged["stored_name"].where(known, merged["name"])
    else:
        merged["approximate"] = merged["stored_approximate"].where(known, False).astype(bool)
    compare = ["boundary", "approximate"] if drawn else ["kind", "name", "lad_code"]
    result = reference_replace(
        model=Area,
        rows=merged,
        kind=kind,
        columns=columns,
        key="code",
        compare=compare,
        upsert=True,
        **arguments,
    )
    if drawn:
        kept = merged[known]
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("UPDATE {} SET boundary_version_id = %s WHERE code = ANY(%s)").format(
                    _table(Area)
                ),
                [result.version.pk, codes],
            )
            cursor.execute(
                sql.SQL(
                    "UPDATE {} AS a SET version_id = k.version_id FROM "
                    "unnest(%s::varchar[], %s::bigint[]) AS k(code, version_id) "
                    "WHERE a.code = k.code"
                ).format(_table(Area)),
                [kept["code"].tolist(), kept["stored_version"].astype(int).tolist()],
            )
    return result


def lad_codes_fill() -> int:
    """Give areas named without their local authority (Codelist.xlsx's wards) the one most of
    their postcodes are in."""
    filled = 0
    with connection.cursor() as cursor:
        for kind, column in KIND_COLUMN.items():
            if kind == AreaKind.LAD:
                continue
            cursor.execute(
                sql.SQL(
                    "UPDATE {area} AS a SET lad_code = p.lad_code FROM ("
                    " SELECT {c} AS code, mode() WITHIN GROUP (ORDER BY lad_code) AS lad_code"
                    " FROM {lookup} WHERE lad_code <> '' AND {c} IN"
                    " (SELECT code FROM {area} WHERE kind = %s AND lad_code = '')"
                    " GROUP BY {c}) AS p WHERE a.code = p.code"
                ).format(area=_table(Area), lookup=_table(PostcodeAreas), c=sql.Identifier(column)),
                [kind],
            )
            filled += cursor.rowcount
    return filled
