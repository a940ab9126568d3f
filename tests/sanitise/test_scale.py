"""A million records geocoded and sanitised in one call each, checked for correctness."""

import numpy as np
import pandas as pd
from convertbng.cutil import convert_lonlat

from datasets.catalogue import read_catalogue
from sanitise.geocode import LocationInput, geocode_frame
from sanitise.services import sanitise_frame

OFFENCE = next(schema for schema in read_catalogue() if schema.slug == "police_crime_offence")
ROWS = 1_000_000


def _million_records(reference) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    centroids = reference.centroids
    addresses = reference.addresses
    mode = rng.choice(
        ["supplied", "postcode", "address", "latlong", "none"], ROWS, p=[0.3, 0.3, 0.25, 0.1, 0.05]
    )
    frame = pd.DataFrame(
        {
            "crime_ref": np.arange(ROWS).astype(str),
            "ho_offence_code": "028/01",
            "address": None,
            "postcode": None,
            "easting": np.nan,
            "northing": np.nan,
            "lat": np.nan,
            "lon": np.nan,
        }
    )
    supplied = mode == "supplied"
    frame.loc[supplied, "easting"] = rng.uniform(352000, 368000, supplied.sum()).round()
    frame.loc[supplied, "northing"] = rng.uniform(398000, 412000, supplied.sum()).round()
    postcode = mode == "postcode"
    picks = centroids["postcode"].to_numpy()[rng.integers(0, len(centroids), postcode.sum())]
    frame.loc[postcode, "postcode"] = np.where(
        rng.random(postcode.sum()) < 0.5, picks, np.char.lower(picks.astype(str))
    )
    address = mode == "address"
    picks = rng.integers(0, len(addresses), address.sum())
    frame.loc[address, "address"] = addresses["address"].to_numpy()[picks]
    frame.loc[address, "postcode"] = addresses["postcode"].to_numpy()[picks]
    latlong = mode == "latlong"
    picks = rng.integers(0, len(centroids), latlong.sum())
    lon, lat = convert_lonlat(
        centroids["easting"].to_numpy(dtype=float)[picks],
        centroids["northing"].to_numpy(dtype=float)[picks],
    )
    frame.loc[latlong, "lat"], frame.loc[latlong, "lon"] = lat, lon
    return frame, mode


def test_a_million_records_are_sanitised_in_one_call(wn_reference, wn_gazetteer):
    frame, mode = _million_records(wn_reference)
    groups = [LocationInput.from_group(OFFENCE.locations[0], latitude="lat", longitude="lon")]

    geocoded = geocode_frame(frame, groups=groups, gazetteer=wn_gazetteer)
    result = sanitise_frame(frame, geocoded.frame, schema=OFFENCE, gazetteer=wn_gazetteer)

    methods = geocoded.frame["event_geocode_method"].to_numpy()
    assert (methods[mode == "supplied"] == "supplied").all()
    assert (methods[mode == "address"] == "address").all()
    assert (methods[mode == "postcode"] == "postcode").all()
    assert (methods[mode == "latlong"] == "latlong").all()
    assert (methods[mode == "none"] == "none").all()

    records = result.records
    assert len(records) == ROWS and records.index.equals(frame.index)
    assert not {"easting", "northing"} & set(records.columns)
    counts = result.location_counts
    assert sum(counts.values()) == ROWS
    assert counts["unlocated"] == (mode == "none").sum()
    assert counts["moved"] > 0 and counts["centroid"] > 0
    shown = records["event_location_method"].isin(["centroid", "moved"]).to_numpy()
    positions = wn_gazetteer.match_postcodes(records["event_postcode"][shown]).positions
    assert (positions >= 0).all()
    assert wn_gazetteer.safe[positions].all()
    assert (records["event_easting"].to_numpy()[shown] == wn_gazetteer.eastings[positions]).all()
    assert (records["event_northing"].to_numpy()[shown] == wn_gazetteer.northings[positions]).all()
    assert (
        records["postcode"].to_numpy()[shown] == records["event_postcode"].to_numpy()[shown]
    ).all()
    assert records.loc[mode == "none", "event_easting"].isna().all()
