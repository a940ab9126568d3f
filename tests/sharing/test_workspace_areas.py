"""Counts and rates by area, their choropleth and the area picker's search: what each persona
may see of them, on the page, in the CSV and through the API."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from datasets.demo import last_month
from datasets.models import Dataset, Record
from datasets.summary import counts_recount
from hub.models import AuditEntry
from sanitise.choices import AreaIndicator, AreaKind, GazetteerKind
from sanitise.models import Area, AreaStatistic, GazetteerVersion
from tests import factories
from tests.conftest import sign_in, supply_row
from tests.hub import owned
from tests.records import record_create

pytestmark = pytest.mark.django_db

PAGE, CSV, API, SEARCH = (
    "/workspace/areas/", "/workspace/areas.csv", "/api/v1/workspace/areas/",
    "/workspace/areas/search/",
)  # fmt: skip
WIGAN = "E08000010"
# code, name, residents, records: Bryn has none, and one record is in no ward at all.
WARDS = [
    ("E05000841", "Abram", 4000, 6),
    ("E05000842", "Ashton", 3000, 3),
    ("E05000843", "Bryn", 1000, 0),
]
UNPLACED = 1


def square(lon: float, lat: float, side: float = 0.01) -> dict:
    ring = [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def wigan_areas(*, synthetic: bool = True) -> GazetteerVersion:
    """Wigan as a local authority with three wards, each a small square, and their residents."""
    version = GazetteerVersion.objects.create(
        kind=GazetteerKind.BOUNDARIES, source="test squares", row_count=4, synthetic=synthetic
    )
    Area.objects.create(code=WIGAN, kind=AreaKind.LAD, name="Wigan", version=version)
    for index, (code, name, residents, _) in enumerate(WARDS):
        Area.objects.create(
            code=code, kind=AreaKind.WARD, name=name, lad_code=WIGAN, version=version,
            boundary=square(-2.65 + index * 0.01, 53.5), approximate=name == "Bryn",
        )  # fmt: skip
        AreaStatistic.objects.create(
            area_code=code, indicator=AreaIndicator.POPULATION, value=residents, version=version
        )
    return version


@pytest.fixture
def wards(personas):
    """The demo partnership covering Wigan's three wards, and last month's police offences in
    them, counted into the monthly counts as a load would."""
    partnership = factories.demo_partnership()
    partnership.local_authorities = [WIGAN]
    partnership.save(update_fields=["local_authorities"])
    wigan_areas()
    start, end = last_month()
    offences = Dataset.objects.get(slug="police_crime_offence")
    supply = supply_row(
        agency=owned.agency(owned.POLICE), uploaded_by=personas["police_supplier"],
        dataset=offences, status="completed", period_start=start, period_end=end,
    )  # fmt: skip
    row = 1
    for code, _, _, records in [*WARDS, ("", "", 0, UNPLACED)]:
        for _ in range(records):
            row += 1
            record_create(
                partnership=partnership, dataset=offences, supply=supply, row_number=row,
                event_date=start, ward_code=code, lad_code=WIGAN if code else "",
                data={"ho_offence_code": "28E"},
            )  # fmt: skip
    counts_recount(supply_ids=[supply.pk])
    return personas


def asked(**extra) -> dict:
    start, end = last_month()
    return {
        "dataset": "police_crime_offence", "period_start": start.isoformat(),
        "period_end": end.isoformat(), **extra,
    }  # fmt: skip


CLASS_WORDS = {"Lowest", "Low", "Middle", "High", "Highest", "Lower", "Higher"}


def by_name(rows: list[dict], key: str) -> dict:
    return {row["name"]: row[key] for row in rows}


def counts_only(personas) -> None:
    """The associate partners may only count police offences."""
    factories.profile_level("police_crime_offence", "aggregate")


# -- counts, rates and classes ----------------------------------------------------------------


def test_records_in_two_wards_are_counted_with_their_rates_and_classes(client, wards):
    sign_in(client, wards["analyst"])

    body = client.get(API, asked(value="population")).json()

    rows = {row["name"]: row for row in body["rows"]}
    assert body["kind"] == "ward" and body["shown"] is True and body["release"] == "exact"
    assert {name: row["count"] for name, row in rows.items()} == {
        "Abram": 6,
        "Ashton": 3,
        "Bryn": 0,
    }
    # per 1,000 residents: 6 of 4,000, 3 of 3,000, none of 1,000
    assert {name: row["rate"] for name, row in rows.items()} == {
        "Abram": 1.5,
        "Ashton": 1.0,
        "Bryn": 0.0,
    }
    assert {name: row["class"] for name, row in rows.items()} == {
        "Abram": 3,
        "Ashton": 2,
        "Bryn": 1,
    }
    assert [entry["label"] for entry in body["legend"]] == [
        "0.0 to 0.9",
        "1.0 to 1.4",
        "1.5 or more",
    ]
    assert body["unplaced"] == UNPLACED and body["synthetic_statistics"] is True
    features = {f["properties"]["name"]: f["properties"] for f in body["geojson"]["features"]}
    assert features["Abram"] == {
        "code": "E05000841", "name": "Abram", "class": 3, "approximate": False,
        "count": 6, "rate": 1.5,
    }  # fmt: skip
    assert features["Bryn"]["approximate"] is True


def test_the_page_maps_and_tables_the_wards_and_the_csv_has_their_codes_and_names(client, wards):
    sign_in(client, wards["analyst"])

    page = client.get(PAGE, asked())
    body = page.content.decode()

    assert page.status_code == 200 and page["X-Hub-Release"] == "exact"
    assert 'id="areas-map"' in body and 'id="areas-data"' in body
    assert "Abram" in body and "approximate boundaries" in body
    assert "Office for National Statistics licensed under the Open Government Licence v.3.0" in body
    data = json.loads(re.search(r'id="areas-data"[^>]*>(.*?)</script>', body, re.S)[1])
    assert len(data["geojson"]["features"]) == 3 and data["shown"] is True

    sheet = client.get(CSV, asked(value="population", classes="natural"))
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode())))
    assert sheet.status_code == 200
    assert list(rows[0]) == [
        "area", "area_name", "count", "rate_per_1000_population", "class", "class_label",
    ]  # fmt: skip
    assert {row["area_name"]: row["count"] for row in rows} == {
        "Abram": "6",
        "Ashton": "3",
        "Bryn": "0",
    }


def test_choosing_areas_keeps_their_records_and_rows(client, wards):
    sign_in(client, wards["analyst"])

    body = client.get(API, asked(areas="Abram, E05000843")).json()

    assert {row["name"]: row["count"] for row in body["rows"]} == {"Abram": 6, "Bryn": 0}
    page = client.get(PAGE, asked(areas="Abram")).content.decode()
    assert "in Abram (ward E05000841)" in page


def test_counts_by_ward_are_labelled_by_name_and_code(client, wards):
    sign_in(client, wards["analyst"])

    page = client.get("/workspace/counts/", asked(area_kind="ward")).content.decode()
    sheet = client.get("/workspace/counts.csv", asked(area_kind="ward")).content.decode()

    assert "Abram (E05000841)" in page and "by month and ward" in page
    rows = list(csv.DictReader(io.StringIO(sheet)))
    assert list(rows[0])[:4] == ["month", "area", "area_name", "supply"]
    abram = next(row for row in rows if row["area"] == "E05000841")
    assert abram["area_name"] == "Abram" and abram["Total"] == "6"


# -- disclosure: classes only for counts-only access ----------------------------------------


def test_counts_only_access_gets_classes_and_no_counts_or_rates_anywhere(client, wards):
    counts_only(wards)
    sign_in(client, wards["associate_analyst"])

    body = client.get(API, asked(value="population")).json()
    page = client.get(PAGE, asked(value="population"))
    sheet = client.get(CSV, asked(value="population")).content.decode()

    assert body["shown"] is False and body["release"] == "perturbed"
    assert "unplaced" not in body
    for row in body["rows"]:
        assert set(row) == {"code", "name", "class", "class_label"}
    for feature in body["geojson"]["features"]:
        assert set(feature["properties"]) == {"code", "name", "class", "approximate"}
    # Words, not ranges (the perturbed counts decide how many classes there are).
    labels = [entry["label"] for entry in body["legend"]]
    assert labels and set(labels) <= {
        "Lowest",
        "Low",
        "Middle",
        "High",
        "Highest",
        "Lower",
        "Higher",
    }
    html = page.content.decode()
    assert page.status_code == 200 and page["X-Hub-Release"] == "perturbed"
    assert 'class="count"' not in html and "per 1,000 residents</th>" not in html
    data = json.loads(re.search(r'id="areas-data"[^>]*>(.*?)</script>', html, re.S)[1])
    assert all("count" not in f["properties"] for f in data["geojson"]["features"])
    assert "records in no ward" not in html
    assert csv.DictReader(io.StringIO(sheet)).fieldnames == [
        "area", "area_name", "class", "class_label",
    ]  # fmt: skip


def test_records_in_a_ward_outside_the_partnerships_authorities_are_said_not_lost(client, wards):
    record = Record.objects.filter(ward_code="").first()
    Record.objects.create(
        partnership_id=record.partnership_id, dataset_id=record.dataset_id,
        supply_id=record.supply_id, row_number=999, event_date=record.event_date,
        ward_code="E05999999", lad_code="E07000127",  # a West Lancashire ward, over the line
    )  # fmt: skip
    counts_recount(supply_ids=[record.supply_id])
    sign_in(client, wards["analyst"])

    body = client.get(API, asked()).json()

    assert "E05999999" not in {row["code"] for row in body["rows"]}
    assert body["unplaced"] == UNPLACED + 1
    assert sum(row["count"] for row in body["rows"]) + body["unplaced"] == 6 + 3 + UNPLACED + 1


def test_record_access_short_of_exact_locations_gets_classes_and_no_lsoa(client, wards):
    """The associate partners see records (k-anonymous, to postcode sectors): by area they get
    classes from perturbed counts, and may not count by, or narrow counts to, an LSOA."""
    version = GazetteerVersion.objects.first()
    Area.objects.create(code="E01006369", kind=AreaKind.LSOA, name="Wigan 008C",
                        lad_code=WIGAN, version=version)  # fmt: skip
    sign_in(client, wards["associate_analyst"])

    body = client.get(API, asked()).json()
    assert body["shown"] is False
    assert all(set(row) == {"code", "name", "class", "class_label"} for row in body["rows"])
    for refused in (
        client.get("/workspace/counts/", asked(area_kind="lsoa")),
        client.get("/workspace/counts/", asked(areas="Wigan 008C")),
        client.get(PAGE, asked(areas="Wigan 008C")),
    ):
        assert refused.status_code == 400
        assert "no locations finer than a postcode sector" in refused.content.decode()
    assert client.get("/workspace/counts/", asked(area_kind="ward")).status_code == 200
    # Users who see exact locations may.
    sign_in(client, wards["analyst"])
    assert client.get("/workspace/counts/", asked(area_kind="lsoa")).status_code == 200


# -- bad filters and refusals -----------------------------------------------------------------


def test_an_unknown_area_is_a_400_with_the_nearest_areas(client, wards):
    sign_in(client, wards["analyst"])

    page = client.get(PAGE, asked(areas="Abrum"))
    api = client.get(API, asked(areas="Abrum"))
    sheet = client.get(CSV, asked(areas="Abrum"))

    assert page.status_code == api.status_code == sheet.status_code == 400
    assert "Did you mean: Abram (ward E05000841)?" in page.content.decode()
    assert "Did you mean" in api.json()["detail"]


def test_another_partnerships_areas_are_unknown(client, wards):
    yonder = factories.yonder()["partnership"]
    yonder.local_authorities = ["E06000014"]
    yonder.save(update_fields=["local_authorities"])
    version = GazetteerVersion.objects.first()
    Area.objects.create(
        code="E05001772", kind=AreaKind.WARD, name="Acomb", lad_code="E06000014",
        version=version, boundary=square(-1.1, 53.95),
    )  # fmt: skip
    sign_in(client, wards["analyst"])

    assert client.get(SEARCH, {"q": "Aco"}).json() == {"results": []}
    refused = client.get(API, asked(areas="Acomb"))
    assert refused.status_code == 400 and "Acomb" in refused.json()["detail"]
    features = client.get(API, asked()).json()["geojson"]["features"]
    assert "Acomb" not in {feature["properties"]["name"] for feature in features}


@pytest.mark.parametrize("path", [PAGE, CSV, API, SEARCH])
def test_an_outsider_gets_a_404_and_the_refusal_is_audited(client, wards, path):
    sign_in(client, wards["outsider"])

    response = client.get(path, asked(q="Abr"))

    assert response.status_code == 404
    assert AuditEntry.objects.filter(action="access_refused", actor=wards["outsider"]).exists()


# -- the picker's search ----------------------------------------------------------------------


def test_the_search_offers_the_partnerships_areas_matching_what_was_typed(client, wards):
    sign_in(client, wards["associate_analyst"])

    results = client.get(SEARCH, {"q": "abr"}).json()["results"]

    assert results == [
        {"kind": "ward", "code": "E05000841", "name": "Abram", "label": "Abram (ward E05000841)"}
    ]
    assert client.get(SEARCH, {"q": ""}).json() == {"results": []}


def test_the_hotspot_map_carries_the_ward_outlines_with_their_names(client, wards):
    sign_in(client, wards["analyst"])

    layers = client.get("/api/v1/workspace/map/", asked()).json()

    names = {feature["properties"]["name"] for feature in layers["areas"]["wards"]["features"]}
    assert names == {"Abram", "Ashton", "Bryn"}
    assert layers["areas"]["lsoas"]["features"] == []
