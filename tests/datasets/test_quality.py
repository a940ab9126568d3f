"""The data-quality dashboard: each period's current supply measured and compared with the last."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from datasets.models import Dataset, Supply
from datasets.selectors import quality_rows
from hub.demo import DEMO_PERSONAS
from hub.models import Agency, Partnership, User
from tests.conftest import sign_in, supply_row

pytestmark = pytest.mark.django_db

POLICE = "Greater Manchester Police (Wigan)"
COUNCIL = "Wigan Council"


def month(year: int, number: int) -> tuple[datetime.date, datetime.date]:
    start = datetime.date(year, number, 1)
    following = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, following - datetime.timedelta(days=1)


def make_supply(
    *,
    agency: str = POLICE,
    dataset: str = "police_crime_offence",
    period: tuple[datetime.date, datetime.date],
    received: int,
    rejected: int,
    completeness: dict[str, float],
    locations: dict[str, int] | None = None,
    currency_days: int,
    status: str = "completed",
    created: datetime.datetime | None = None,
    **fields,
) -> Supply:
    """A supply with the counts and report the pipeline would have written."""
    report = {
        "errors": [{"row": n, "field": "x", "code": "bad", "message": "m"} for n in range(50)],
        "completeness": completeness,
        "currency_days": currency_days,
        "received": received,
        "accepted": received - rejected,
        "rejected": rejected,
    }
    if locations is not None:
        report["locations"] = locations
    supply = supply_row(
        dataset=Dataset.objects.get(slug=dataset),
        agency=Agency.objects.get(name=agency),
        uploaded_by=User.objects.get(username="police_supplier"),
        period_start=period[0],
        period_end=period[1],
        status=status,
        record_count=received,
        rejected_count=rejected,
        accepted_count=received - rejected,
        report=report,
        **fields,
    )
    supplied_on = period[1] + datetime.timedelta(days=currency_days)
    created = created or timezone.make_aware(
        datetime.datetime.combine(supplied_on, datetime.time(12))
    )
    Supply.objects.filter(pk=supply.pk).update(created_at=created)
    return supply


def offences(period, **overrides) -> Supply:
    values = {
        "received": 200,
        "rejected": 4,
        "completeness": {
            "crime_ref": 100.0, "ho_offence_code": 98.0, "committed_from_date": 97.0,
            "address": 10.0,
        },
        "locations": {"centroid": 170, "moved": 20, "place": 0, "site": 0, "unlocated": 6},
        "currency_days": 8,
    }  # fmt: skip
    return make_supply(period=period, **{**values, **overrides})


@pytest.fixture
def history(personas):
    """Police offences for August to October and council surveys for September and October,
    with the history (superseded, rejected and failed supplies) the dashboard leaves out."""
    august = offences(
        month(2026, 8),
        received=100,
        rejected=10,
        completeness={"crime_ref": 100.0, "ho_offence_code": 90.0, "committed_from_date": 80.0},
        locations={"centroid": 60, "moved": 10, "place": 0, "site": 0, "unlocated": 20},
        currency_days=20,
    )
    september = offences(month(2026, 9))
    offences(month(2026, 9), received=5, rejected=5, currency_days=1, superseded_by=september)
    october = offences(
        month(2026, 10),
        completeness={"crime_ref": 100.0, "ho_offence_code": 98.5, "committed_from_date": 97.0},
        currency_days=30,
    )
    offences(month(2026, 10), status="rejected", received=0, rejected=0, currency_days=31)
    offences(month(2026, 10), status="failed", received=0, rejected=0, currency_days=32)
    survey = {"dataset": "community_survey", "agency": COUNCIL}
    full = {"survey_name": 100.0, "area_code": 100.0, "period_start": 100.0,
            "period_end": 100.0, "question": 100.0, "response_category": 100.0}  # fmt: skip
    surveys = [
        make_supply(**survey, period=month(2026, 9), received=50, rejected=0,
                    completeness=full, currency_days=10),
        make_supply(**survey, period=month(2026, 10), received=50, rejected=10,
                    completeness=full, currency_days=2),
    ]  # fmt: skip
    return {"offences": [august, september, october], "surveys": surveys}


def rows_by_supply(**filters):
    rows = quality_rows(partnership=Partnership.objects.get(slug="wigan-leigh"), **filters)
    return {row.supply_id: row for row in rows}, rows


def test_each_period_is_measured_from_its_current_supply(history):
    by_supply, rows = rows_by_supply()
    august, september, october = (by_supply[s.pk] for s in history["offences"])

    assert len(rows) == 5  # superseded, rejected and failed supplies are history
    assert (august.received, august.rejected, august.rejected_rate) == (100, 10, 10.0)
    assert august.completeness == 90.0  # of the three required fields; address is optional
    assert august.geocoding_rate == 77.8  # 70 of 90 records located
    assert august.locations == {"centroid": 60, "moved": 10, "place": 0, "site": 0,
                                "unlocated": 20}  # fmt: skip
    assert august.location_counts == [
        ("centroid", "Centroid of its postcode", 60),
        ("moved", "Moved to the nearest postcode with at least four households", 10),
        ("unlocated", "Not located", 20),
    ]
    assert august.currency_days == 20
    assert (september.rejected_rate, september.completeness) == (2.0, 98.3)
    assert september.geocoding_rate == 96.9  # 190 of 196
    assert september.period_start == datetime.date(2026, 9, 1)
    assert september.dataset_name == "Police recorded crime: the offence"


def test_each_period_is_compared_with_the_one_before(history):
    by_supply, _ = rows_by_supply()
    august, september, october = (by_supply[s.pk] for s in history["offences"])
    older_survey, newer_survey = (by_supply[s.pk] for s in history["surveys"])

    assert august.trend is None and august.trend_label == "First supply"
    assert september.trend == "better"
    assert september.changes == {
        "rejected_rate": "better", "completeness": "better", "geocoding_rate": "better",
        "currency_days": "better",
    }  # fmt: skip
    # Completeness up 0.2 points is noise; 22 days later to arrive is not.
    assert october.trend == "worse" and october.changes == {"currency_days": "worse"}
    assert october.change_labels == [("currency", "worse")]
    assert older_survey.trend is None
    assert newer_survey.trend == "mixed"
    assert newer_survey.changes == {"rejected_rate": "worse", "currency_days": "better"}


def test_a_dataset_without_locations_has_no_geocoding_rate(history):
    by_supply, _ = rows_by_supply()
    survey = by_supply[history["surveys"][0].pk]
    assert survey.geocoding_rate is None and survey.location_counts == []


def test_rows_run_by_agency_and_dataset_newest_period_first(history):
    _, rows = rows_by_supply()
    assert [(row.agency_name, row.period_start.month) for row in rows] == [
        (POLICE, 10), (POLICE, 9), (POLICE, 8), (COUNCIL, 10), (COUNCIL, 9),
    ]  # fmt: skip


def test_of_two_current_supplies_of_one_period_the_later_counts(history):
    later = offences(month(2026, 10), currency_days=45)
    by_supply, rows = rows_by_supply()
    assert len(rows) == 5
    assert later.pk in by_supply and history["offences"][2].pk not in by_supply


def test_another_partnerships_supplies_are_not_shown(history):
    other = Partnership.objects.create(name="Elsewhere CSP", slug="elsewhere")
    Agency.objects.create(partnership=other, name=POLICE, agency_type="police_force")
    _, rows = rows_by_supply()
    assert len(quality_rows(partnership=other)) == 0
    assert len(rows) == 5


def test_filters_narrow_to_an_agency_or_a_dataset_and_keep_the_trend(history):
    police = Agency.objects.get(name=POLICE)
    by_supply, rows = rows_by_supply(agency=police)
    assert {row.agency_name for row in rows} == {POLICE} and len(rows) == 3
    survey = Dataset.objects.get(slug="community_survey")
    by_supply, rows = rows_by_supply(dataset=survey)
    assert [row.trend for row in rows] == ["mixed", None]


def test_the_dashboard_is_read_in_two_queries(history, django_assert_num_queries):
    partnership = Partnership.objects.get()
    with django_assert_num_queries(2):
        rows = quality_rows(partnership=partnership)
    assert len(rows) == 5


def test_nothing_supplied_is_one_query_and_no_rows(personas, django_assert_num_queries):
    partnership = Partnership.objects.get()
    with django_assert_num_queries(1):
        assert quality_rows(partnership=partnership) == []


# -- the page --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username", [username for username, *_ in DEMO_PERSONAS if username != "coordinator"]
)
def test_the_quality_page_is_not_there_for_anyone_but_the_coordinator(client, personas, username):
    # The page is there: the 404 is its access rule, not a missing route.
    assert resolve("/governance/quality/").url_name == "governance-quality"
    sign_in(client, personas[username])
    assert client.get("/governance/quality/").status_code == 404


def test_the_coordinator_sees_the_dashboard(client, history):
    sign_in(client, User.objects.get(username="coordinator"))
    page = client.get("/governance/quality/").content.decode()
    assert page.count("<tr>") == 1 + 5
    assert "77.8%" in page and "trend-better" in page and "trend-worse" in page
    assert "currency worse" in page
    assert f'href="/supplies/{history["offences"][0].pk}/"' in page


def test_the_page_filters_by_agency_and_dataset(client, history):
    sign_in(client, User.objects.get(username="coordinator"))
    police = Agency.objects.get(name=POLICE)
    page = client.get("/governance/quality/", {"agency": police.pk}).content.decode()
    assert page.count("<tr>") == 1 + 3
    page = client.get("/governance/quality/", {"dataset": "community_survey"}).content.decode()
    assert page.count("<tr>") == 1 + 2
    page = client.get(
        "/governance/quality/", {"agency": police.pk, "dataset": "community_survey"}
    ).content.decode()
    assert "No completed supplies match this filter." in page


def test_a_filter_naming_nothing_there_says_so_and_shows_no_rows(client, history):
    sign_in(client, User.objects.get(username="coordinator"))
    other = Partnership.objects.create(name="Elsewhere CSP", slug="elsewhere")
    foreign = Agency.objects.create(partnership=other, name="Far away", agency_type="police_force")
    response = client.get("/governance/quality/", {"agency": foreign.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Select a valid choice" in page and "77.8%" not in page


def test_the_page_reads_as_many_queries_for_many_rows_as_for_one(client, personas):
    sign_in(client, personas["coordinator"])
    offences(month(2026, 1))
    with CaptureQueriesContext(connection) as one:
        client.get("/governance/quality/")
    for number in range(2, 10):
        offences(month(2026, number))
    make_supply(dataset="community_survey", agency=COUNCIL, period=month(2026, 1), received=5,
                rejected=0, completeness={}, currency_days=3)  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        page = client.get("/governance/quality/").content.decode()
    assert page.count("<tr>") == 1 + 10
    assert len(many) == len(one)
