"""The synthetic police_crime_offence file, generated deterministically from the loaded
gazetteer's real Code-Point Open postcodes and addresses, with a share of bad rows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.utils import timezone

from datasets.bench.world import BenchFailed
from hub.models import Partnership

SEED = 20260901
# Share of each kind of location in the generated file; the rest have none.
LOCATION_MIX = {
    "coordinates": 0.35,
    "address": 0.20,
    "address_postcode": 0.10,
    "postcode": 0.33,
}
BAD_ROW_SHARE = 0.003
SMALL_POSTCODE_SHARE = 0.04
OFFENCE_CODES = ["105A", "105B", "008N", "028/01", "030/01", "045/00", "058C", "049/00", "092A"]
ENTRY_METHODS = ["Forced rear door", "Insecure window", "Front door kicked", "Key used"]
PROPERTY = ["Cash", "Laptop", "Mobile phone", "Vehicle", "Bicycle", "Jewellery"]
WEAPONS = ["Knife", "Blunt instrument", "Hands/feet", "Firearm"]
FILE_COLUMNS = [
    "crime_ref", "ho_offence_code", "committed_from_date", "committed_from_time",
    "committed_to_date", "committed_to_time", "address", "postcode", "easting", "northing",
    "method_of_entry", "property_stolen", "weapon", "flag_distraction_burglary", "flag_drugs",
    "flag_alcohol", "flag_racial", "flag_domestic",
]  # fmt: skip
# Every "HH:MM" of the day, looked up by minute: no string formatting per row.
CLOCK = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)], dtype=object)


@dataclass(frozen=True)
class Reference:
    """The partnership's postcodes (real Code-Point Open) and gazetteer addresses."""

    postcodes: np.ndarray
    eastings: np.ndarray
    northings: np.ndarray
    small: np.ndarray  # fewer than four households (or none known)
    addresses: np.ndarray
    address_postcodes: np.ndarray


def reference_load(partnership: Partnership) -> Reference:
    from sanitise.models import Address, PostcodeCentroid, PostcodeHouseholds

    rows = list(
        PostcodeCentroid.objects.filter(area__in=partnership.postcode_areas)
        .order_by("postcode")
        .values_list("postcode", "easting", "northing")
    )
    if not rows:
        raise BenchFailed(f"No postcode centroids are loaded for {partnership.postcode_areas}.")
    postcodes, eastings, northings = (np.array(column) for column in zip(*rows, strict=True))
    households = dict(
        PostcodeHouseholds.objects.filter(postcode__in=postcodes.tolist()).values_list(
            "postcode", "households"
        )
    )
    small = np.array([households.get(postcode, 0) < 4 for postcode in postcodes.tolist()])
    addresses = list(
        Address.objects.filter(postcode__in=postcodes.tolist())
        .order_by("uprn")
        .values_list("address", "postcode")
    )
    if not addresses:
        raise BenchFailed("No gazetteer addresses are loaded for the partnership's postcodes.")
    address_text, address_postcodes = (
        np.array(column, dtype=object) for column in zip(*addresses, strict=True)
    )
    return Reference(
        postcodes=postcodes.astype(object),
        eastings=eastings.astype(float),
        northings=northings.astype(float),
        small=small,
        addresses=address_text,
        address_postcodes=address_postcodes,
    )


def _pick(rng, values: list[str], count: int, share: float) -> np.ndarray:
    """``values`` for a ``share`` of rows, None for the others."""
    chosen = np.array(values, dtype=object)[rng.integers(0, len(values), count)]
    return np.where(rng.random(count) < share, chosen, None)


def _iso_dates(start: datetime.date, offsets: np.ndarray) -> np.ndarray:
    days = np.datetime64(start, "D") + offsets.astype("timedelta64[D]")
    return np.datetime_as_string(days, unit="D").astype(object)


