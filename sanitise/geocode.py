"""Geocoding: give each location group of each record a National Grid point (guidance App. 1).

The methods are tried in this order, for all rows at once: the supplied easting/northing, the
address in the address gazetteer, the postcode's centroid, latitude/longitude converted to the
National Grid, a named place in the places gazetteer. A group that none of them locates keeps
NaN coordinates and the method ``none``: the record is kept ("something rather than nothing").

Confidence, from 0 to 1, is how close the point is likely to be to the true location:

====  =====================================================================================
1.0   easting/northing supplied by the agency (its own geocoding)
0.9   address matched with its postcode; latitude/longitude (OSTN15; GPS error dominates)
0.85  address matched on number and street alone (unique in the gazetteer)
0.8   a flat matched to its building, with postcode
0.7   postcode centroid
0.6   postcode centroid after correcting O/0 or I/1 typing
0.5   centre of a named place
0.0   not located
====  =====================================================================================

Warnings and errors never repeat a value from the record: they name the row, the field and
the problem, because the supply report is kept longer and seen more widely than the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from convertbng.cutil import convert_bng

from datasets.catalogue import LocationGroup
from sanitise import text
from sanitise.choices import GeocodeMethod
from sanitise.readers import MAX_EASTING, MAX_NORTHING
from sanitise.reference import AreaBox, Gazetteer

CONFIDENCE_SUPPLIED = 1.0
CONFIDENCE_LATLONG = 0.9
CONFIDENCE_POSTCODE = 0.7
CONFIDENCE_POSTCODE_CORRECTED = 0.6
CONFIDENCE_PLACE = 0.5
# A supplied point this far from the record's own postcode centroid is probably a typing error.
POSTCODE_DISTANCE_WARNING_METRES = 1000.0


@dataclass(frozen=True)
class LocationInput:
    """Which frame columns describe one location group; any may be None."""

    role: str
    address: str | None = None
    postcode: str | None = None
    easting: str | None = None
    northing: str | None = None
    latitude: str | None = None
    longitude: str | None = None

    @classmethod
    def from_group(
        cls, group: LocationGroup, *, latitude: str | None = None, longitude: str | None = None
    ) -> LocationInput:
        return cls(
            role=group.role,
            address=group.address,
            postcode=group.postcode,
            easting=group.easting,
            northing=group.northing,
            latitude=latitude,
            longitude=longitude,
        )


@dataclass
class GeocodeResult:
    """``frame`` has the input's index and, per group role R, ``R_easting``, ``R_northing``,
    ``R_postcode``, ``R_geocode_method`` and ``R_confidence``."""

    frame: pd.DataFrame
    warnings: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def latlong_to_bng(latitudes: np.ndarray, longitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ETRS89 (GPS/WGS84) latitude/longitude to OSGB36 National Grid with OSTN15 (convertbng).

    OSTN15 reproduces the National Grid to within about 0.1 m; points outside its coverage
    (outside Great Britain and its waters) come back as NaN.
    """
    latitudes = np.asarray(latitudes, dtype=float)
    longitudes = np.asarray(longitudes, dtype=float)
    eastings = np.full(latitudes.shape, np.nan)
    northings = np.full(latitudes.shape, np.nan)
    usable = (
        np.isfinite(latitudes)
        & np.isfinite(longitudes)
        & (np.abs(latitudes) <= 90)
        & (np.abs(longitudes) <= 180)
    )
    if usable.any():
        converted = convert_bng(longitudes[usable], latitudes[usable])
        eastings[usable], northings[usable] = converted
    return eastings, northings


class _Issues:
    """Warnings or errors as {row, field, code, message}, built only for the flagged rows."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.items: list[dict] = []

    def add(self, flagged: np.ndarray, field_name: str | None, code: str, message: str) -> None:
        for row in self.index[flagged].tolist():
            self.items.append(
                {"row": row, "field": field_name or "", "code": code, "message": message}
            )


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    """The column as trimmed text, "" where missing (or where the frame has no such column)."""
    if column is None or column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return text.on_uniques(frame[column], lambda s: s.str.strip())


def _numbers(frame: pd.DataFrame, column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The column as floats (NaN where missing or not a number) and where a value was given."""
    if column is None or column not in frame:
        return np.full(len(frame), np.nan), np.zeros(len(frame), dtype=bool)
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float)
        return numbers, ~np.isnan(numbers)
    written = _text(frame, column)
    given = (written != "").to_numpy()
    return pd.to_numeric(written.where(given), errors="coerce").to_numpy(dtype=float), given


def geocode_frame(
    frame: pd.DataFrame,
    *,
    groups: Sequence[LocationInput],
    gazetteer: Gazetteer,
    area: AreaBox | None = None,
) -> GeocodeResult:
    """Locate every group of every row; never drops a row.

    Errors: a supplied value that cannot be used (coordinates outside Great Britain, not a
    number); the row is still located by the other members where possible. Warnings: points
    outside ``area``, corrected or unknown postcodes, groups that could not be located.
    """
    columns: dict[str, object] = {}
    warnings = _Issues(frame.index)
    errors = _Issues(frame.index)
    for group in groups:
        columns.update(_geocode_group(frame, group, gazetteer, area, warnings, errors))
    return GeocodeResult(
        frame=pd.DataFrame(columns, index=frame.index),
        warnings=warnings.items,
        errors=errors.items,
    )


