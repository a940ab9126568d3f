"""The reference data in memory: postcode centroids, households, addresses and places.

A ``Gazetteer`` is built once per ``GazetteerVersion`` and cached in the process, so that a
worker geocoding many supplies reads the tables once. Lookups are vectorised: numpy arrays,
pandas indexes and two k-d trees (scipy's cKDTree), queried for all rows of a frame at once.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import connection
from psycopg2 import sql
from scipy.spatial import cKDTree

from sanitise import text
from sanitise.streets import street_index, streets_named

# Code-Point Open is under the Open Government Licence: this line must go wherever its data do.
OS_ATTRIBUTION = "Contains OS data © Crown copyright and database right"
# The guidance's test: a postcode with fewer households than this is not shown.
MIN_HOUSEHOLDS = 4
# How far beyond the partnership's centroids a location still counts as "in the area".
AREA_MARGIN_METRES = 2000.0
_EMPTY = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class AreaBox:
    """A partnership's area as a box on the National Grid: its centroids' extent plus a margin."""

    name: str
    min_easting: float
    min_northing: float
    max_easting: float
    max_northing: float

    def contains(self, eastings, northings) -> np.ndarray:
        eastings = np.asarray(eastings, dtype=float)
        northings = np.asarray(northings, dtype=float)
        return (
            (eastings >= self.min_easting)
            & (eastings <= self.max_easting)
            & (northings >= self.min_northing)
            & (northings <= self.max_northing)
        )


@dataclass(frozen=True)
class PostcodeMatch:
    """Where each of a Series of postcodes sits in the gazetteer's arrays (-1: not found)."""

    positions: np.ndarray
    corrected: np.ndarray
    wellformed: np.ndarray
    canonical: pd.Series


