"""Sanitisation rules (guidance Appendix 1): postcode-centroid locations, addresses reduced to
the streets the gazetteer knows, and ages.

The rules are plain, vectorised functions over pandas frames; they write nothing. The
reference data they rest on are imported by ``sanitise.imports``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from datasets.catalogue import PERSONAL_ROLES, DatasetSchema, LocationGroup, withheld_fields
from datasets.choices import DatasetKind, LocationRole
from sanitise import text
from sanitise.choices import GeocodeMethod, LocationMethod
from sanitise.reference import Gazetteer

MAX_AGE = 120

# --- Addresses ---------------------------------------------------------------------------


def _address_with_postcode(scrubbed: pd.Series, original: pd.Series, postcodes: np.ndarray):
    """Put the sanitised postcode after the known street where the address had one: the
    original postcode may be a small one the record was moved away from, and an unlocated
    record shows none."""
    had_postcode = (text.extract_postcode(original) != "").to_numpy()
    comma = text.on_uniques(
        original, lambda s: s.str.contains(rf",\s*{text.POSTCODE_PATTERN}\s*$", case=False)
    ).astype(bool)
    without = text.remove_postcodes(scrubbed)
    add = had_postcode & ~pd.isna(postcodes)
    separator = np.where(comma.to_numpy() & (without != "").to_numpy(), ", ", " ")
    joined = (without + pd.Series(separator, index=without.index)).str.lstrip(", ")
    joined = joined + pd.Series(postcodes, index=without.index).fillna("").astype(str)
    return without.where(~add, joined.str.strip())


# --- Sanitisation -------------------------------------------------------------------------


@dataclass
class SanitiseResult:
    """``records`` holds no identifying field; ``identifying`` (personalised datasets only)
    holds the raw values withheld from ``records``, to be stored apart, encrypted.
    ``location_counts`` counts every location group of every record by method."""

    records: pd.DataFrame
    identifying: pd.DataFrame | None
    location_counts: dict[str, int]
    location_counts_by_role: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)


def _parse_dates(values) -> pd.Series:
    """Dates as yyyy-mm-dd or dd/mm/yyyy (or already dates); NaT where neither."""
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    iso = pd.to_datetime(values, format="ISO8601", errors="coerce")
    british = pd.to_datetime(values, format="%d/%m/%Y", errors="coerce")
    return iso.fillna(british)


def age_at(date_of_birth: pd.Series, when: pd.Series) -> pd.Series:
    """Whole years from date of birth to ``when`` (nullable integers; missing where either date
    is missing or the age would be negative or over 120)."""
    born = _parse_dates(date_of_birth)
    at = _parse_dates(when)
    before_birthday = (at.dt.month < born.dt.month) | (
        (at.dt.month == born.dt.month) & (at.dt.day < born.dt.day)
    )
    years = at.dt.year - born.dt.year - before_birthday.astype(int)
    years = years.where(born.notna() & at.notna() & (years >= 0) & (years <= MAX_AGE))
    return years.astype("Int64")


def _sanitise_personal_group(
    group: LocationGroup,
    frame: pd.DataFrame,
    geocoded: pd.DataFrame,
    gazetteer: Gazetteer,
    warnings: list[dict],
) -> tuple[dict[str, object], dict[str, object]]:
    """Centroid of the record's postcode; a postcode with fewer than four households (or no
    known count) is replaced by the nearest postcode, by centroid, that has at least four.
    Returns the location columns and the replacements for the group's own members."""
    role = group.role
    eastings = geocoded[f"{role}_easting"].to_numpy(dtype=float)
    northings = geocoded[f"{role}_northing"].to_numpy(dtype=float)
    method = geocoded[f"{role}_geocode_method"].to_numpy(dtype=object)
    n = len(frame)
    located = np.isfinite(eastings) & np.isfinite(northings)
    # A named place describes no one's home, so an event there stays; a home never does.
    at_place = located & (method == GeocodeMethod.PLACE) & (role == LocationRole.EVENT)
    to_centroid = located & ~at_place

    positions = np.full(n, -1, dtype=np.int64)
    positions[to_centroid] = gazetteer.match_postcodes(
        geocoded[f"{role}_postcode"][to_centroid]
    ).positions
    no_postcode = np.flatnonzero(to_centroid & (positions < 0))
    positions[no_postcode], _ = gazetteer.nearest(eastings[no_postcode], northings[no_postcode])

    safe = gazetteer.safe
    has_centroid = positions >= 0
    keep = np.zeros(n, dtype=bool)
    keep[has_centroid] = safe[positions[has_centroid]]
    move = np.flatnonzero(has_centroid & ~keep)
    target = positions.copy()
    target[move], _ = gazetteer.nearest_safe(
        gazetteer.eastings[positions[move]], gazetteer.northings[positions[move]]
    )
    moved = np.zeros(n, dtype=bool)
    moved[move] = target[move] >= 0
    shown = keep | moved

    place_rows = np.flatnonzero(at_place)
    place_postcodes, _ = gazetteer.nearest_safe(eastings[place_rows], northings[place_rows])

    out_e = np.full(n, np.nan)
    out_n = np.full(n, np.nan)
    out_pc = np.full(n, None, dtype=object)
    out_method = np.full(n, LocationMethod.UNLOCATED.value, dtype=object)
    out_e[shown] = gazetteer.eastings[target[shown]]
    out_n[shown] = gazetteer.northings[target[shown]]
    out_pc[shown] = gazetteer.postcodes[target[shown]]
    out_method[keep] = LocationMethod.CENTROID
    out_method[moved] = LocationMethod.MOVED
    out_e[at_place], out_n[at_place] = eastings[at_place], northings[at_place]
    out_method[at_place] = LocationMethod.PLACE
    with_postcode = place_postcodes >= 0
    out_pc[place_rows[with_postcode]] = gazetteer.postcodes[place_postcodes[with_postcode]]

    lost = to_centroid & ~shown
    for row in frame.index[lost].tolist():
        warnings.append(
            {
                "row": row,
                "field": group.postcode or group.address or group.easting or "",
                "code": "no_safe_postcode",
                "message": "No postcode with at least four households is known near this "
                "location, so it cannot be shown without identifying a household; the record "
                "is kept without a location.",
            }
        )

    members: dict[str, object] = {}
    if group.address and group.address in frame:
        original = frame[group.address]
        # Only a street of the record's own postcode: a moved record's street would point back
        # at the small postcode it was moved from (sanitise.streets).
        own = np.where(out_method == LocationMethod.CENTROID, out_pc, None)
        streets = pd.Series(gazetteer.streets_named(original, own), index=frame.index)
        addresses = _address_with_postcode(streets.fillna(""), original, out_pc)
        if len(place_rows):
            _, _, names = gazetteer.match_places(original.iloc[place_rows].reset_index(drop=True))
            named = addresses.to_numpy(dtype=object, copy=True)
            named[place_rows] = names
            addresses = pd.Series(named, index=frame.index, dtype=object)
        members[group.address] = addresses.where(addresses != "", None)
    postcodes = pd.Series(out_pc, index=frame.index, dtype=object)
    if group.postcode:
        members[group.postcode] = postcodes
    columns = {
        f"{role}_easting": out_e,
        f"{role}_northing": out_n,
        f"{role}_postcode": postcodes,
        f"{role}_location_method": pd.Series(out_method, index=frame.index, dtype=object),
    }
    return columns, members


