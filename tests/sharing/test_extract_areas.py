"""Extracts by area: chosen by ward, LSOA or district, by code or name; each row with its
ward and LSOA (code and name); an unknown area refused with suggestions; associate-tier
extracts k-anonymous with the areas among the quasi-identifiers."""

from __future__ import annotations

import csv
import io
import zipfile

import pandas as pd
import pycanon.anonymity
import pytest

from datasets.areas import records_areas_rederive
from datasets.demo import last_month
from datasets.models import Record
from sanitise.choices import AreaKind, GazetteerKind
from sanitise.models import Area, GazetteerVersion, PostcodeAreas, PostcodeCentroid
from tests.sharing.test_extracts import download, extract

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WIGAN = "E08000010"


def _code(prefix: str, text: str) -> str:
    return prefix + f"{sum(ord(c) * 31**i for i, c in enumerate(text)) % 10**6:06d}"


@pytest.fixture
def areas(supplied):
    """A lookup for the demo's postcodes: a ward per postcode district, an LSOA per sector,
    named; the stored records back-filled from it."""
    version = GazetteerVersion.objects.create(
        kind=GazetteerKind.AREA_LOOKUP, source="test", row_count=0
    )
    postcodes = list(PostcodeCentroid.objects.filter(area="WN").values_list("postcode", flat=True))
    rows, named = [], {}
    for postcode in postcodes:
        district, sector = postcode.split(" ")[0], postcode[:-2]
        ward, lsoa = _code("E05", district), _code("E01", sector)
        named[ward] = (AreaKind.WARD, f"{district} ward")
        named[lsoa] = (AreaKind.LSOA, f"Wigan {sector}")
        rows.append(
            PostcodeAreas(
                postcode=postcode, ward_code=ward, lsoa_code=lsoa, lad_code=WIGAN, version=version
            )
        )
    PostcodeAreas.objects.bulk_create(rows)
    Area.objects.bulk_create(
        Area(code=code, kind=kind, name=name, lad_code=WIGAN, version=version)
        for code, (kind, name) in named.items()
    )
    records_areas_rederive()
    return supplied


def rows_of(archive: bytes) -> list[dict]:
    zipped = zipfile.ZipFile(io.BytesIO(archive))
    (name,) = [n for n in zipped.namelist() if n.endswith(".csv")]
    return list(csv.DictReader(io.TextIOWrapper(zipped.open(name), encoding="utf-8")))


def test_each_row_has_its_ward_and_lsoa_by_code_and_name(api_client, areas):
    state = extract(api_client, areas["analyst"], dataset="police_crime_offence", format="csv")
    rows = rows_of(download(api_client, state))

    names = dict(Area.objects.values_list("code", "name"))
    lookup = {p.postcode: p for p in PostcodeAreas.objects.all()}
    located = [row for row in rows if row["postcode"]]
    assert located
    for row in located:
        assert row["ward_code"] == lookup[row["postcode"]].ward_code
        assert row["lsoa_code"] == lookup[row["postcode"]].lsoa_code
        assert row["ward_name"] == names[row["ward_code"]]
        assert row["lsoa_name"] == names[row["lsoa_code"]]


def test_an_extract_of_a_ward_named_holds_exactly_that_wards_records(api_client, areas):
    start, end = last_month()
    ward = (
        Record.objects.filter(dataset__slug="police_crime_offence", event_date__range=(start, end))
        .exclude(ward_code="")
        .values_list("ward_code", flat=True)
        .first()
    )
    name = Area.objects.get(code=ward).name
    state = extract(
        api_client, areas["analyst"], dataset="police_crime_offence", format="csv",
        area={"areas": [name]},
    )  # fmt: skip
    rows = rows_of(download(api_client, state))

    expected = Record.objects.filter(
        dataset__slug="police_crime_offence", event_date__range=(start, end), ward_code=ward
    ).count()
    assert len(rows) == expected > 0
    assert {row["ward_code"] for row in rows} == {ward}


def test_an_area_the_partnership_does_not_have_is_refused_with_the_nearest(api_client, areas):
    start, end = last_month()
    api_client.force_authenticate(areas["analyst"])
    district = PostcodeCentroid.objects.filter(area="WN").first().postcode.split(" ")[0]
    response = api_client.post(
        "/api/v1/extracts/",
        {
            "dataset": "police_crime_offence", "period_start": str(start),
            "period_end": str(end), "format": "csv",
            "area": {"areas": [f"{district} wardd"]},
        },
        format="json",
    )  # fmt: skip

    assert response.status_code == 403  # the API's refusal of an extract, with its reason
    assert f"Did you mean: {district} ward" in response.json()["detail"]


def test_an_associate_partners_extract_is_k_anonymous_over_its_areas_too(
    api_client, areas, settings
):
    state = extract(
        api_client, areas["associate_analyst"], dataset="police_crime_offence", format="csv"
    )
    rows = rows_of(download(api_client, state))

    quasi = ["address", "postcode", "ward_code", "lsoa_code"]
    frame = pd.DataFrame(rows).replace("", "*")
    assert pycanon.anonymity.k_anonymity(frame, quasi) >= settings.HUB_EXTRACT_K
    generalised = [row for row in rows if row["postcode"] and len(row["postcode"]) <= 5]
    assert generalised
    # A sector keeps its ward (larger) but not its LSOA (smaller than the sector).
    assert all(not row["lsoa_code"] and not row["lsoa_name"] for row in generalised)
    assert any(row["ward_code"] for row in generalised)
    # Nor may the extract be narrowed to an LSOA: its row count would be the LSOA's count.
    start, end = last_month()
    lsoa = Area.objects.filter(kind=AreaKind.LSOA).first()
    response = api_client.post(
        "/api/v1/extracts/",
        {"dataset": "police_crime_offence", "period_start": str(start), "period_end": str(end),
         "format": "csv", "area": {"areas": [lsoa.name]}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403
    assert "finer than a postcode sector" in response.json()["detail"]
