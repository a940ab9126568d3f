"""The supply schedule: what is on time, late, missing or due, the reminders, the page and API.

The demo (the ``personas`` fixture) schedules monthly supplies due on the 10th for the police's
offences and victims, the council's ASB and the NHS trust's A&E assaults, and the fire
service's incidents due on the 1st. With ``today`` in November 2026 the period is October.
"""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.urls import resolve
from django.utils import timezone

from datasets.choices import ScheduleStatus
from datasets.models import Dataset, Supply, SupplySchedule
from datasets.selectors import schedule_period, schedule_status
from datasets.services.schedule import ScheduleInvalid, schedule_set, supply_reminders_send
from datasets.tasks import remind_late_supplies
from hub.choices import Role
from hub.demo import DEMO_PERSONAS
from hub.models import Agency, AuditEntry, Partnership, Signature, User
from hub.services import membership_grant
from tests.conftest import sign_in, supply_row

pytestmark = pytest.mark.django_db

POLICE = "Greater Manchester Police (Wigan)"
OCTOBER = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
DUE = datetime.date(2026, 11, 10)
AFTER_DUE = datetime.date(2026, 11, 21)


def at(day: datetime.date, hour: int = 12, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, hour, minute))


def make_supply(
    *,
    agency: str = POLICE,
    dataset: str = "police_crime_offence",
    period: tuple[datetime.date, datetime.date] = OCTOBER,
    created: datetime.datetime,
    status: str = "completed",
) -> Supply:
    supply = supply_row(
        dataset=Dataset.objects.get(slug=dataset),
        agency=Agency.objects.get(name=agency),
        uploaded_by=User.objects.get(username="police_supplier"),
        period_start=period[0],
        period_end=period[1],
        status=status,
    )
    Supply.objects.filter(pk=supply.pk).update(created_at=created)
    return supply


def status_of(dataset: str, today: datetime.date, agency: str = POLICE):
    partnership = Partnership.objects.get()
    (row,) = [
        row
        for row in schedule_status(partnership=partnership, today=today)
        if row.schedule.dataset.slug == dataset and row.schedule.agency.name == agency
    ]
    return row


@pytest.mark.parametrize(
    ("frequency", "today", "period"),
    [
        ("monthly", datetime.date(2026, 11, 21), ("2026-10-01", "2026-10-31")),
        ("monthly", datetime.date(2026, 11, 1), ("2026-10-01", "2026-10-31")),
        ("monthly", datetime.date(2026, 10, 31), ("2026-09-01", "2026-09-30")),
        ("monthly", datetime.date(2027, 1, 5), ("2026-12-01", "2026-12-31")),
        ("monthly", datetime.date(2028, 3, 1), ("2028-02-01", "2028-02-29")),
        ("quarterly", datetime.date(2026, 11, 21), ("2026-07-01", "2026-09-30")),
        ("quarterly", datetime.date(2026, 10, 1), ("2026-07-01", "2026-09-30")),
        ("quarterly", datetime.date(2027, 2, 14), ("2026-10-01", "2026-12-31")),
    ],
)
def test_the_period_is_the_latest_month_or_quarter_that_has_ended(frequency, today, period):
    start, end = schedule_period(frequency=frequency, today=today)
    assert (start.isoformat(), end.isoformat()) == period


@pytest.mark.parametrize(
    ("created", "today", "status"),
    [
        (at(DUE, 23, 30), AFTER_DUE, ScheduleStatus.ON_TIME),  # late in the evening, UK time
        (at(datetime.date(2026, 11, 2)), DUE, ScheduleStatus.ON_TIME),
        (at(datetime.date(2026, 11, 11), 0, 30), AFTER_DUE, ScheduleStatus.LATE),
        (None, DUE, ScheduleStatus.DUE),
        (None, datetime.date(2026, 11, 1), ScheduleStatus.DUE),
        (None, datetime.date(2026, 11, 11), ScheduleStatus.MISSING),
    ],
)
def test_a_period_is_on_time_late_missing_or_due_around_its_due_day(
    personas, created, today, status
):
    supply = make_supply(created=created) if created else None

    row = status_of("police_crime_offence", today)

    assert (row.period_start, row.period_end, row.due_date) == (*OCTOBER, DUE)
    assert row.status == status
    assert row.supply == supply


def test_the_first_supply_of_the_period_decides_and_a_late_correction_does_not_make_it_late(
    personas,
):
    first = make_supply(created=at(datetime.date(2026, 11, 5)))
    make_supply(created=at(datetime.date(2026, 11, 15)))
    row = status_of("police_crime_offence", AFTER_DUE)
    assert row.status == ScheduleStatus.ON_TIME and row.supply == first


