"""The hotspot map: hexagons and points of what an analyst may see, in WGS84 for Leaflet.

Counts are records per distinct sanitised location (postcode centroid, place or site), so the
rows fetched are bounded by the partnership's locations, never by its records: whole months
come from the monthly points (datasets.summary) when no filter but areas applies, as the
workspace's counts come from the monthly counts, and the rest from the records grouped.
Hexagons are binned from those with numpy on a fixed grid anchored at the National Grid's
origin, so a place falls in the same hexagon whatever the filters.

Only users whose release is precise (sharing.disclosure: the records, at a core-tier agency)
see points and numbers, and choose any hexagon size. Everyone else gets hexagons of the fixed
sizes only, classed by rank from their counts as released (perturbed at aggregate level), with
the small ones left out.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from convertbng.cutil import convert_lonlat
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.http import QueryDict
from psycopg2 import sql
from scipy.spatial import ConvexHull, QhullError

from datasets.models import Dataset, Record, RecordMonthlyPoint
from hub.audit import DERIVE
from hub.models import Partnership, User
from hub.services import audit_record
from sanitise.models import PostcodeCentroid
from sharing.access import access_decisions, acting_partnership, analyst_standing
from sharing.choices import AccessLevel
from sharing.disclosure import breakdown_fields, release_of, released
from sharing.records import ExtractQuery
from sharing.workspace.areas import area_outlines
from sharing.workspace.counts import summary_split
from sharing.workspace.filters import (
    FilterInvalid,
    WorkspaceQuery,
    partnership_chosen,
    workspace_query,
)

FILTERS = (
    "dataset", "partnership", "period_start", "period_end", "districts", "areas", "area_kind",
    "weekdays", "hour_from", "hour_to", "category", "values", "hex",
)  # fmt: skip
HEX_DEFAULT = 400
HEX_MIN, HEX_MAX = 100, 5000
# The only sizes offered to users short of precise locations: each other grid would be one more
# placing of "is there a small cluster here" to compare.
HEX_FIXED = (400, 800, 1600)
# The partnership's postcode centroids are thinned to one dot per square of this side, so the
# map has a recognisable shape without a tile server and without thousands of markers.
OUTLINE_CELL = 1000
INTENSITY_CLASSES = 5
ATTRIBUTION = "Contains OS data © Crown copyright and database right"
_ROOT3 = math.sqrt(3)


@dataclass(frozen=True)
class Locations:
    """Records per distinct sanitised location, and how many records have no location."""

    eastings: np.ndarray
    northings: np.ndarray
    counts: np.ndarray
    key_sums: np.ndarray
    unlocated: int

    @property
    def located(self) -> int:
        return int(self.counts.sum())


def hex_size_get(*, params: QueryDict, precise: bool) -> int:
    """The hexagons' width across flats in metres, from the ``hex`` parameter."""
    raw = params.get("hex") or str(HEX_DEFAULT)
    if precise:
        message = f"hex must be a whole number of metres, {HEX_MIN} to {HEX_MAX}."
    else:
        message = f"hex must be one of {', '.join(map(str, HEX_FIXED))} metres for your access."
    try:
        size = int(raw)
    except ValueError as error:
        raise FilterInvalid(message) from error
    if not (HEX_MIN <= size <= HEX_MAX if precise else size in HEX_FIXED):
        raise FilterInvalid(message)
    return size


def _record_points(query: ExtractQuery) -> tuple[sql.Composable, dict]:
    where, params = query._where()
    statement = sql.SQL(
        "SELECT r.easting, r.northing, count(*), sum(r.record_key) FROM {records} r "
        "WHERE {where} GROUP BY 1, 2"
    ).format(records=sql.Identifier(Record._meta.db_table), where=where)
    return statement, params


