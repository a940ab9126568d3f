"""The guidance's worked example (Appendix 1) and its four-household condition."""

import numpy as np
import pandas as pd

from datasets.catalogue import read_catalogue
from sanitise.geocode import LocationInput, geocode_frame
from sanitise.services import sanitise_frame

from .conftest import tiny_gazetteer

OFFENCE = next(schema for schema in read_catalogue() if schema.slug == "police_crime_offence")


def _sanitise(frame, gazetteer, schema=OFFENCE):
    groups = [LocationInput.from_group(group) for group in schema.locations]
    geocoded = geocode_frame(frame, groups=groups, gazetteer=gazetteer)
    return geocoded, sanitise_frame(frame, geocoded.frame, schema=schema, gazetteer=gazetteer)


def addresses(*rows: tuple[str, str]) -> pd.DataFrame:
    """Address gazetteer rows (address, postcode), at the postcode's own point."""
    return pd.DataFrame(
        [(n, address, postcode, 0.0, 0.0) for n, (address, postcode) in enumerate(rows)],
        columns=["uprn", "address", "postcode", "easting", "northing"],
    )


def test_the_guidance_worked_example_holds():
    gazetteer = tiny_gazetteer(
        [("SW1A 1AA", 654312, 123465, 12)],
        addresses=addresses(*[(f"{n} Acacia Avenue, London", "SW1A 1AA") for n in (1, 3, 5)]),
    )
    frame = pd.DataFrame(
        {
            "crime_ref": ["CR1"],
            "address": ["5 Acacia Avenue SW1A 1AA"],
            "postcode": ["SW1A 1AA"],
            "easting": ["654321"],
            "northing": ["123456"],
        }
    )

    geocoded, result = _sanitise(frame, gazetteer)

    assert geocoded.frame.loc[0, "event_geocode_method"] == "supplied"
    record = result.records.loc[0]
    # The gazetteer's own street; London, named in no other postcode here, is left out.
    assert record["address"] == "Acacia Avenue SW1A 1AA"
    assert (record["event_easting"], record["event_northing"]) == (654312, 123465)
    assert record["event_postcode"] == "SW1A 1AA"
    assert record["event_location_method"] == "centroid"
    assert "easting" not in result.records and "northing" not in result.records


def test_a_record_in_a_two_household_postcode_moves_to_the_nearest_with_four():
    gazetteer = tiny_gazetteer(
        [
            ("WN1 1AA", 358000, 405000, 2),
            ("WN1 1AB", 358100, 405000, 4),  # 100 m away: the nearest with four
            ("WN1 1AD", 358050, 405000, 3),  # nearer, but only three households
            ("WN1 1AE", 357700, 405000, 50),
        ],
        addresses=addresses(
            ("14 Mill Lane, Wigan", "WN1 1AA"), ("3 Lilac Terrace, Hindley", "WN1 1AB")
        ),
    )
    frame = pd.DataFrame(
        {
            "crime_ref": ["CR1"],
            "address": ["Flat 2, 14 Mill Lane, Wigan, WN1 1AA"],
            "postcode": ["wn11aa"],
            "easting": [None],
            "northing": [None],
        }
    )

    _, result = _sanitise(frame, gazetteer)

    record = result.records.loc[0]
    assert record["event_location_method"] == "moved"
    assert (record["event_easting"], record["event_northing"]) == (358100, 405000)
    assert record["event_postcode"] == "WN1 1AB"
    assert record["postcode"] == "WN1 1AB"
    # Neither the street it was moved from (pointing back at WN1 1AA) nor one it never was in.
    assert record["address"] == "WN1 1AB"
    assert result.location_counts["moved"] == 1


def test_a_postcode_with_no_known_household_count_is_treated_as_fewer_than_four():
    gazetteer = tiny_gazetteer([("WN1 1AA", 358000, 405000, None), ("WN1 1AB", 358300, 405000, 9)])
    frame = pd.DataFrame({"crime_ref": ["CR1"], "address": [None], "postcode": ["WN1 1AA"]})

    _, result = _sanitise(frame, gazetteer)

    assert result.records.loc[0, "event_postcode"] == "WN1 1AB"
    assert result.records.loc[0, "event_location_method"] == "moved"


def test_with_no_postcode_of_four_households_known_the_record_is_kept_unlocated():
    gazetteer = tiny_gazetteer([("WN1 1AA", 358000, 405000, 1)])
    frame = pd.DataFrame(
        {"crime_ref": ["CR1"], "postcode": ["WN1 1AA"], "address": ["3 Mill Road"]}
    )

    _, result = _sanitise(frame, gazetteer)

    record = result.records.loc[0]
    assert record["event_location_method"] == "unlocated"
    assert np.isnan(record["event_easting"])
    assert record["postcode"] is None
    assert record["address"] is None  # no postcode, so no street of it
    assert result.warnings[0]["code"] == "no_safe_postcode"