def offence_file(
    *, rows: int, period: tuple[datetime.date, datetime.date], reference: Reference, seed: int
) -> tuple[pa.Table, dict]:
    """A police_crime_offence supply of ``rows`` rows, the same for the same arguments.

    Locations as LOCATION_MIX: coordinates near a postcode centroid, an address alone, an
    address with its postcode, a postcode alone, or nothing; a share of the postcodes have
    fewer than four households. About BAD_ROW_SHARE of the rows are wrong in one way the
    validation rejects. Returns the table (field names as header) and what went into it.
    """
    rng = np.random.default_rng(seed)
    start, end = period
    kinds = np.array([*LOCATION_MIX, "none"])
    weights = np.array([*LOCATION_MIX.values(), 1 - sum(LOCATION_MIX.values())])
    kind = kinds[rng.choice(len(kinds), rows, p=weights)]

    postcode_index = rng.integers(0, len(reference.postcodes), rows)
    small_postcodes = np.flatnonzero(reference.small)
    if len(small_postcodes):
        to_small = rng.random(rows) < SMALL_POSTCODE_SHARE
        picks = rng.integers(0, len(small_postcodes), int(to_small.sum()))
        postcode_index[to_small] = small_postcodes[picks]
    address_index = rng.integers(0, len(reference.addresses), rows)
    with_coordinates = kind == "coordinates"
    with_address = np.isin(kind, ["address", "address_postcode"])
    # Supplied points are the agency's own geocoding: within about 60 m of the centroid.
    eastings = np.round(reference.eastings[postcode_index] + rng.normal(0, 60, rows))
    northings = np.round(reference.northings[postcode_index] + rng.normal(0, 60, rows))
    postcode = np.where(kind == "postcode", reference.postcodes[postcode_index], None)
    postcode = np.where(
        kind == "address_postcode", reference.address_postcodes[address_index], postcode
    )

    day_count = (end - start).days + 1
    days = rng.integers(0, day_count, rows)
    # Offences cluster in the evening and at night, as recorded crime does.
    minutes = np.where(
        rng.random(rows) < 0.45,
        (rng.integers(21 * 60, 28 * 60, rows)) % (24 * 60),
        rng.integers(0, 24 * 60, rows),
    )
    has_to = rng.random(rows) < 0.3
    to_days = np.minimum(days + rng.integers(0, 3, rows), day_count - 1)
    flags = {
        name: np.where(rng.random(rows) < share, "Y", "N").astype(object)
        for name, share in [
            ("flag_distraction_burglary", 0.01), ("flag_drugs", 0.08), ("flag_alcohol", 0.3),
            ("flag_racial", 0.02), ("flag_domestic", 0.2),
        ]
    }  # fmt: skip
    columns = {
        "crime_ref": ("BN/" + np.char.zfill(np.arange(1, rows + 1).astype(str), 8)).astype(object),
        "ho_offence_code": np.array(OFFENCE_CODES, dtype=object)[
            rng.integers(0, len(OFFENCE_CODES), rows)
        ],
        "committed_from_date": _iso_dates(start, days),
        "committed_from_time": CLOCK[minutes],
        "committed_to_date": np.where(has_to, _iso_dates(start, to_days), None),
        "committed_to_time": np.where(has_to, CLOCK[(minutes + 30) % (24 * 60)], None),
        "address": np.where(with_address, reference.addresses[address_index], None),
        "postcode": postcode,
        "easting": np.where(with_coordinates, eastings.astype(np.int64).astype(str), None),
        "northing": np.where(with_coordinates, northings.astype(np.int64).astype(str), None),
        "method_of_entry": _pick(rng, ENTRY_METHODS, rows, 0.1),
        "property_stolen": _pick(rng, PROPERTY, rows, 0.2),
        "weapon": _pick(rng, WEAPONS, rows, 0.05),
        **flags,
    }

    bad = np.flatnonzero(rng.random(rows) < BAD_ROW_SHARE)
    how = rng.integers(0, 4, len(bad))
    columns["committed_from_date"][bad[how == 0]] = f"{start.year}-13-45"  # no such date
    columns["ho_offence_code"][bad[how == 1]] = None  # a required field missing
    columns["flag_domestic"][bad[how == 2]] = "maybe"  # not a boolean
    columns["easting"][bad[how == 3]] = "9999999"  # off the National Grid
    columns["northing"][bad[how == 3]] = "400000"

    table = pa.table({name: pa.array(columns[name], type=pa.string()) for name in FILE_COLUMNS})
    made = {
        "rows": rows,
        "bad_rows": len(bad),
        "locations": {name: int((kind == name).sum()) for name in kinds},
        "small_postcode_rows": int(
            reference.small[postcode_index][kind == "postcode"].sum()
            + reference.small[postcode_index][with_coordinates].sum()
        ),
    }
    return table, made


def csv_write(table: pa.Table, path: Path) -> None:
    pa_csv.write_csv(table, str(path), pa_csv.WriteOptions(quoting_style="needed"))


def offence_csv(
    *,
    path: Path,
    rows: int,
    period: tuple[datetime.date, datetime.date],
    reference: Reference,
    seed: int,
) -> dict:
    """``offence_file`` written to ``path``; returns what went into it and its size."""
    table, made = offence_file(rows=rows, period=period, reference=reference, seed=seed)
    csv_write(table, path)
    return {**made, "bytes": path.stat().st_size}


def previous_month(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    end = (today or timezone.localdate()).replace(day=1) - datetime.timedelta(days=1)
    return end.replace(day=1), end


def months_before(
    period: tuple[datetime.date, datetime.date], count: int
) -> list[tuple[datetime.date, datetime.date]]:
    """The ``count`` months before ``period``'s, latest first."""
    months = []
    for _ in range(count):
        period = previous_month(period[0])
        months.append(period)
    return months