def _summary_points(
    query: ExtractQuery, months: tuple[datetime.date, datetime.date]
) -> tuple[sql.Composable, dict]:
    where, params = query.summary_where(months)
    statement = sql.SQL(
        "SELECT c.easting, c.northing, sum(c.count), sum(c.key_sum) FROM {points} c "
        "WHERE {where} GROUP BY 1, 2"
    ).format(points=sql.Identifier(RecordMonthlyPoint._meta.db_table), where=where)
    return statement, params


def locations_count(*, query: ExtractQuery) -> Locations:
    """Records matching the query, grouped by their sanitised point (null for unlocated):
    whole months from the monthly points when they answer the query, as the counts do, and
    the rest from the records."""
    months, rest = summary_split(query)
    statements = [_summary_points(query, months)] if months else []
    statements += [_record_points(part) for part in rest]
    rows = []
    with connection.cursor() as cursor:
        for statement, params in statements:
            cursor.execute(statement, params)
            rows += cursor.fetchall()
    frame = (
        pd.DataFrame(rows, columns=["easting", "northing", "count", "key_sum"])
        .astype({"count": "int64", "key_sum": "int64"})
        .groupby(["easting", "northing"], dropna=False, as_index=False)
        .sum()
    )
    unlocated = frame["easting"].isna() | frame["northing"].isna()
    located = frame[~unlocated]
    return Locations(
        eastings=located["easting"].to_numpy(dtype=float),
        northings=located["northing"].to_numpy(dtype=float),
        counts=located["count"].to_numpy(dtype=np.int64),
        key_sums=located["key_sum"].to_numpy(dtype=np.int64),
        unlocated=int(frame.loc[unlocated, "count"].sum()),
    )


def hex_bin(
    *,
    eastings: np.ndarray,
    northings: np.ndarray,
    counts: np.ndarray,
    size: int,
    key_sums: np.ndarray,
) -> pd.DataFrame:
    """Weighted points summed into pointy-topped hexagons ``size`` metres across flats.

    Returns one row per non-empty hexagon: its centre (easting, northing), count and the sum
    of its records' keys.
    """
    radius = size / _ROOT3
    # Axial coordinates of each point, rounded to the nearest hexagon through cube coordinates
    # (https://www.redblobgames.com/grids/hexagons/#rounding).
    q = (_ROOT3 / 3 * eastings - northings / 3) / radius
    r = (2 / 3 * northings) / radius
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    binned = (
        pd.DataFrame(
            {
                "q": rq.astype(np.int64),
                "r": rr.astype(np.int64),
                "count": counts,
                "key_sum": key_sums,
            }
        )
        .groupby(["q", "r"], as_index=False)[["count", "key_sum"]]
        .sum()
    )
    binned["easting"] = size * (binned["q"] + binned["r"] / 2)
    binned["northing"] = size * _ROOT3 / 2 * binned["r"]
    return binned[["easting", "northing", "count", "key_sum"]]


def intensity_classes(counts: np.ndarray) -> np.ndarray:
    """Each count's fifth among ``counts`` by rank, 1 (lowest) to 5: an order, no magnitude.

    Ties take the lowest rank they share, so that the commonest small count is not painted
    as a hotspot.
    """
    if len(counts) == 0:
        return np.array([], dtype=np.int64)
    share = pd.Series(counts).rank(method="min", pct=True).to_numpy()
    return np.clip(np.ceil(share * INTENSITY_CLASSES), 1, INTENSITY_CLASSES).astype(np.int64)


def count_classes(counts: np.ndarray) -> np.ndarray:
    """Each count's fifth of the range 0 to the largest count, 1 to 5, for users who see the
    counts: fifths by rank would paint the many hexagons of one record as hotspots."""
    if len(counts) == 0:
        return np.array([], dtype=np.int64)
    share = counts / counts.max()
    return np.clip(np.ceil(share * INTENSITY_CLASSES), 1, INTENSITY_CLASSES).astype(np.int64)


