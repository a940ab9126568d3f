"""Whatever a supplier sends, a person's location is only ever shown at the centroid of a
postcode with at least four households, or not at all."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.catalogue import read_catalogue
from sanitise import text
from sanitise.demo import DEMO_PLACES, demo_reference
from sanitise.geocode import LocationInput, geocode_frame
from sanitise.services import sanitise_frame

CATALOGUE = {schema.slug: schema for schema in read_catalogue()}
# Depersonalised datasets with event and home groups, between them every member combination.
SLUGS = ["police_crime_offence", "police_crime_victim", "ae_assault", "probation_oasys"]
REFERENCE = demo_reference()
POSTCODES = REFERENCE.centroids["postcode"].tolist()
SMALL = REFERENCE.households.loc[REFERENCE.households["households"] < 4, "postcode"].tolist()
ADDRESSES = REFERENCE.addresses["address"].tolist()
PLACES = [name for name, _, _ in DEMO_PLACES]
# Free text that is neither a number nor a flat ("f" left out) nor a postcode (no digits).
JUNK = "abcdeghijklmnopqrstuvwxyzABCDEGHIJKLMNOPQRSTUVWXYZ ,.'-"


def _mangle(draw, postcode: str) -> str:
    how = draw(st.sampled_from(["as is", "lower", "compact", "spaces", "o0", "i1"]))
    return {
        "as is": postcode,
        "lower": postcode.lower(),
        "compact": postcode.replace(" ", ""),
        "spaces": postcode.replace(" ", "   "),
        "o0": postcode.replace("0", "O"),
        "i1": postcode.replace("1", "I"),
    }[how]


@st.composite
def postcodes(draw):
    kind = draw(st.sampled_from(["small", "any", "junk", "none"]))
    if kind == "none":
        return None
    if kind == "junk":
        return draw(st.text(max_size=10))
    return _mangle(draw, draw(st.sampled_from(SMALL if kind == "small" else POSTCODES)))


@st.composite
def addresses(draw):
    kind = draw(st.sampled_from(["gazetteer", "flat", "place", "junk", "none"]))
    if kind == "none":
        return None
    if kind == "junk":
        return draw(st.text(alphabet=JUNK, max_size=40))
    if kind == "place":
        return draw(st.sampled_from(PLACES)) + draw(st.sampled_from(["", ", Wigan"]))
    address = draw(st.sampled_from(ADDRESSES))
    if kind == "flat":
        address = f"Flat {draw(st.integers(1, 9))}, {address}"
    postcode = draw(postcodes())
    return f"{address} {postcode}" if postcode else address


coordinates = st.one_of(
    st.none(),
    st.floats(348000, 372000),
    st.floats(-1e6, 2e6),
    st.sampled_from(["", "abc", "0"]),
)
records = st.fixed_dictionaries(
    {
        "address": addresses(),
        "postcode": postcodes(),
        "easting": coordinates,
        "northing": st.one_of(st.none(), st.floats(395000, 415000), st.floats(-1e6, 2e6)),
        "lat": st.one_of(st.none(), st.floats(53.4, 53.7)),
        "lon": st.one_of(st.none(), st.floats(-2.8, -2.4)),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slug=st.sampled_from(SLUGS), rows=st.lists(records, min_size=1, max_size=25))
def test_people_are_only_ever_shown_at_centroids_of_four_or_more_households(
    wn_gazetteer, slug, rows
):
    schema = CATALOGUE[slug]
    raw = pd.DataFrame(rows)
    frame = pd.DataFrame(index=raw.index)
    for group in schema.locations:
        for member in ("address", "postcode", "easting", "northing"):
            column = getattr(group, member)
            if column:
                frame[column] = raw[member]
    frame[["lat", "lon"]] = raw[["lat", "lon"]]
    groups = [
        LocationInput.from_group(group, latitude="lat", longitude="lon")
        for group in schema.locations
    ]

    geocoded = geocode_frame(frame, groups=groups, gazetteer=wn_gazetteer)
    result = sanitise_frame(frame, geocoded.frame, schema=schema, gazetteer=wn_gazetteer)

    safe = wn_gazetteer.safe
    safe_points = set(zip(wn_gazetteer.eastings[safe], wn_gazetteer.northings[safe], strict=True))
    place_points = {(float(e), float(n)) for _, e, n in DEMO_PLACES}
    records = result.records
    for group in schema.locations:
        role = group.role
        method = records[f"{role}_location_method"]
        points = zip(records[f"{role}_easting"], records[f"{role}_northing"], strict=True)
        for (e, n), how, postcode in zip(points, method, records[f"{role}_postcode"], strict=True):
            if how == "unlocated":
                assert np.isnan(e) and np.isnan(n) and postcode is None
            elif how == "place":
                assert role == "event" and (e, n) in place_points
            else:
                assert how in {"centroid", "moved"} and (e, n) in safe_points
                position = np.flatnonzero(wn_gazetteer.postcodes == postcode)[0]
                assert (wn_gazetteer.eastings[position], wn_gazetteer.northings[position]) == (e, n)
        if group.postcode:
            shown = records[group.postcode]
            assert (shown.isna() | (shown == records[f"{role}_postcode"])).all()
        if group.address:
            written = text.extract_postcode(records[group.address].fillna(""))
            expected = text.postcode_compact(records[f"{role}_postcode"])
            assert ((written == "") | (written == expected)).all()
            assert (
                not records[group.address].fillna("").str.match(r"\s*(flat|\d)", case=False).any()
            )
