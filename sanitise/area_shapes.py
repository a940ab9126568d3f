"""Area geometry for the map, with shapely: reprojection, simplification, dissolving, and
ward polygons drawn from postcode centroids where no ward boundaries were imported.

Lengths are measured on the British National Grid (EPSG:27700), so tolerances are metres;
what is stored and drawn is WGS84 longitude/latitude (EPSG:4326).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from sanitise.choices import AreaKind

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
# How far a simplified edge may stray from the published one: enough to halve a map's
# download, well under the width of a street at the zoom an area is read at.
SIMPLIFY_METRES = {
    AreaKind.OA: 10,
    AreaKind.LSOA: 20,
    AreaKind.MSOA: 30,
    AreaKind.WARD: 30,
    AreaKind.LAD: 50,
}
# Six decimal places of a degree are about 10 cm: finer only lengthens the GeoJSON.
COORDINATE_DECIMALS = 6
# The Voronoi cells of the outermost centroids reach this far beyond the outline before
# being clipped to it.
VORONOI_MARGIN_METRES = 5_000


@cache
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(source), target, always_xy=True)


def reprojected(geometries, source: str, target: str):
    """The geometries (one or an array) from one coordinate reference system to another."""
    if CRS.from_user_input(source) == CRS.from_user_input(target):
        return geometries
    transformer = _transformer(source, target)

    def move(coordinates: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coordinates[:, 0], coordinates[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometries, move)


def to_bng(geometries):
    return reprojected(geometries, WGS84, BNG)


def to_wgs84(geometries, source: str = BNG):
    return reprojected(geometries, source, WGS84)


def _rounded(geometries):
    return shapely.transform(geometries, lambda coordinates: coordinates.round(COORDINATE_DECIMALS))


def simplified(geometries, tolerance_m: float, *, keep_outline: bool = False):
    """WGS84 geometries (one or an array) simplified by ``tolerance_m`` metres, as WGS84.

    Neighbours that share their edges exactly (a coverage, as ONS boundaries are) are
    simplified together, so that they still meet without gaps or overlaps; ``keep_outline``
    leaves the coverage's outer edge as it was. Anything else is simplified one geometry at a
    time, preserving each one's topology.
    """
    single = isinstance(geometries, shapely.Geometry)
    array = np.atleast_1d(np.asarray(geometries, dtype=object))
    national = to_bng(array)
    if len(array) > 1 and shapely.coverage_is_valid(national):
        simple = shapely.coverage_simplify(
            national, tolerance_m, simplify_boundary=not keep_outline
        )
    else:
        simple = shapely.simplify(national, tolerance_m, preserve_topology=True)
    result = _rounded(shapely.make_valid(to_wgs84(simple)))
    return result[0] if single else result


def dissolved(geometries: Sequence, keys: Sequence[str]) -> dict[str, shapely.Geometry]:
    """One geometry per key: the union of that key's geometries (LSOAs into their MSOA)."""
    frame = pd.DataFrame({"key": np.asarray(keys, dtype=object)})
    parts = np.asarray(geometries, dtype=object)
    return {
        key: shapely.union_all(parts[rows])
        for key, rows in frame.groupby("key", sort=True).indices.items()
        if key
    }


def wards_from_centroids(points: pd.DataFrame, outline: shapely.Geometry) -> dict[str, object]:
    """Approximate ward polygons (BNG) covering ``outline`` (BNG): each postcode centroid
    (``points``: easting, northing, ward_code) takes the land nearer to it than to any other
    centroid (its Voronoi cell), and a ward is the union of its postcodes' cells."""
    located = points.dropna(subset=["easting", "northing"])
    located = located[located["ward_code"].fillna("") != ""]
    if located.empty:
        return {}
    # Postcodes sharing a centroid make one cell, given to the ward most of them are in.
    votes = located.groupby(["easting", "northing", "ward_code"]).size().rename("postcodes")
    distinct = (
        votes.reset_index()
        .sort_values(["postcodes", "ward_code"], ascending=[False, True])
        .drop_duplicates(["easting", "northing"])
        .reset_index(drop=True)
    )
    centroids = shapely.multipoints(distinct[["easting", "northing"]].to_numpy(dtype=float))
    extent = shapely.buffer(shapely.envelope(outline), VORONOI_MARGIN_METRES)
    if len(distinct) == 1:
        cells = np.array([extent], dtype=object)
    else:
        # ordered: the i-th cell is the i-th centroid's.
        cells = shapely.get_parts(
            shapely.voronoi_polygons(centroids, extend_to=extent, ordered=True)
        )
    clipped = shapely.intersection(cells, outline)
    kept = ~shapely.is_empty(clipped)
    wards = dissolved(clipped[kept], distinct["ward_code"].to_numpy(dtype=object)[kept])
    return {code: shapely.make_valid(shape) for code, shape in wards.items()}


def label_points(geometries) -> tuple[np.ndarray, np.ndarray]:
    """A point inside each geometry, for its label: (longitudes, latitudes) of WGS84 input."""
    points = shapely.point_on_surface(np.asarray(geometries, dtype=object))
    return shapely.get_x(points), shapely.get_y(points)


def geojson(geometries) -> list[str]:
    """Each geometry as GeoJSON text, for the area's ``boundary``."""
    return list(shapely.to_geojson(np.asarray(geometries, dtype=object)))