def _lonlat(eastings: np.ndarray, northings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(eastings) == 0:
        return np.array([]), np.array([])
    lon, lat = convert_lonlat(
        np.ascontiguousarray(eastings, dtype=float), np.ascontiguousarray(northings, dtype=float)
    )
    return np.round(np.asarray(lon), 6), np.round(np.asarray(lat), 6)


def hex_polygons(*, eastings: np.ndarray, northings: np.ndarray, size: int) -> list[list]:
    """GeoJSON rings (closed, WGS84) of the hexagons centred on the given points."""
    radius = size / _ROOT3
    angles = np.radians(np.arange(7) * 60 - 30)  # pointy-topped; the seventh closes the ring
    corner_e = eastings[:, None] + radius * np.cos(angles)[None, :]
    corner_n = northings[:, None] + radius * np.sin(angles)[None, :]
    lon, lat = _lonlat(corner_e.ravel(), corner_n.ravel())
    corners = np.stack([lon, lat], axis=-1).reshape(len(eastings), 7, 2)
    return [[ring] for ring in corners.tolist()]


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def partnership_outline(*, partnership_id: int) -> dict:
    """The partnership's postcode centroids thinned to a grid of dots, and their convex hull.

    Drawn under the data so that the map shows where the partnership is with no base tiles.
    """
    areas = Partnership.objects.values_list("postcode_areas", flat=True).get(pk=partnership_id)
    # Integer division in the database: the few hundred occupied squares come back, not every
    # postcode of the area.
    cells = np.array(
        PostcodeCentroid.objects.filter(area__in=areas)
        .annotate(cell_e=F("easting") / OUTLINE_CELL, cell_n=F("northing") / OUTLINE_CELL)
        .values_list("cell_e", "cell_n")
        .distinct()
        .order_by(),
        dtype=float,
    ).reshape(-1, 2)
    centres = cells * OUTLINE_CELL + OUTLINE_CELL / 2
    lon, lat = _lonlat(centres[:, 0], centres[:, 1])
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": point}, "properties": {}}
        for point in np.stack([lon, lat], axis=-1).tolist()
    ]
    try:
        hull = ConvexHull(centres)
    except (QhullError, ValueError):
        hull = None  # fewer than three squares, or all in a line: the dots say enough
    if hull is not None:
        ring = np.append(hull.vertices, hull.vertices[0])
        ring_lon, ring_lat = _lonlat(centres[ring, 0], centres[ring, 1])
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [np.stack([ring_lon, ring_lat], axis=-1).tolist()],
                },
                "properties": {"hull": True},
            }
        )
    return _collection(features)


def map_layers(*, workspace: WorkspaceQuery, hex_size: int = HEX_DEFAULT) -> dict:
    """The map's layers for the workspace's filters, as GeoJSON-ready dicts.

    Users whose release is precise get each hexagon's count and its class by magnitude, the
    distinct sanitised points with their counts, and the totals. Everyone else gets hexagons
    whose count as released is at least HUB_EXTRACT_SMALL_NUMBER, each with its fifth by rank
    and nothing else; no points, no totals: no number that the map could be read back into.
    """
    locations = locations_count(query=workspace.query)
    hexes = hex_bin(
        eastings=locations.eastings,
        northings=locations.northings,
        counts=locations.counts,
        key_sums=locations.key_sums,
        size=hex_size,
    )
    release = workspace.release
    precise = release.precise  # numbers and points
    if not precise:
        hexes["count"] = released(hexes["count"], hexes["key_sum"], exact=release.exact)
        hexes = hexes[hexes["count"] >= settings.HUB_EXTRACT_SMALL_NUMBER].reset_index(drop=True)
    counts = hexes["count"].to_numpy()
    classes = count_classes(counts) if precise else intensity_classes(counts)
    rings = hex_polygons(
        eastings=hexes["easting"].to_numpy(dtype=float),
        northings=hexes["northing"].to_numpy(dtype=float),
        size=hex_size,
    )
    if precise:
        properties = [
            {"count": count, "class": level}
            for count, level in zip(hexes["count"].tolist(), classes.tolist(), strict=True)
        ]
    else:
        properties = [{"class": level} for level in classes.tolist()]
    hex_features = [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": ring}, "properties": p}
        for ring, p in zip(rings, properties, strict=True)
    ]
    points = None
    if precise:
        lon, lat = _lonlat(locations.eastings, locations.northings)
        points = _collection(
            [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    "properties": {"count": count, "easting": int(e), "northing": int(n)},
                }
                for x, y, count, e, n in zip(
                    lon.tolist(),
                    lat.tolist(),
                    locations.counts.tolist(),
                    locations.eastings.tolist(),
                    locations.northings.tolist(),
                    strict=True,
                )
            ]
        )
    start, end = workspace.query.period
    return {
        "dataset": workspace.dataset.slug,
        "period": [start.isoformat(), end.isoformat()],
        "hex": hex_size,
        "precise": precise,
        "release": release.name,
        "hexes": _collection(hex_features),
        "points": points,
        "outline": partnership_outline(partnership_id=workspace.query.partnership_id),
        "areas": area_outlines(partnership=workspace.scope.agency.partnership),
        "total": locations.located + locations.unlocated if precise else None,
        "unlocated": locations.unlocated if precise else None,
        "attribution": ATTRIBUTION,
    }


