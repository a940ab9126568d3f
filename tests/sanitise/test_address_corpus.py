"""Addresses as suppliers really write them, and as an attacker would: whatever the shape, a
sanitised record keeps only a street and locality the gazetteer knows for its own postcode,
and then the postcode: no number, name or house name survives."""

import re

import numpy as np
import pandas as pd

from datasets.catalogue import read_catalogue
from sanitise.geocode import LocationInput, geocode_frame
from sanitise.services import sanitise_frame

OFFENCE = next(schema for schema in read_catalogue() if schema.slug == "police_crime_offence")

BEFORE = [
    "", "John Smith ", "Mrs J. O'Brien, ", "Rose Cottage, ", "The Old Vicarage ", "outside ",
    "rear of ", "Rear Of ", "opposite ", "junction of ", "o/s ", "r/o ", "Plot 7 ", "Unit 4, ",
    "Flat B, ", "Flat 4 ", "Apartment 12, ", "PO Box 123, ", "near the shop at ",
]  # fmt: skip
NUMBERS = ["", "12 ", "12A ", "3-5 ", "3/5 ", "3—5 ", "3 – 5 ", "No. 12 ", "twelve ", "14-16 "]
NOT_TO_KEEP = re.compile(
    r"smith|brien|rose|cottage|vicarage|outside|rear|opposite|junction|o/s|r/o|plot|unit|flat"
    r"|apartment|box|twelve|shop|near",
    re.IGNORECASE,
)


def hostile_addresses(street: str, locality: str, postcode: str) -> list[str]:
    shapes = []
    for before in BEFORE:
        for number in NUMBERS:
            shapes += [
                f"{before}{number}{street}, {locality}",
                f"{before}{number}{street} {locality}",
                f"{before}{number}{street.upper()}, {locality.upper()}, {postcode}",
            ]
    shapes += [
        f"junction of {street} and Market Street, {locality}",
        f"3/5 Market Place, {locality}",
        f"3—5 {street}",
        f"{street}, {locality}, John Smith 07700 900123",
    ]
    return shapes


def known_streets(reference, postcode: str) -> set[str]:
    rows = reference.addresses[reference.addresses["postcode"] == postcode]["address"]
    return {re.sub(r"^\d+ ", "", address) for address in rows}


def test_hundreds_of_hostile_shapes_leave_only_a_known_street_and_the_postcode(
    wn_gazetteer, wn_reference
):
    safe = set(wn_gazetteer.postcodes[wn_gazetteer.safe])
    chosen = [p for p in wn_reference.addresses["postcode"].drop_duplicates() if p in safe][:4]
    rows = []
    for postcode in chosen:
        address = wn_reference.addresses[wn_reference.addresses["postcode"] == postcode].iloc[0]
        number_and_street, locality = address["address"].split(", ")
        street = number_and_street.split(" ", 1)[1]
        rows += [(text, postcode) for text in hostile_addresses(street, locality, postcode)]
    frame = pd.DataFrame(
        {
            "crime_ref": [f"CR{n}" for n in range(len(rows))],
            "address": [text for text, _ in rows],
            "postcode": [postcode for _, postcode in rows],
        }
    )
    assert len(frame) >= 200

    groups = [LocationInput.from_group(group) for group in OFFENCE.locations]
    geocoded = geocode_frame(frame, groups=groups, gazetteer=wn_gazetteer)
    result = sanitise_frame(frame, geocoded.frame, schema=OFFENCE, gazetteer=wn_gazetteer)

    kept = 0
    for (text, postcode), shown in zip(rows, result.records["address"], strict=True):
        assert result.records["postcode"].isin([*chosen, None]).all()
        if shown is None:
            continue
        rest = shown.removesuffix(postcode).strip(" ,")
        assert not NOT_TO_KEEP.search(rest), (text, shown)
        assert not re.search(r"[0-9]", rest), (text, shown)
        if rest:
            assert rest in known_streets(wn_reference, postcode), (text, shown)
            kept += 1
    # The street is kept wherever one of the postcode's streets is named, whatever surrounds it.
    assert kept / len(rows) > 0.9
    assert np.all(result.records["event_location_method"] == "centroid")


def test_the_street_index_keeps_streets_and_places_never_house_names():
    """Gazetteer addresses with house and building names, flats and farms: the index holds the
    street each is on and a locality many postcodes share, never a name only one has."""
    from sanitise.streets import street_index

    rows = [
        ("Old Mill Croft, 3 Haigh Road, Haigh", "WN2 1AA"),
        ("5 Haigh Road, Haigh", "WN2 1AA"),
        ("7 Haigh Road, Haigh", "WN2 1AA"),
        ("Flat 3, Barnes Court, 5 Elm Drive, Wigan", "WN1 1AA"),
        ("Flat A Elm Drive, Wigan", "WN1 1AA"),
        ("9 Elm Drive, Wigan", "WN1 1AA"),
        ("Rose Cottage, Back Lane, Smithy Brow Farm", "WN1 1AB"),
        *[(f"{n} Back Lane, Wigan", "WN1 1AB") for n in (1, 3)],
        *[(f"{n} Mill Lane, Haigh", f"WN2 1A{c}") for n, c in ((1, "B"), (2, "D"), (3, "E"))],
        *[(f"{n} Mill Lane, Wigan", f"WN1 1A{c}") for n, c in ((1, "D"), (2, "E"), (3, "F"))],
    ]
    addresses = pd.DataFrame(rows, columns=["address", "postcode"])

    index = street_index(addresses)

    shown = {label for streets in index.values() for _, label in streets}
    assert "Haigh Road" in shown or "Haigh Road, Haigh" in shown
    assert {"Elm Drive, Wigan", "Mill Lane, Wigan", "Mill Lane, Haigh"} <= shown
    for label in shown:
        assert not re.search(r"Croft|Court|Cottage|Farm|Flat|[0-9]", label), label
