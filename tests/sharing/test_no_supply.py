"""'No supply' is not zero (issue 15): a month no current supply covers shows as "no supply" in
the comparison, the counts page, its CSV, the API and the charts; a month that was supplied with
nothing to count shows 0.

The world, January to April 2025: the police supply every month, three violent offences a month
but none in April (a supply with no records: a nil return); A&E supply January (two assaults)
and February (one fall, no assault), nothing after; the ambulance service nothing at all.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import re
import xml.etree.ElementTree as ET

import pytest

from datasets.charts import Series, bar_chart
from datasets.choices import LocationMethod, MonthCoverage, SupplyStatus
from datasets.coverage import MonthSupply, supply_coverage
from datasets.models import Dataset, Supply, SupplySchedule
from datasets.summary import counts_recount
from hub.models import Agency, User
from tests.conftest import supply_row
from tests.records import records_create
from tests.sharing.test_workspace_stats import client_for, svg_of, table_rows

pytestmark = pytest.mark.django_db

POLICE, AE = (
    "Greater Manchester Police (Wigan)",
    "Wrightington, Wigan and Leigh NHS Foundation Trust",
)
AMBULANCE = "North West Ambulance Service"
PERIOD = {"period_start": "2025-01-01", "period_end": "2025-04-30"}
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04"]
SVG = "{http://www.w3.org/2000/svg}"


def month_of(name: str) -> tuple[datetime.date, datetime.date]:
    first = datetime.date.fromisoformat(f"{name}-01")
    following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return first, following - datetime.timedelta(days=1)


def supplied(agency: str, slug: str, month: str, rows: list[dict], **fields) -> Supply:
    """A completed supply of ``month`` holding a record for each of ``rows`` (its data),
    dated the 10th, in WN1; its monthly counts kept as a load keeps them."""
    agency = Agency.objects.get(name=agency)
    start, end = month_of(month)
    supply = supply_row(
        dataset=Dataset.objects.get(slug=slug), agency=agency, period_start=start,
        period_end=end, uploaded_by=User.objects.get(username="police_supplier"),
        **{"status": SupplyStatus.COMPLETED, **fields},
    )  # fmt: skip
    records_create(
        {
            "partnership_id": agency.partnership_id,
            "dataset": supply.dataset,
            "supply": supply,
            "row_number": n + 1,
            "event_date": start.replace(day=10),
            "postcode": "WN1 1AA",
            "location_method": LocationMethod.CENTROID,
            "data": data,
        }
        for n, data in enumerate(rows)
    )
    counts_recount(supply_ids=[supply.pk])
    return supply


@pytest.fixture
def world(personas):
    violent = [{"crime_ref": f"CR{n}", "ho_offence_code": "105A"} for n in range(3)]
    for month in MONTHS[:3]:
        supplied(POLICE, "police_crime_offence", month, violent)
    supplied(POLICE, "police_crime_offence", "2025-04", [])  # nothing to report
    supplied(AE, "ae_assault", "2025-01", [{"incident_type": "assault"}] * 2)
    supplied(AE, "ae_assault", "2025-02", [{"incident_type": "fall"}])
    return personas


# -- which months are supplied --------------------------------------------------------------


def coverage(slug: str, **extra) -> list[MonthSupply]:
    return supply_coverage(
        partnership_id=Agency.objects.get(name=AE).partnership_id,
        datasets=[Dataset.objects.get(slug=slug)],
        period=(datetime.date(2025, 1, 1), datetime.date(2025, 4, 30)),
        **extra,
    )


def test_a_month_is_supplied_by_a_current_supply_whether_or_not_it_holds_records(world):
    # A&E's March file was rejected and its April one superseded: neither is current.
    supplied(AE, "ae_assault", "2025-03", [], status=SupplyStatus.REJECTED)
    replaced = supplied(AE, "ae_assault", "2025-04", [])
    newer = supplied(AE, "ae_assault", "2025-04", [], status=SupplyStatus.FAILED)
    Supply.objects.filter(pk=replaced.pk).update(superseded_by=newer)

    ae = coverage("ae_assault")
    police = coverage("police_crime_offence")

    assert [(m.month, m.state) for m in ae] == [
        ("2025-01", MonthCoverage.SUPPLIED), ("2025-02", MonthCoverage.SUPPLIED),
        ("2025-03", MonthCoverage.NONE), ("2025-04", MonthCoverage.NONE),
    ]  # fmt: skip
    assert [m.note for m in ae] == ["", "", "no supply", "no supply"]
    assert all(m.supplied for m in police)  # April's supply holds no records, and counts
    assert [m.month for m in coverage("ambulance_callout") if not m.supplied] == MONTHS


def test_a_month_some_scheduled_agencies_did_not_supply_is_partial(world):
    SupplySchedule.objects.create(
        agency=Agency.objects.get(name=AMBULANCE),
        dataset=Dataset.objects.get(slug="ae_assault"),
        due_day=10,
    )
    # A quarterly supply covers each month it overlaps.
    quarter = supplied(AMBULANCE, "ae_assault", "2025-02", [])
    Supply.objects.filter(pk=quarter.pk).update(period_end=datetime.date(2025, 3, 31))

    ae = coverage("ae_assault")

    assert [m.state for m in ae] == [
        MonthCoverage.PARTIAL, MonthCoverage.SUPPLIED, MonthCoverage.PARTIAL, MonthCoverage.NONE,
    ]  # fmt: skip
    assert ae[0].note == f"partial: no supply from {AMBULANCE}"
    assert ae[2].note == f"partial: no supply from {AE}"
    # Only the agencies in scope are asked about: the trust alone supplied all it was due.
    trust = Agency.objects.get(name=AE)
    assert [m.state for m in coverage("ae_assault", agency_ids=[trust.pk])] == [
        MonthCoverage.SUPPLIED, MonthCoverage.SUPPLIED, MonthCoverage.NONE, MonthCoverage.NONE,
    ]  # fmt: skip


# -- the comparison ---------------------------------------------------------------------------


def test_the_comparison_shows_no_supply_for_unsupplied_months_and_0_for_supplied_ones(world):
    response = client_for(world["analyst"]).get("/workspace/compare/", PERIOD)

    page = response.content.decode()
    assert response.status_code == 200
    rows = table_rows(page, 'id="compare-table"')
    assert rows[1:] == [
        ["January 2025", "3", "2", "no supply"],
        ["February 2025", "3", "0", "no supply"],
        ["March 2025", "3", "no supply", "no supply"],
        ["April 2025", "0", "no supply", "no supply"],
    ]
    note = html.unescape(re.search(r'id="compare-supply-note">(.*?)</p>', page, re.S)[1])
    assert "no current supply of that dataset covers the month" in note
    assert "not a count of 0" in note

    # The chart: gaps drawn hatched, with a legend entry, and no bar of 0 for them.
    titles = [element.text for element in svg_of(page).iter(SVG + "title")]
    assert "A&E assault attendances, March 2025: no supply" in titles
    assert "A&E assault attendances, February 2025: 0" in titles
    assert not any(t.startswith("A&E assault attendances, March 2025: 0") for t in titles)
    hatched = [e for e in svg_of(page).iter(SVG + "rect") if e.get("class") == "no-supply"]
    assert len(hatched) == 2 + 4  # A&E's March and April, all four of the ambulance's months
    assert "No supply for the month (not a count of 0)" in "".join(svg_of(page).itertext())


def test_the_comparison_api_says_which_months_have_no_supply(world, api_client):
    api_client.force_authenticate(world["analyst"])

    response = api_client.get("/api/v1/workspace/compare/", PERIOD)

    assert response.status_code == 200, response.content
    assert response["X-Hub-Release"] == "exact"
    body = response.json()
    assert body["months"] == MONTHS
    police, ae, ambulance = body["series"]
    assert police["values"] == [3, 3, 3, 0] and police["months_without_supply"] == []
    assert ae["values"] == [2, 0, None, None]
    assert ae["supplied"] == [True, True, False, False]
    assert ae["months_without_supply"] == ["2025-03", "2025-04"]
    assert [m["coverage"] for m in ae["coverage"]] == ["supplied", "supplied", "none", "none"]
    assert ambulance["values"] == [None] * 4 and ambulance["no_supplies"]
    assert ambulance["months_without_supply"] == MONTHS


# -- the counts page, its CSV and the API ---------------------------------------------------


def test_the_counts_page_and_csv_mark_months_with_no_supply(world):
    client = client_for(world["analyst"])
    query = {"dataset": "ae_assault", "category": "incident_type", "values": "assault", **PERIOD}

    page = client.get("/workspace/counts/", query).content.decode()
    download = client.get("/workspace/counts.csv", query)

    rows = table_rows(page, 'id="counts-table"')
    assert rows[1:] == [
        ["January 2025", "WN1", "2", "2"],
        ["January 2025", "Total", "2", "2"],
        ["February 2025", "Total", "0", "0"],  # supplied, no assault
        ["March 2025", "Total", "no supply", "no supply"],
        ["April 2025", "Total", "no supply", "no supply"],
    ]
    note = html.unescape(re.search(r'id="counts-supply-note">(.*?)</p>', page, re.S)[1])
    assert "(March 2025, April 2025)" in note and "not a count of 0" in note
    hatched = [e for e in svg_of(page).iter(SVG + "rect") if e.get("class") == "no-supply"]
    assert len(hatched) == 2

    cells = list(csv.reader(io.StringIO(download.content.decode())))
    assert cells == [
        ["month", "postcode_district", "supply", "All", "Total"],
        ["2025-01", "WN1", "supplied", "2", "2"],
        ["2025-01", "Total", "supplied", "2", "2"],
        ["2025-02", "Total", "supplied", "0", "0"],
        ["2025-03", "Total", "no supply", "", ""],
        ["2025-04", "Total", "no supply", "", ""],
    ]


def test_the_counts_api_gives_a_month_with_no_supply_as_null(world, api_client):
    api_client.force_authenticate(world["analyst"])

    response = api_client.get("/api/v1/workspace/counts/", {"dataset": "ae_assault", **PERIOD})

    assert response.status_code == 200, response.content
    assert response["X-Hub-Release"] == "exact"
    body = response.json()
    assert [(m["month"], m["supplied"], m["total"]) for m in body["months"]] == [
        ("2025-01", True, 2), ("2025-02", True, 1), ("2025-03", False, None),
        ("2025-04", False, None),
    ]  # fmt: skip
    assert body["months_without_supply"] == ["2025-03", "2025-04"]
    assert body["rows"][-1] == {"month": "2025-04", "district": "Total", "values": [None, None]}


def test_the_apis_are_documented_with_their_no_supply_representation(world, api_client):
    api_client.force_authenticate(world["analyst"])

    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    counts = schema["components"]["schemas"]["CountsMonthOutput"]["properties"]
    assert counts["total"]["nullable"] is True
    assert "no supply" in counts["supplied"]["description"]
    series = schema["components"]["schemas"]["ComparisonSeriesOutput"]["properties"]
    assert "months_without_supply" in series and series["values"]["items"]["nullable"] is True


# -- the chart ----------------------------------------------------------------------------------


def test_the_chart_hatches_a_month_with_no_supply_and_says_so_in_its_legend():
    months = [
        MonthSupply("2025-01", MonthCoverage.SUPPLIED),
        MonthSupply("2025-02", MonthCoverage.PARTIAL, ("North West Ambulance Service",)),
        MonthSupply("2025-03", MonthCoverage.NONE),
    ]
    markup = bar_chart(
        chart_id="c", title="A&E", labels=["2025-01", "2025-02", "2025-03"],
        series=[Series("A&E", [4, 0, None], tuple(months)), Series("Police", [7, 8, 9])],
    )  # fmt: skip

    # The markup is the chart just drawn here, not untrusted input.
    svg = ET.fromstring(markup)  # noqa: S314
    rects = list(svg.iter(SVG + "rect"))
    hatched = [r for r in rects if r.get("class") == "no-supply"]
    assert len(hatched) == 1 and hatched[0].get("fill") == "url(#c-no-supply)"
    assert hatched[0].find(SVG + "title").text == "A&E, March 2025: no supply"
    assert svg.find(f".//{SVG}pattern").get("id") == "c-no-supply"
    partial = [r for r in rects if r.get("class") == "partial"]
    assert [r.find(SVG + "title").text for r in partial] == [
        "A&E, February 2025: 0 (partial: no supply from North West Ambulance Service)"
    ]
    texts = "".join(svg.itertext())
    assert "No supply for the month (not a count of 0)" in texts
    assert "Dashed outline: partly supplied" in texts
    # Police's March is a bar like any other; a series with no coverage known has no hatching.
    assert "Police, March 2025: 9" in [t.text for t in svg.iter(SVG + "title")]


def test_a_chart_where_every_month_was_supplied_has_no_hatching_or_legend_for_it():
    markup = bar_chart(
        chart_id="c", title="t", labels=["2025-01"],
        series=[Series("A&E", [0], (MonthSupply("2025-01", MonthCoverage.SUPPLIED),))],
    )  # fmt: skip
    assert "no-supply" not in markup and "No supply" not in markup


def test_a_month_with_records_but_no_supply_of_its_own_is_partial_not_hidden():
    from datasets.coverage import with_records

    months = [
        MonthSupply("2026-09", MonthCoverage.NONE),
        MonthSupply("2026-10", MonthCoverage.SUPPLIED),
        MonthSupply("2026-11", MonthCoverage.NONE),
    ]

    shown = with_records(months, counted=["2026-09", "2026-10"])

    assert [month.state for month in shown] == ["partial", "supplied", "none"]
    assert shown[0].supplied and "records come from other periods' supplies" in shown[0].note