@dataclass(frozen=True)
class AddressMatch:
    """The point, postcode and confidence of each matched address (NaN/None where unmatched)."""

    eastings: np.ndarray
    northings: np.ndarray
    postcodes: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """The reference data of one ``GazetteerVersion``, ready for vectorised lookups.

    ``households`` is NaN where no count was imported; such postcodes never count as having
    at least four households (see ``safe``).
    """

    version: int
    postcodes: np.ndarray
    areas: np.ndarray
    eastings: np.ndarray
    northings: np.ndarray
    households: np.ndarray
    addresses: pd.DataFrame
    places: pd.DataFrame
    synthetic: frozenset[str] = frozenset()
    _compact_index: pd.Index = field(init=False, repr=False)
    _folded: pd.Series = field(init=False, repr=False)
    _tree: cKDTree | None = field(init=False, repr=False)
    _safe_positions: np.ndarray = field(init=False, repr=False)
    _safe_tree: cKDTree | None = field(init=False, repr=False)
    _address_keys: dict[str, pd.DataFrame] = field(init=False, repr=False)
    _place_index: pd.DataFrame = field(init=False, repr=False)
    _streets: dict[str, list[tuple[str, str]]] = field(init=False, repr=False)

    def __post_init__(self):
        compact = pd.Series(self.postcodes, dtype=object).str.replace(" ", "", regex=False)
        set_ = object.__setattr__
        set_(self, "_compact_index", pd.Index(compact))
        folded = text.postcode_fold(compact)
        unambiguous = ~folded.duplicated(keep=False)
        set_(self, "_folded", pd.Series(np.flatnonzero(unambiguous), index=folded[unambiguous]))
        points = np.column_stack([self.eastings, self.northings])
        set_(self, "_tree", cKDTree(points) if len(points) else None)
        safe = np.flatnonzero(self.safe)
        set_(self, "_safe_positions", safe)
        set_(self, "_safe_tree", cKDTree(points[safe]) if len(safe) else None)
        set_(self, "_address_keys", _address_indexes(self.addresses))
        set_(self, "_place_index", _place_index(self.places))
        set_(self, "_streets", street_index(self.addresses))

    @classmethod
    def build(
        cls,
        *,
        version: int,
        centroids: pd.DataFrame,
        households: pd.DataFrame,
        addresses: pd.DataFrame | None = None,
        places: pd.DataFrame | None = None,
        synthetic: frozenset[str] = frozenset(),
    ) -> Gazetteer:
        """From frames shaped like the tables: centroids (postcode, easting, northing),
        households (postcode, households), addresses (uprn, address, postcode, easting,
        northing) and places (name, easting, northing); postcodes in canonical form."""
        counts = households.set_index("postcode")["households"]
        postcodes = centroids["postcode"].to_numpy(dtype=object)
        return cls(
            version=version,
            postcodes=postcodes,
            areas=centroids["postcode"].str.extract(r"^([A-Z]{1,2})")[0].to_numpy(dtype=object),
            eastings=centroids["easting"].to_numpy(dtype=float),
            northings=centroids["northing"].to_numpy(dtype=float),
            households=counts.reindex(postcodes).to_numpy(dtype=float),
            addresses=addresses if addresses is not None else _empty_addresses(),
            places=places if places is not None else _empty_places(),
            synthetic=synthetic,
        )

    @property
    def safe(self) -> np.ndarray:
        """Which centroids have a known count of at least four households."""
        return np.nan_to_num(self.households, nan=0.0) >= MIN_HOUSEHOLDS

    def __len__(self) -> int:
        return len(self.postcodes)

    def match_postcodes(self, values: pd.Series) -> PostcodeMatch:
        """Find each value's postcode: exact after case and spacing are normalised, else after
        reading O as 0 and I as 1 where exactly one real postcode then fits."""
        compact = text.postcode_compact(values)
        positions = self._compact_index.get_indexer(compact)
        missing = (positions < 0) & (compact != "").to_numpy()
        corrected = np.zeros(len(values), dtype=bool)
        if missing.any():
            folded = text.postcode_fold(compact[missing])
            fixed = folded.map(self._folded).to_numpy(dtype=float)
            found = ~np.isnan(fixed)
            rows = np.flatnonzero(missing)[found]
            positions[rows] = fixed[found].astype(np.int64)
            corrected[rows] = True
        return PostcodeMatch(
            positions=positions,
            corrected=corrected,
            wellformed=text.postcode_is_wellformed(compact).to_numpy(),
            canonical=text.postcode_canonical(compact),
        )

    def nearest(self, eastings: np.ndarray, northings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position and distance of the nearest centroid to each point (NaN points: -1)."""
        return _query(self._tree, None, eastings, northings)

    def nearest_safe(
        self, eastings: np.ndarray, northings: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Position and distance of the nearest centroid with at least four households."""
        return _query(self._safe_tree, self._safe_positions, eastings, northings)

    def match_addresses(self, addresses: pd.Series, postcodes: pd.Series) -> AddressMatch:
        """Match address strings (with the record's compact postcode, "" if none) against the
        address gazetteer: number and street with postcode (0.9); the whole address, or number
        and street alone, where unique in the gazetteer (0.85); then a flat's building with
        postcode (0.8)."""
        n = len(addresses)
        eastings = np.full(n, np.nan)
        northings = np.full(n, np.nan)
        found_postcodes = np.full(n, None, dtype=object)
        confidence = np.zeros(n)
        if n == 0 or not len(self.addresses):
            return AddressMatch(eastings, northings, found_postcodes, confidence)
        keys = text.address_key(addresses)
        streets = text.street_key(keys)
        whole = keys.str.replace(",", "", regex=False)
        with_postcode = (streets + "|" + postcodes.astype(str)).where(postcodes != "", "")
        buildings = text.building_key(streets)
        with_building = (buildings + "|" + postcodes.astype(str)).where(postcodes != "", "")
        attempts = [
            ("street_postcode", with_postcode, 0.9),
            ("whole", whole, 0.85),
            ("street", streets, 0.85),
            ("building_postcode", with_building, 0.8),
        ]
        for name, keys, score in attempts:
            todo = np.isnan(eastings) & (keys != "").to_numpy()
            if not todo.any():
                continue
            index = self._address_keys[name]
            rows = index.index.get_indexer(keys[todo])
            hit = rows >= 0
            target = np.flatnonzero(todo)[hit]
            eastings[target] = index["easting"].to_numpy()[rows[hit]]
            northings[target] = index["northing"].to_numpy()[rows[hit]]
            found_postcodes[target] = index["postcode"].to_numpy(dtype=object)[rows[hit]]
            confidence[target] = score
        return AddressMatch(eastings, northings, found_postcodes, confidence)

    def streets_named(self, addresses: pd.Series, postcodes: np.ndarray) -> np.ndarray:
        """The gazetteer's "street, locality" each address names among its postcode's
        streets, or None (sanitise.streets)."""
        return streets_named(self._streets, addresses.reset_index(drop=True), postcodes)

    def match_places(self, addresses: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Eastings, northings and names of places whose name is the whole address or its
        first part ("Mesnes Park, Wigan"); NaN and None where no place matches."""
        n = len(addresses)
        eastings = np.full(n, np.nan)
        northings = np.full(n, np.nan)
        names = np.full(n, None, dtype=object)
        if n == 0 or not len(self._place_index):
            return eastings, northings, names
        keys = text.address_key(addresses)
        for candidate in (keys.str.replace(",", "", regex=False), text.first_segment(keys)):
            todo = np.isnan(eastings)
            rows = self._place_index.index.get_indexer(candidate[todo])
            hit = rows >= 0
            target = np.flatnonzero(todo)[hit]
            eastings[target] = self._place_index["easting"].to_numpy()[rows[hit]]
            northings[target] = self._place_index["northing"].to_numpy()[rows[hit]]
            names[target] = self._place_index["name"].to_numpy(dtype=object)[rows[hit]]
        return eastings, northings, names

    def area_for(self, postcode_areas: Sequence[str], *, name: str = "") -> AreaBox | None:
        """The box around the centroids of these postcode areas plus ``AREA_MARGIN_METRES``;
        None when the gazetteer holds none of them."""
        wanted = np.isin(self.areas, [area.upper() for area in postcode_areas])
        if not wanted.any():
            return None
        return AreaBox(
            name=name or ", ".join(postcode_areas),
            min_easting=float(self.eastings[wanted].min()) - AREA_MARGIN_METRES,
            min_northing=float(self.northings[wanted].min()) - AREA_MARGIN_METRES,
            max_easting=float(self.eastings[wanted].max()) + AREA_MARGIN_METRES,
            max_northing=float(self.northings[wanted].max()) + AREA_MARGIN_METRES,
        )


def _query(tree, positions, eastings, northings) -> tuple[np.ndarray, np.ndarray]:
    n = len(eastings)
    found = np.full(n, -1, dtype=np.int64)
    distances = np.full(n, np.inf)
    usable = np.isfinite(eastings) & np.isfinite(northings)
    if tree is None or not usable.any():
        return found, distances
    distance, index = tree.query(np.column_stack([eastings[usable], northings[usable]]), workers=-1)
    found[usable] = index if positions is None else positions[index]
    distances[usable] = distance
    return found, distances


def _empty_addresses() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uprn": pd.Series(dtype="int64"),
            "address": pd.Series(dtype=object),
            "postcode": pd.Series(dtype=object),
            "easting": pd.Series(dtype=float),
            "northing": pd.Series(dtype=float),
        }
    )


def _empty_places() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": pd.Series(dtype=object),
            "easting": pd.Series(dtype=float),
            "northing": pd.Series(dtype=float),
        }
    )


def _address_indexes(addresses: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One lookup table per matching attempt, keyed by the normalised address."""
    points = addresses[["easting", "northing", "postcode"]].reset_index(drop=True)
    keys = text.address_key(addresses["address"]).reset_index(drop=True)
    streets = text.street_key(keys)
    compact = addresses["postcode"].astype(str).str.replace(" ", "", regex=False)
    compact = compact.reset_index(drop=True)
    buildings = text.building_key(streets)

    def keyed(keys: pd.Series, *, unique_only: bool) -> pd.DataFrame:
        frame = points.set_axis(pd.Index(keys))
        # Flats of one building share a key and a point; the same street and number in two
        # towns share a key but not a point, so without a postcode such a key matches nothing.
        keep = ~frame.index.duplicated(keep=False) if unique_only else None
        frame = frame[keep] if keep is not None else frame[~frame.index.duplicated()]
        return frame[frame.index != ""]

    return {
        "street_postcode": keyed(streets + "|" + compact, unique_only=False),
        "whole": keyed(keys.str.replace(",", "", regex=False), unique_only=True),
        "street": keyed(streets, unique_only=True),
        "building_postcode": keyed(buildings + "|" + compact, unique_only=False),
    }


def _place_index(places: pd.DataFrame) -> pd.DataFrame:
    keys = text.address_key(places["name"]).str.replace(",", "", regex=False)
    frame = places[["name", "easting", "northing"]].set_axis(pd.Index(keys))
    return frame[~frame.index.duplicated(keep=False)]


def _read_query(query: sql.Composable) -> pd.DataFrame:
    """Run a SELECT through COPY ... TO STDOUT and read it with pandas: fast for big tables."""
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        copy = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)
        cursor.copy_expert(copy, buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype={"postcode": object, "address": object, "name": object})


def gazetteer_load(version: int) -> Gazetteer:
    """Read every reference table into a new Gazetteer labelled with ``version``."""
    from sanitise.models import GazetteerVersion

    centroids = _read_query(
        sql.SQL("SELECT postcode, easting, northing FROM sanitise_postcodecentroid ORDER BY 1")
    )
    households = _read_query(
        sql.SQL("SELECT postcode, households FROM sanitise_postcodehouseholds")
    )
    addresses = _read_query(
        sql.SQL("SELECT uprn, address, postcode, easting, northing FROM sanitise_address")
    )
    places = _read_query(sql.SQL("SELECT name, easting, northing FROM sanitise_place"))
    # A kind counts as synthetic when any live row of it came from a synthetic import.
    synthetic = set()
    for kind, table in (
        ("codepoint", "sanitise_postcodecentroid"),
        ("households", "sanitise_postcodehouseholds"),
        ("addresses", "sanitise_address"),
        ("places", "sanitise_place"),
    ):
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT DISTINCT version_id FROM {}").format(sql.Identifier(table))
            )
            versions = [row[0] for row in cursor.fetchall()]
        if GazetteerVersion.objects.filter(pk__in=versions, synthetic=True).exists():
            synthetic.add(kind)
    return Gazetteer.build(
        version=version,
        centroids=centroids,
        households=households,
        addresses=addresses,
        places=places,
        synthetic=frozenset(synthetic),
    )


_cache_lock = threading.Lock()
_cache: dict[str, Gazetteer] = {}


def gazetteer_current() -> Gazetteer:
    """The gazetteer of the latest ``GazetteerVersion``, rebuilt only when that changes.

    With no reference data imported yet, an empty gazetteer (version 0): nothing geocodes to a
    postcode, and no record can be shown at a centroid.
    """
    from sanitise.models import GazetteerVersion

    version = GazetteerVersion.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with _cache_lock:
        cached = _cache.get("current")
        if cached is None or cached.version != version:
            cached = gazetteer_load(version)
            _cache["current"] = cached
        return cached