def _sanitise_site_group(
    group: LocationGroup,
    frame: pd.DataFrame,
    geocoded: pd.DataFrame,
    gazetteer: Gazetteer,
) -> tuple[dict[str, object], dict[str, object]]:
    """A site (a school, a waste site) is not moved: it describes no one's home."""
    role = group.role
    eastings = geocoded[f"{role}_easting"].to_numpy(dtype=float)
    located = np.isfinite(eastings)
    columns = {
        f"{role}_easting": eastings,
        f"{role}_northing": geocoded[f"{role}_northing"].to_numpy(dtype=float),
        f"{role}_postcode": geocoded[f"{role}_postcode"].astype(object),
        f"{role}_location_method": pd.Series(
            np.where(located, LocationMethod.SITE.value, LocationMethod.UNLOCATED.value),
            index=frame.index,
            dtype=object,
        ),
    }
    members: dict[str, object] = {}
    if group.address and group.address in frame:
        # A site is not moved, but its address is cleaned as any other: "outside 12 Elm
        # Drive" is a house, whatever the dataset calls the field.
        postcodes = geocoded[f"{role}_postcode"].to_numpy(dtype=object)
        streets = gazetteer.streets_named(frame[group.address], postcodes)
        members[group.address] = pd.Series(streets, index=frame.index, dtype=object)
    return columns, members