def map_view(*, acting_user: User, params: QueryDict, ip_address: str | None = None) -> dict:
    """The map's layers for the filters in ``params``, audited as "map_viewed" with them.

    A dataset the user may not see is Http404 and a bad filter FilterInvalid, both audited
    as "map_refused" with the reason, like every refused request.
    """
    filters = {name: params[name] for name in FILTERS if params.get(name)}
    try:
        workspace = workspace_query(
            user=acting_user, params=params, route="map", ip_address=ip_address
        )
        size = hex_size_get(params=params, precise=workspace.release.precise)
    except FilterInvalid as refusal:
        try:
            chosen = partnership_chosen(params)
        except FilterInvalid:
            chosen = None
        audit_record(
            actor=acting_user,
            action="map_refused",
            partnership=acting_partnership(user=acting_user, partnership=chosen) or DERIVE,
            dataset_slug=filters.get("dataset", ""),
            detail={"filters": filters, "reason": str(refusal)},
            ip_address=ip_address,
        )
        raise
    layers = map_layers(workspace=workspace, hex_size=size)
    audit_record(
        actor=acting_user,
        action="map_viewed",
        agency=workspace.scope.agency,
        dataset_slug=workspace.dataset.slug,
        detail={
            "filters": filters,
            "period": layers["period"],
            "level": workspace.decision.level,
            "hexes": len(layers["hexes"]["features"]),
        },
        ip_address=ip_address,
    )
    return layers


# -- the page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapChoices:
    """What the map page's form offers: the datasets the user may see and, for the chosen
    one, the fields it may be filtered by."""

    datasets: list[tuple[Dataset, str]]
    dataset: Dataset
    categories: list[tuple[str, str]]  # (field, its title)


def map_choices(*, user: User, params: QueryDict) -> MapChoices | None:
    """None if the user may see no dataset at all (the page then does not exist for them)."""
    datasets = list(Dataset.objects.filter(is_active=True).order_by("name"))
    try:
        partnership = partnership_chosen(params)
    except FilterInvalid:
        return None
    decisions = access_decisions(user=user, datasets=datasets, partnership=partnership)
    visible = [
        (dataset, decisions[dataset.pk].level)
        for dataset in datasets
        if decisions[dataset.pk].allows(AccessLevel.AGGREGATE)
    ]
    if not visible:
        return None
    chosen = next((d for d, _ in visible if d.slug == params.get("dataset")), visible[0][0])
    _, standing = analyst_standing(user=user, partnership=partnership)
    release = release_of(decisions[chosen.pk], tier=standing.tier)
    categories = [
        (name, chosen.schema.title_of(name)) for name in breakdown_fields(chosen.schema, release)
    ]
    return MapChoices(datasets=visible, dataset=chosen, categories=categories)
