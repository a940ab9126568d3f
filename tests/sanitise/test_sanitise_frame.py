"""What sanitised records may and may not hold, for real schemas of the catalogue."""

import numpy as np
import pandas as pd
import pytest

from datasets.catalogue import read_catalogue
from sanitise.geocode import LocationInput, geocode_frame
from sanitise.services import sanitise_frame

CATALOGUE = {schema.slug: schema for schema in read_catalogue()}


def _run(frame, schema, gazetteer, **kwargs):
    groups = [LocationInput.from_group(group) for group in schema.locations]
    geocoded = geocode_frame(frame, groups=groups, gazetteer=gazetteer)
    return geocoded, sanitise_frame(
        frame, geocoded.frame, schema=schema, gazetteer=gazetteer, **kwargs
    )


def _safe_postcode(gazetteer, index=0):
    return gazetteer.postcodes[np.flatnonzero(gazetteer.safe)[index]]


@pytest.mark.parametrize("slug", sorted(CATALOGUE))
def test_identifying_fields_are_never_in_records(slug, wn_gazetteer):
    schema = CATALOGUE[slug]
    postcode = _safe_postcode(wn_gazetteer)
    values = {
        "string": f"12 Acacia Avenue, Wigan, {postcode}",
        "integer": "30",
        "number": "358016",
        "date": "1980-05-17",
        "time": "10:00",
        "boolean": "Y",
    }
    frame = pd.DataFrame([{spec.name: values[spec.type] for spec in schema.fields}] * 3)

    _, result = _run(frame, schema, wn_gazetteer, event_date=pd.Series(["2024-01-01"] * 3))

    identifying = {spec.name for spec in schema.fields if spec.field_class == "identifying"}
    addresses = {group.address for group in schema.locations}
    assert not (identifying - addresses) & set(result.records.columns)
    for group in schema.locations:
        if group.role in ("event", "home"):
            if group.address:
                assert not result.records[group.address].str.contains("12").any()
            for member in (group.easting, group.northing):
                assert member is None or member not in result.records
    if schema.kind == "depersonalised":
        assert result.identifying is None
    else:
        assert identifying <= set(result.identifying.columns)


def test_personalised_datasets_keep_the_raw_identifying_values_apart(wn_gazetteer, wn_reference):
    schema = CATALOGUE["prison_release"]
    postcode = _safe_postcode(wn_gazetteer)
    known = wn_reference.addresses[wn_reference.addresses["postcode"] == postcode].iloc[0]
    number_and_street, locality = known["address"].split(", ")
    street = number_and_street.split(" ", 1)[1]
    frame = pd.DataFrame(
        [
            {
                "name": "Jane Doe",
                "date_of_birth": "1990-02-03",
                "address": f"7 {street}",
                "postcode": postcode,
            }
        ]
    )

    _, result = _run(frame, schema, wn_gazetteer)

    assert result.identifying.loc[0, "name"] == "Jane Doe"
    assert result.identifying.loc[0, "address"] == f"7 {street}"
    assert "name" not in result.records and "date_of_birth" not in result.records
    assert result.records.loc[0, "address"] == f"{street}, {locality}"


def test_date_of_birth_becomes_age_at_the_event_date(wn_gazetteer):
    schema = CATALOGUE["police_crime_victim"]
    frame = pd.DataFrame(
        {
            "crime_ref": ["A", "B", "C", "D"],
            "date_of_birth": ["1990-06-15", "15/06/1990", "1990-06-15", None],
            "age": [None, None, "40", None],
        }
    )
    event_date = pd.Series(["2024-06-14", "2024-06-15", "2024-06-15", "2024-06-15"])

    _, result = _run(frame, schema, wn_gazetteer, event_date=event_date)

    assert result.records["age"].tolist() == [33, 34, 40, pd.NA]
    assert "date_of_birth" not in result.records


def test_site_groups_are_not_moved(wn_gazetteer):
    schema = CATALOGUE["school_exclusion"]
    frame = pd.DataFrame(
        {"pupil_ref": ["P1", "P2"], "easting": ["358021", None], "northing": ["405777", None]}
    )

    _, result = _run(frame, schema, wn_gazetteer)

    assert result.records["site_location_method"].tolist() == ["site", "unlocated"]
    assert result.records.loc[0, "site_easting"] == 358021
    assert result.records.loc[0, "site_northing"] == 405777
    assert result.location_counts == {
        "centroid": 0,
        "moved": 0,
        "place": 0,
        "site": 1,
        "unlocated": 1,
    }