@pytest.mark.parametrize(
    ("status", "counts"),
    [("loading", True), ("completed", True), ("failed", True), ("rejected", False)],
)
def test_a_supply_being_processed_or_failed_by_the_hub_counts_but_a_rejected_file_does_not(
    personas, status, counts
):
    make_supply(created=at(datetime.date(2026, 11, 5)), status=status)
    expected = ScheduleStatus.ON_TIME if counts else ScheduleStatus.MISSING
    assert status_of("police_crime_offence", AFTER_DUE).status == expected


@pytest.mark.parametrize(
    ("period", "covers"),
    [
        ((datetime.date(2026, 10, 1), datetime.date(2026, 10, 15)), False),
        ((datetime.date(2026, 9, 1), datetime.date(2026, 9, 30)), False),
        ((datetime.date(2026, 8, 1), datetime.date(2026, 10, 31)), True),
    ],
)
def test_only_a_supply_covering_the_whole_period_counts(personas, period, covers):
    make_supply(created=at(datetime.date(2026, 11, 5)), period=period)
    expected = ScheduleStatus.ON_TIME if covers else ScheduleStatus.MISSING
    assert status_of("police_crime_offence", AFTER_DUE).status == expected


def test_the_status_is_as_things_stood_on_the_day_asked(personas):
    make_supply(created=at(datetime.date(2026, 11, 12), 9))
    assert status_of("police_crime_offence", datetime.date(2026, 11, 11)).status == "missing"
    assert status_of("police_crime_offence", datetime.date(2026, 11, 12)).status == "late"


def test_another_agencys_or_datasets_supply_does_not_count(personas):
    make_supply(created=at(datetime.date(2026, 11, 5)), dataset="police_crime_victim")
    assert status_of("police_crime_offence", AFTER_DUE).status == ScheduleStatus.MISSING
    assert status_of("police_crime_victim", AFTER_DUE).status == ScheduleStatus.ON_TIME


def test_a_quarterly_schedule_looks_at_the_last_quarter(personas):
    police = Agency.objects.get(name=POLICE)
    schedule_set(
        agency=police,
        dataset=Dataset.objects.get(slug="police_crime_offence"),
        frequency="quarterly",
        due_day=20,
        acting_user=None,
        system="test",
    )
    quarter = (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))
    make_supply(created=at(datetime.date(2026, 10, 25)), period=quarter)

    row = status_of("police_crime_offence", AFTER_DUE)

    assert (row.period_start, row.period_end) == quarter
    assert row.due_date == datetime.date(2026, 10, 20)
    assert row.status == ScheduleStatus.LATE


def test_status_is_read_in_two_queries_however_many_schedules(personas, django_assert_num_queries):
    for dataset in ["police_crime_offence", "police_crime_victim"]:
        make_supply(created=at(datetime.date(2026, 11, 5)), dataset=dataset)
    partnership = Partnership.objects.get()
    with django_assert_num_queries(2):
        rows = schedule_status(partnership=partnership, today=AFTER_DUE)
        assert [row.schedule.agency.name for row in rows]  # related rows come with the query
    assert len(rows) == 5


# -- setting a schedule ------------------------------------------------------------------------


def test_setting_a_schedule_is_audited_and_setting_it_again_unchanged_is_not(personas):
    coordinator = personas["coordinator"]
    fire = Agency.objects.get(name="Greater Manchester Fire and Rescue Service")
    dataset = Dataset.objects.get(slug="fire_incident")
    before = AuditEntry.objects.filter(action="supply_schedule_set").count()

    schedule = schedule_set(
        agency=fire, dataset=dataset, frequency="quarterly", due_day=15, acting_user=coordinator
    )
    schedule_set(
        agency=fire, dataset=dataset, frequency="quarterly", due_day=15, acting_user=coordinator
    )

    assert (schedule.frequency, schedule.due_day) == ("quarterly", 15)
    entries = AuditEntry.objects.filter(action="supply_schedule_set")
    assert entries.count() == before + 1
    entry = entries.first()
    assert entry.actor_username == "coordinator" and entry.dataset_slug == "fire_incident"
    assert entry.detail == {
        "frequency": "quarterly",
        "due_day": 15,
        "previous": {"frequency": "monthly", "due_day": 1},
    }
    assert SupplySchedule.objects.filter(agency=fire, dataset=dataset).count() == 1