def _geocode_group(
    frame: pd.DataFrame,
    group: LocationInput,
    gazetteer: Gazetteer,
    area: AreaBox | None,
    warnings: _Issues,
    errors: _Issues,
) -> dict[str, object]:
    n = len(frame)
    eastings = np.full(n, np.nan)
    northings = np.full(n, np.nan)
    method = np.full(n, GeocodeMethod.NONE.value, dtype=object)
    confidence = np.zeros(n)
    found_postcode = np.full(n, None, dtype=object)
    what = {"event": "where it happened", "home": "the home address", "site": "the site"}.get(
        group.role, group.role
    )

    def locate(rows: np.ndarray, e, nn, how: str, score) -> None:
        eastings[rows], northings[rows] = e, nn
        method[rows] = how
        confidence[rows] = score

    def warn_outside_area(rows: np.ndarray, field_name: str | None) -> None:
        if area is None:
            return
        outside = np.zeros(n, dtype=bool)
        outside[rows] = ~area.contains(eastings[rows], northings[rows])
        warnings.add(
            outside,
            field_name,
            "outside_partnership_area",
            f"The location of {what} is outside the partnership's area ({area.name}). "
            "Check the coordinates, or that the record belongs to this partnership.",
        )

    address = _text(frame, group.address)
    postcode_given = _text(frame, group.postcode)
    numbers = {
        column: _numbers(frame, column)
        for column in (group.easting, group.northing, group.latitude, group.longitude)
    }
    given = {column: written for column, (_, written) in numbers.items()}
    given[group.address] = (address != "").to_numpy()
    given[group.postcode] = (postcode_given != "").to_numpy()

    # The record's postcode: its own column, else one written inside the address.
    from_address = text.extract_postcode(address) if group.address else postcode_given
    postcode_values = postcode_given.where(postcode_given != "", from_address)
    postcode_field = group.postcode if group.postcode else group.address
    match = gazetteer.match_postcodes(postcode_values)
    in_gazetteer = match.positions >= 0
    has_postcode = (postcode_values != "").to_numpy()
    warnings.add(
        match.corrected,
        postcode_field,
        "postcode_corrected",
        "The postcode had a letter O or I where a zero or one belongs; it was corrected to the "
        "only postcode that fits. Check it at source.",
    )
    warnings.add(
        has_postcode & ~in_gazetteer & match.wellformed,
        postcode_field,
        "postcode_unknown",
        "The postcode is not in the hub's postcode gazetteer (a new, retired or mistyped "
        "postcode, or one outside the area); it was not used.",
    )
    warnings.add(
        has_postcode & ~match.wellformed & ~match.corrected,
        postcode_field,
        "postcode_malformed",
        'The postcode is not a full UK postcode (like "WN1 1AA"); it was not used.',
    )
    found_postcode[in_gazetteer] = gazetteer.postcodes[match.positions[in_gazetteer]]

    # 1. Easting and northing as supplied.
    if group.easting and group.northing:
        supplied_e, given_e = numbers[group.easting]
        supplied_n, given_n = numbers[group.northing]
        both = given_e & given_n
        numeric = np.isfinite(supplied_e) & np.isfinite(supplied_n)
        errors.add(
            both & ~numeric,
            group.easting,
            "coordinates_not_numbers",
            "The easting or northing is not a number; give National Grid metres, e.g. "
            "358016 and 405780.",
        )
        for missing, field_name in (
            (given_e & ~given_n, group.northing),
            (given_n & ~given_e, group.easting),
        ):
            warnings.add(
                missing,
                field_name,
                "coordinates_incomplete",
                "Only one of easting and northing was given; both are needed, so neither was used.",
            )
        zero = both & numeric & (supplied_e == 0) & (supplied_n == 0)
        warnings.add(
            zero,
            group.easting,
            "coordinates_zero",
            "The easting and northing are both 0, which usually means 'not known'; they were "
            "not used.",
        )
        in_gb = (
            (supplied_e >= 0)
            & (supplied_e <= MAX_EASTING)
            & (supplied_n >= 0)
            & (supplied_n <= MAX_NORTHING)
        )
        errors.add(
            both & numeric & ~in_gb,
            group.easting,
            "outside_great_britain",
            f"The easting and northing are outside Great Britain (eastings 0 to {MAX_EASTING}, "
            f"northings 0 to {MAX_NORTHING}); they were not used. Check that the columns are "
            "not swapped and hold National Grid metres, not latitude and longitude.",
        )
        usable = np.flatnonzero(both & numeric & in_gb & ~zero)
        locate(
            usable,
            supplied_e[usable],
            supplied_n[usable],
            GeocodeMethod.SUPPLIED,
            CONFIDENCE_SUPPLIED,
        )
        warn_outside_area(usable, group.easting)

    # 2. Address, matched in the address gazetteer.
    todo = np.flatnonzero(np.isnan(eastings) & (address != "").to_numpy())
    if len(todo):
        record_postcodes = text.postcode_compact(
            pd.Series(np.where(in_gazetteer, found_postcode, match.canonical.to_numpy()))
        )
        matched = gazetteer.match_addresses(
            address.iloc[todo].reset_index(drop=True),
            record_postcodes.iloc[todo].reset_index(drop=True),
        )
        hit = ~np.isnan(matched.eastings)
        rows = todo[hit]
        locate(
            rows,
            matched.eastings[hit],
            matched.northings[hit],
            GeocodeMethod.ADDRESS,
            matched.confidence[hit],
        )
        no_own_postcode = rows[~in_gazetteer[rows]]
        found_postcode[no_own_postcode] = matched.postcodes[hit][~in_gazetteer[rows]]
        warn_outside_area(rows, group.address)

    # 3. Postcode centroid.
    rows = np.flatnonzero(np.isnan(eastings) & in_gazetteer)
    positions = match.positions[rows]
    locate(
        rows,
        gazetteer.eastings[positions],
        gazetteer.northings[positions],
        GeocodeMethod.POSTCODE,
        np.where(match.corrected[rows], CONFIDENCE_POSTCODE_CORRECTED, CONFIDENCE_POSTCODE),
    )

    # 4. Latitude and longitude, converted with OSTN15.
    if group.latitude and group.longitude:
        latitudes, given_lat = numbers[group.latitude]
        longitudes, given_lon = numbers[group.longitude]
        both = given_lat & given_lon
        converted_e, converted_n = latlong_to_bng(latitudes, longitudes)
        converted = np.isfinite(converted_e)
        errors.add(
            both & ~converted,
            group.latitude,
            "latlong_outside_great_britain",
            "The latitude and longitude are not numbers or are outside Great Britain; give "
            "decimal degrees (GPS, WGS84), e.g. 53.545 and -2.632.",
        )
        rows = np.flatnonzero(np.isnan(eastings) & both & converted)
        locate(
            rows, converted_e[rows], converted_n[rows], GeocodeMethod.LATLONG, CONFIDENCE_LATLONG
        )
        warn_outside_area(rows, group.latitude)

    # 5. A named, non-addressable place.
    todo = np.flatnonzero(np.isnan(eastings) & (address != "").to_numpy())
    if len(todo):
        place_e, place_n, _ = gazetteer.match_places(address.iloc[todo].reset_index(drop=True))
        hit = ~np.isnan(place_e)
        locate(todo[hit], place_e[hit], place_n[hit], GeocodeMethod.PLACE, CONFIDENCE_PLACE)

    # The postcode of a point found without one is that of the nearest centroid.
    located = ~np.isnan(eastings)
    derive = np.flatnonzero(located & pd.isna(found_postcode))
    nearest, _ = gazetteer.nearest(eastings[derive], northings[derive])
    has_nearest = nearest >= 0
    found_postcode[derive[has_nearest]] = gazetteer.postcodes[nearest[has_nearest]]
    # An unlocated group keeps a well-formed postcode it gave, for the supplier's report.
    unlocated = ~located
    found_postcode[unlocated] = match.canonical.to_numpy(dtype=object)[unlocated]

    check = np.flatnonzero(
        np.isin(method, [GeocodeMethod.SUPPLIED, GeocodeMethod.ADDRESS]) & in_gazetteer
    )
    own = match.positions[check]
    distance = np.hypot(
        eastings[check] - gazetteer.eastings[own], northings[check] - gazetteer.northings[own]
    )
    far = np.zeros(n, dtype=bool)
    far[check[distance > POSTCODE_DISTANCE_WARNING_METRES]] = True
    warnings.add(
        far,
        postcode_field,
        "postcode_far_from_location",
        f"The postcode's centroid is more than {POSTCODE_DISTANCE_WARNING_METRES:.0f} m from "
        "the location given; one of them is probably wrong. Check both at source.",
    )

    members = [group.address, group.postcode, group.easting, group.latitude]
    anything = np.logical_or.reduce(list(given.values()))
    warnings.add(
        anything & unlocated,
        next((member for member in members if member), None),
        "unlocated",
        f"The location of {what} could not be found from the address, postcode or "
        "coordinates given; the record is kept without a location.",
    )

    role = group.role
    # Object Series, so that pandas does not spend time converting them to its string type.
    return {
        f"{role}_easting": eastings,
        f"{role}_northing": northings,
        f"{role}_postcode": pd.Series(found_postcode, index=frame.index, dtype=object),
        f"{role}_geocode_method": pd.Series(method, index=frame.index, dtype=object),
        f"{role}_confidence": confidence,
    }