def test_an_event_at_a_named_place_stays_at_the_place_but_a_home_does_not(wn_gazetteer):
    event = CATALOGUE["police_crime_offence"]
    home = CATALOGUE["police_crime_victim"]
    frame = pd.DataFrame({"crime_ref": ["A"], "address": ["Mesnes Park, Wigan"]})

    geocoded, at_event = _run(frame, event, wn_gazetteer)
    _, at_home = _run(frame, home, wn_gazetteer)

    assert geocoded.frame.loc[0, "event_geocode_method"] == "place"
    assert at_event.records.loc[0, "event_location_method"] == "place"
    assert (
        at_event.records.loc[0, "event_easting"],
        at_event.records.loc[0, "event_northing"],
    ) == (357820, 406280)
    assert at_event.records.loc[0, "address"] == "Mesnes Park"
    position = np.flatnonzero(wn_gazetteer.postcodes == at_home.records.loc[0, "home_postcode"])[0]
    assert at_home.records.loc[0, "home_location_method"] in {"centroid", "moved"}
    assert wn_gazetteer.safe[position]
    assert at_home.records.loc[0, "home_easting"] == wn_gazetteer.eastings[position]


def test_coordinates_outside_great_britain_are_rejected_with_a_clear_error(wn_gazetteer):
    schema = CATALOGUE["police_crime_offence"]
    frame = pd.DataFrame(
        {
            "crime_ref": ["A", "B", "C"],
            "easting": ["812345", "-5", "abc"],
            "northing": ["405000", "405000", "405000"],
            "postcode": [None, _safe_postcode(wn_gazetteer), None],
        },
        index=[7, 8, 9],
    )

    geocoded, result = _run(frame, schema, wn_gazetteer)

    codes = {(error["row"], error["code"]) for error in geocoded.errors}
    assert codes == {
        (7, "outside_great_britain"),
        (8, "outside_great_britain"),
        (9, "coordinates_not_numbers"),
    }
    error = next(error for error in geocoded.errors if error["row"] == 7)
    assert error["field"] == "easting"
    assert "outside Great Britain" in error["message"] and "swapped" in error["message"]
    assert "812345" not in error["message"]
    assert geocoded.frame["event_geocode_method"].tolist() == ["none", "postcode", "none"]
    assert result.records["event_location_method"].tolist()[1] in {"centroid", "moved"}


def test_coordinates_outside_the_partnership_area_are_warned_not_rejected(wn_gazetteer):
    schema = CATALOGUE["police_crime_offence"]
    area = wn_gazetteer.area_for(["WN"], name="Wigan and Leigh")
    frame = pd.DataFrame(
        {"crime_ref": ["A", "B"], "easting": ["383848", "358016"], "northing": ["398589", "405780"]}
    )
    groups = [LocationInput.from_group(group) for group in schema.locations]

    geocoded = geocode_frame(frame, groups=groups, gazetteer=wn_gazetteer, area=area)

    assert geocoded.errors == []
    assert [(w["row"], w["code"]) for w in geocoded.warnings] == [(0, "outside_partnership_area")]
    assert "Wigan and Leigh" in geocoded.warnings[0]["message"]
    assert geocoded.frame["event_geocode_method"].tolist() == ["supplied", "supplied"]


def test_latitude_and_longitude_locate_a_group_when_nothing_else_does(wn_gazetteer):
    frame = pd.DataFrame({"lat": ["53.5453", "91", None], "lon": ["-2.6323", "0", None]})
    group = LocationInput(role="event", latitude="lat", longitude="lon")

    geocoded = geocode_frame(frame, groups=[group], gazetteer=wn_gazetteer)

    assert geocoded.frame["event_geocode_method"].tolist() == ["latlong", "none", "none"]
    assert 357000 < geocoded.frame.loc[0, "event_easting"] < 359000
    assert geocoded.frame.loc[0, "event_postcode"].startswith("WN")
    assert [(e["row"], e["code"]) for e in geocoded.errors] == [
        (1, "latlong_outside_great_britain")
    ]


def test_an_address_in_the_gazetteer_is_located_at_its_property(wn_reference, wn_gazetteer):
    row = wn_reference.addresses.iloc[100]
    street = row["address"].split(",")[0]
    frame = pd.DataFrame(
        {
            "address": [f"{street.upper().replace('ROAD', 'RD')}, somewhere", row["address"]],
            "postcode": [row["postcode"], None],
        }
    )

    geocoded = geocode_frame(
        frame,
        groups=[LocationInput(role="event", address="address", postcode="postcode")],
        gazetteer=wn_gazetteer,
    )

    assert geocoded.frame["event_geocode_method"].tolist() == ["address", "address"]
    assert geocoded.frame.loc[0, "event_easting"] == row["easting"]
    assert geocoded.frame["event_postcode"].tolist() == [row["postcode"], row["postcode"]]


def test_unlocated_records_are_kept_and_counted(wn_gazetteer):
    schema = CATALOGUE["police_crime_offence"]
    frame = pd.DataFrame({"crime_ref": ["A", "B"], "address": ["Somewhere unknown", None]})

    geocoded, result = _run(frame, schema, wn_gazetteer)

    assert len(result.records) == 2
    assert result.location_counts["unlocated"] == 2
    assert [(w["row"], w["code"]) for w in geocoded.warnings] == [(0, "unlocated")]