@pytest.mark.parametrize(
    ("agency", "dataset", "frequency", "due_day", "message"),
    [
        (POLICE, "police_crime_offence", "monthly", 29, "from 1 to 28"),
        (POLICE, "police_crime_offence", "monthly", 0, "from 1 to 28"),
        (POLICE, "police_crime_offence", "weekly", 10, "Choose a frequency"),
        (POLICE, "council_asb", "monthly", 10, "does not supply"),
    ],
)
def test_a_schedule_out_of_range_or_for_a_dataset_the_agency_does_not_supply_is_refused(
    personas, agency, dataset, frequency, due_day, message
):
    with pytest.raises(ScheduleInvalid, match=message):
        schedule_set(
            agency=Agency.objects.get(name=agency),
            dataset=Dataset.objects.get(slug=dataset),
            frequency=frequency,
            due_day=due_day,
            acting_user=personas["coordinator"],
        )


# -- reminders -----------------------------------------------------------------------------------


@pytest.fixture
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


def supply_all_but_police_offences() -> None:
    for agency, dataset in [
        (POLICE, "police_crime_victim"),
        ("Wigan Council", "council_asb"),
        ("Wrightington, Wigan and Leigh NHS Foundation Trust", "ae_assault"),
        ("Greater Manchester Fire and Rescue Service", "fire_incident"),
    ]:
        make_supply(agency=agency, dataset=dataset, created=at(datetime.date(2026, 11, 5)))


def test_a_missing_supply_sends_one_reminder_to_the_agencys_suppliers_once_a_period(
    personas, locmem_mail
):
    supply_all_but_police_offences()
    second = User.objects.create(username="second_supplier", email="second@gmp.example")
    membership_grant(
        user=second,
        agency=Agency.objects.get(name=POLICE),
        roles=[Role.SUPPLIER],
        acting_user=None,
    )

    assert supply_reminders_send(today=AFTER_DUE) == 1

    (message,) = locmem_mail
    assert sorted(message.to) == ["police_supplier@demo.invalid", "second@gmp.example"]
    assert message.subject == (
        "Reminder: Police recorded crime: the offence for October 2026 is overdue"
    )
    assert "01/10/2026 to 31/10/2026 was due on 10/11/2026" in message.body
    assert "/supplies/new/" in message.body
    schedule = SupplySchedule.objects.get(dataset__slug="police_crime_offence")
    assert schedule.last_reminded_period == OCTOBER[0]
    entry = AuditEntry.objects.get(action="supply_reminder_sent")
    assert entry.actor_username == "system:schedule" and entry.object_id == str(schedule.pk)
    assert entry.detail["to"] == ["police_supplier", "second_supplier"]
    assert status_of("police_crime_offence", AFTER_DUE).reminded

    assert supply_reminders_send(today=AFTER_DUE + datetime.timedelta(days=1)) == 0
    assert len(locmem_mail) == 1
    assert AuditEntry.objects.filter(action="supply_reminder_sent").count() == 1


def test_a_reminder_that_cannot_be_sent_is_tried_again_on_the_next_run(
    personas, locmem_mail, monkeypatch
):
    supply_all_but_police_offences()

    def refuse(**kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("datasets.services.schedule.send_mail", refuse)
    assert supply_reminders_send(today=AFTER_DUE) == 0
    assert not SupplySchedule.objects.filter(last_reminded_period__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="supply_reminder_sent").exists()

    monkeypatch.undo()
    assert supply_reminders_send(today=AFTER_DUE) == 1
    assert len(locmem_mail) == 1


def test_the_next_period_missing_is_reminded_again(personas, locmem_mail):
    supply_all_but_police_offences()
    supply_reminders_send(today=AFTER_DUE)
    for agency, dataset in [
        (POLICE, "police_crime_victim"),
        ("Wigan Council", "council_asb"),
        ("Wrightington, Wigan and Leigh NHS Foundation Trust", "ae_assault"),
        ("Greater Manchester Fire and Rescue Service", "fire_incident"),
    ]:
        make_supply(
            agency=agency,
            dataset=dataset,
            period=(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)),
            created=at(datetime.date(2026, 12, 2)),
        )

    assert supply_reminders_send(today=datetime.date(2026, 12, 11)) == 1

    assert len(locmem_mail) == 2
    assert "November 2026" in locmem_mail[1].subject


def test_nothing_is_sent_before_the_due_date_has_passed_or_once_the_supply_is_in(
    personas, locmem_mail
):
    supply_all_but_police_offences()
    assert supply_reminders_send(today=DUE) == 0
    make_supply(created=at(datetime.date(2026, 11, 12)))
    assert supply_reminders_send(today=AFTER_DUE) == 0
    assert locmem_mail == []