def sanitise_frame(
    frame: pd.DataFrame,
    geocoded: pd.DataFrame,
    *,
    schema: DatasetSchema,
    gazetteer: Gazetteer,
    event_date: pd.Series | None = None,
) -> SanitiseResult:
    """Depersonalise geocoded records (guidance Appendix 1).

    ``records`` never holds an identifying field, nor the raw address, postcode or coordinates
    of an ``event`` or ``home`` group: every coordinate shown for those is the centroid of a
    postcode with at least four known households (or NaN), or, for an event, the centre of a
    named place. ``age`` is derived from ``date_of_birth`` at ``event_date`` where missing.
    """
    withheld = withheld_fields(schema)
    roles = [group.role for group in schema.locations]
    if len(roles) != len(set(roles)):
        raise ValueError(f"{schema.slug}: two location groups share a role {roles}")

    warnings: list[dict] = []
    location_columns: dict[str, object] = {}
    replacements: dict[str, object] = {}
    for group in schema.locations:
        if group.role in PERSONAL_ROLES:
            columns, members = _sanitise_personal_group(group, frame, geocoded, gazetteer, warnings)
        else:
            columns, members = _sanitise_site_group(group, frame, geocoded, gazetteer)
        location_columns.update(columns)
        replacements.update(members)

    names = schema.field_names
    derived: dict[str, object] = {}
    derive_age = {"age", "date_of_birth"} <= set(names) and "date_of_birth" in frame
    if derive_age and event_date is not None:
        when = (
            event_date.reindex(frame.index)
            if isinstance(event_date, pd.Series)
            else pd.Series(event_date, index=frame.index)
        )
        age = age_at(frame["date_of_birth"], when)
        if "age" in frame:
            given = pd.to_numeric(frame["age"], errors="coerce").astype("Int64")
            age = given.fillna(age)
        derived["age"] = age

    columns: dict[str, object] = {}
    for name in names:
        if name in replacements:
            columns[name] = replacements[name]
        elif name in derived:
            columns[name] = derived[name]
        elif name not in withheld and name in frame:
            columns[name] = frame[name]
    columns.update(location_columns)
    records = pd.DataFrame(columns, index=frame.index)

    identifying_frame = None
    if schema.kind != DatasetKind.DEPERSONALISED:
        raw = [name for name in names if name in withheld and name in frame]
        identifying_frame = frame[raw].copy()

    by_role = {}
    for role in roles:
        tally = location_columns[f"{role}_location_method"].value_counts()
        by_role[role] = {method.value: int(tally.get(method.value, 0)) for method in LocationMethod}
    counts = {
        method.value: sum(role_counts[method.value] for role_counts in by_role.values())
        for method in LocationMethod
    }
    return SanitiseResult(
        records=records,
        identifying=identifying_frame,
        location_counts=counts,
        location_counts_by_role=by_role,
        warnings=warnings,
    )