def test_an_agency_outside_the_isp_is_not_reminded(personas, locmem_mail):
    supply_all_but_police_offences()
    Signature.objects.filter(agency__name=POLICE).update(withdrawn_on=datetime.date(2026, 11, 1))

    assert supply_reminders_send(today=AFTER_DUE) == 0

    assert locmem_mail == []
    assert not SupplySchedule.objects.filter(last_reminded_period__isnull=False).exists()


def test_an_agency_with_no_supplier_has_its_dlo_and_the_coordinator_reminded(personas, locmem_mail):
    supply_all_but_police_offences()
    make_supply(created=at(datetime.date(2026, 11, 5)))  # the police are on time
    fire = Agency.objects.get(name="Greater Manchester Fire and Rescue Service")
    Supply.objects.filter(agency=fire).delete()  # the fire service is not
    fire_dlo = User.objects.create(username="fire_dlo", email="dlo@fire.example")
    membership_grant(user=fire_dlo, agency=fire, roles=[Role.DLO], acting_user=None)

    assert supply_reminders_send(today=AFTER_DUE) == 1

    (message,) = locmem_mail
    assert sorted(message.to) == ["coordinator@demo.invalid", "dlo@fire.example"]
    assert "has no supplier in the hub to send it" in message.body
    entry = AuditEntry.objects.get(action="supply_reminder_sent")
    assert entry.detail["no_supplier"] is True and entry.detail["to"] == ["coordinator", "fire_dlo"]


def test_the_reminder_task_runs_daily_on_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["remind-late-supplies"]
    assert entry["task"] == remind_late_supplies.name == "datasets.remind_late_supplies"
    assert entry["schedule"] == 24 * 3600


# -- the page ------------------------------------------------------------------------------------

OTHER_PERSONAS = [username for username, *_ in DEMO_PERSONAS if username != "coordinator"]


@pytest.mark.parametrize("username", OTHER_PERSONAS)
def test_the_schedule_page_is_not_there_for_anyone_but_the_coordinator(client, personas, username):
    # The page is there: the 404 is its access rule, not a missing route.
    assert resolve("/governance/schedule/").url_name == "governance-schedule"
    sign_in(client, personas[username])
    assert client.get("/governance/schedule/").status_code == 404
    response = client.post(
        "/governance/schedule/",
        {"agency": Agency.objects.get(name=POLICE).pk, "dataset": "police_crime_offence",
         "frequency": "quarterly", "due_day": 5},
    )  # fmt: skip
    assert response.status_code == 404
    assert not SupplySchedule.objects.filter(frequency="quarterly").exists()


def this_month() -> tuple[datetime.date, datetime.date]:
    """The period the pages and the API, which go by the real date, show now."""
    return schedule_period(frequency="monthly", today=timezone.localdate())


def test_the_coordinator_sees_this_periods_status_of_every_schedule(client, personas):
    make_supply(created=timezone.now(), period=this_month())
    sign_in(client, personas["coordinator"])

    page = client.get("/governance/schedule/").content.decode()

    assert page.count('class="status status-') >= 5 + 4  # the rows and the summary
    assert "Greater Manchester Fire and Rescue Service" in page
    assert "status-missing" in page  # fire incidents, due on the 1st, never supplied
    assert "Wigan Council" in page and "Council-recorded ASB" in page


def test_the_coordinator_sets_a_schedule_from_the_page(client, personas):
    sign_in(client, personas["coordinator"])
    police = Agency.objects.get(name=POLICE)

    response = client.post(
        "/governance/schedule/",
        {"agency": police.pk, "dataset": "police_stop_search", "frequency": "quarterly",
         "due_day": 14},
    )  # fmt: skip

    assert response.status_code == 302
    schedule = SupplySchedule.objects.get(agency=police, dataset__slug="police_stop_search")
    assert (schedule.frequency, schedule.due_day) == ("quarterly", 14)
    entry = AuditEntry.objects.get(action="supply_schedule_set", object_id=str(schedule.pk))
    assert entry.actor_username == "coordinator" and entry.ip_address == "127.0.0.1"
    assert "quarterly" in client.get(response.url).content.decode()


def test_the_page_refuses_a_dataset_the_agency_does_not_supply_and_says_why(client, personas):
    sign_in(client, personas["coordinator"])
    response = client.post(
        "/governance/schedule/",
        {"agency": Agency.objects.get(name=POLICE).pk, "dataset": "council_asb",
         "frequency": "monthly", "due_day": 10},
    )  # fmt: skip
    assert response.status_code == 200
    assert "does not supply Council-recorded ASB" in response.content.decode()
    assert not SupplySchedule.objects.filter(agency__name=POLICE, dataset__slug="council_asb")


# -- the API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("coordinator", {"police_crime_offence", "police_crime_victim", "council_asb",
                         "ae_assault", "fire_incident"}),
        ("police_supplier", {"police_crime_offence", "police_crime_victim"}),
        ("council_supplier", {"council_asb"}),
        ("health_supplier", {"ae_assault"}),
    ],
)  # fmt: skip
def test_the_api_gives_the_coordinator_every_row_and_a_supplier_their_agencys(
    api_client, personas, username, expected
):
    api_client.force_authenticate(personas[username])
    response = api_client.get("/api/v1/schedule/")
    assert response.status_code == 200
    assert {row["dataset"] for row in response.json()} == expected


@pytest.mark.parametrize(
    "username", ["analyst", "associate_analyst", "dlo_police", "lapsed_analyst", "outsider"]
)
def test_the_api_is_not_there_for_anyone_without_a_schedule_role(api_client, personas, username):
    api_client.force_authenticate(personas[username])
    assert api_client.get("/api/v1/schedule/").status_code == 404


def test_the_api_needs_authentication(api_client, personas):
    assert api_client.get("/api/v1/schedule/").status_code == 401


def test_the_api_row_says_when_what_was_supplied(api_client, personas):
    supply = make_supply(created=at(datetime.date(2026, 11, 5)), period=this_month())
    api_client.force_authenticate(personas["police_supplier"])

    rows = {row["dataset"]: row for row in api_client.get("/api/v1/schedule/").json()}

    offences = rows["police_crime_offence"]
    assert offences["agency_name"] == POLICE and offences["frequency"] == "monthly"
    assert offences["due_day"] == 10 and offences["supply"] == str(supply.pk)
    assert offences["period_start"] == this_month()[0].isoformat()
    assert offences["supplied_at"].startswith("2026-11-05T12:00:00")
    assert rows["police_crime_victim"]["supply"] is None
    assert rows["police_crime_victim"]["supplied_at"] is None
    assert set(offences) == {
        "agency", "agency_name", "dataset", "frequency", "due_day", "period_start",
        "period_end", "due_date", "status", "supply", "supplied_at", "reminded",
    }  # fmt: skip


def test_the_api_reads_a_fixed_number_of_queries(api_client, personas, django_assert_num_queries):
    for dataset in ["police_crime_offence", "police_crime_victim"]:
        make_supply(created=timezone.now(), dataset=dataset, period=this_month())
    api_client.force_authenticate(personas["coordinator"])
    # The co-ordinator's partnership, the schedules, the supplies.
    with django_assert_num_queries(3):
        assert len(api_client.get("/api/v1/schedule/").json()) == 5


# -- the supplier's own page -------------------------------------------------------------------


def test_a_supplier_sees_their_own_agencys_schedule_and_quality_and_no_one_elses(client, personas):
    make_supply(created=at(datetime.date(2026, 11, 5)))
    make_supply(
        agency="Wigan Council", dataset="council_asb", created=at(datetime.date(2026, 11, 5))
    )
    Supply.objects.update(status="completed", record_count=10, rejected_count=1)
    sign_in(client, personas["police_supplier"])

    page = client.get("/supplies/standing/").content.decode()

    assert "Police recorded crime: the offence" in page and "10.0% (1)" in page
    assert "Wigan Council" not in page and "Council-recorded ASB" not in page
    sign_in(client, personas["dlo_police"])
    assert (
        "Police recorded crime: the offence" in client.get("/supplies/standing/").content.decode()
    )
    assert "Your schedule and data quality" in client.get("/supplies/").content.decode()
    sign_in(client, personas["analyst"])
    assert client.get("/supplies/standing/").status_code == 404
    assert "Your schedule and data quality" not in client.get("/supplies/").content.decode()


def test_a_withdrawn_supply_leaves_its_period_missing(personas):
    made = make_supply(created=at(datetime.date(2026, 11, 5)))
    assert status_of("police_crime_offence", AFTER_DUE).status == ScheduleStatus.ON_TIME

    Supply.objects.filter(pk=made.pk).update(status="withdrawn")

    assert status_of("police_crime_offence", AFTER_DUE).status == ScheduleStatus.MISSING
