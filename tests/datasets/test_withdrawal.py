"""A supply for the wrong period stops before the warehouse; a supply that should not stand is
withdrawn by its agency; a nil return says there was nothing to report. Real loads through
the API and a worker."""

from __future__ import annotations

import datetime
import io
import time

import pandas as pd
import pytest

from datasets.choices import ScheduleStatus, SupplyStatus
from datasets.models import Dataset, Record, RecordMonthlyCount, Supply
from datasets.selectors import schedule_status
from datasets.services.schedule import schedule_set
from datasets.supply_period import PeriodTally
from hub.models import AuditEntry
from tests.datasets.test_pipeline import (
    OFFENCE_HEADER,
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
    world,  # noqa: F401 - the fixture, shared with the pipeline's tests
)
from tests.datasets.test_supersession import SEPTEMBER, completed, september_rows


@pytest.fixture
def wigan(world):  # noqa: F811
    """The demo partnership with its gazetteer, and a worker."""
    return world


SEPTEMBER_DAYS = (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))


def tally(dates: list[str], *, ongoing: bool = False) -> PeriodTally:
    counted = PeriodTally(SEPTEMBER_DAYS, ongoing=ongoing)
    counted.add(pd.Series(pd.to_datetime(dates)))
    return counted


# -- the period check, by itself ---------------------------------------------------------------


def test_a_month_sent_as_the_month_before_is_named_for_what_it_seems_to_cover():
    problem = tally([f"2026-10-{day:02d}" for day in range(1, 31)]).problem(column="Date")

    assert problem.startswith(
        "The file does not look like one for September 2026: 30 of the 30 dated records "
        "(100%) are dated after the period you gave, which ends 30/09/2026."
    )
    assert "so the file seems to cover October 2026." in problem
    assert "supply it again with that period" in problem and "“Date”" in problem


def test_a_few_records_after_the_period_are_warnings_not_a_stop():
    # 1 in 20 (5%) is the most that may be out of place.
    dates = [f"2026-09-{day:02d}" for day in range(1, 20)] + ["2026-10-02"]
    assert tally(dates).problem(column="Date") is None
    assert tally([*dates, "2026-10-03"]).problem(column="Date") is not None


def test_a_month_sent_as_the_month_after_is_stopped_too():
    october = PeriodTally((datetime.date(2026, 10, 1), datetime.date(2026, 10, 31)), ongoing=False)
    october.add(pd.Series(pd.to_datetime([f"2026-09-{day:02d}" for day in range(1, 31)])))

    problem = october.problem(column="Date")

    assert "only 0 of the 30 dated records (0%) are dated within the period" in problem
    assert "seems to cover September 2026" in problem


def test_crimes_recorded_late_still_load():
    # Three in ten committed in the months before the period they were recorded in.
    dates = [f"2026-09-{day:02d}" for day in range(1, 8)] + ["2026-06-01"] * 3
    assert tally(dates).problem(column="Date") is None


def test_an_ongoing_caseload_may_be_dated_long_before_its_period_but_not_after():
    started = ["2019-03-01", "2021-07-15", "2024-01-02", "2025-11-30"]
    assert tally(started, ongoing=True).problem(column="Start") is None
    assert tally(started, ongoing=False).problem(column="Start") is not None
    assert tally([*started, "2026-11-01"], ongoing=True).problem(column="Start") is not None


def test_a_spread_file_is_said_to_cover_its_months():
    dates = ["2026-10-15"] * 10 + ["2026-11-15"] * 10 + ["2026-12-01"] * 10
    assert "seems to cover October 2026 to December 2026" in tally(dates).problem(column="D")


# -- through the pipeline ----------------------------------------------------------------------


def wait_until(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def counted(supply_ids) -> int:
    return sum(
        RecordMonthlyCount.objects.filter(
            supply__in=Supply.objects.current().filter(pk__in=supply_ids)
        ).values_list("count", flat=True)
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_octobers_file_sent_as_september_stops_and_septembers_supply_stands(api_client, wigan):
    supplier = wigan["police_supplier"]
    september = completed(api_client, supplier, csv_bytes(OFFENCE_HEADER, september_rows(12)),
                          **SEPTEMBER)  # fmt: skip

    wrong = supply(api_client, supplier, csv_bytes(OFFENCE_HEADER, offence_rows(30)),
                   **SEPTEMBER)  # fmt: skip
    body = wait_for(api_client, wrong)

    assert body["status"] == "rejected"
    report = api_client.get(f"/api/v1/supplies/{wrong}/report/").json()
    [problem] = report["problems"]
    assert "30 of the 30 dated records (100%) are dated after the period" in problem
    assert "seems to cover October 2026" in problem
    assert "“Date committed from”" in problem
    assert not Record.objects.filter(supply_id=wrong).exists()
    assert Supply.objects.get(pk=september.pk).superseded_by_id is None
    assert counted([september.pk]) == 12


def withdraw(api_client, user, supply_id, reason="October's file sent as September"):
    api_client.force_authenticate(user)
    return api_client.post(
        f"/api/v1/supplies/{supply_id}/withdraw/", {"reason": reason}, format="json"
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_withdrawn_supply_leaves_every_count_and_the_one_it_replaced_comes_back(
    api_client, wigan, mailoutbox
):
    supplier, coordinator = wigan["police_supplier"], wigan["coordinator"]
    first = completed(api_client, supplier, csv_bytes(OFFENCE_HEADER, september_rows(12)),
                      **SEPTEMBER)  # fmt: skip
    second = completed(api_client, supplier, csv_bytes(OFFENCE_HEADER, september_rows(20)),
                       **SEPTEMBER)  # fmt: skip
    assert counted([first.pk, second.pk]) == 20

    response = withdraw(api_client, supplier, second.pk)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    # At once: the first supply counts again, the second nowhere.
    assert list(Supply.objects.current().values_list("pk", flat=True)) == [first.pk]
    assert counted([first.pk, second.pk]) == 12
    withdrawn = Supply.objects.get(pk=second.pk)
    assert (withdrawn.status, withdrawn.withdrawn_by, withdrawn.withdrawal_reason) == (
        SupplyStatus.WITHDRAWN, supplier, "October's file sent as September",
    )  # fmt: skip
    entry = AuditEntry.objects.get(action="supply_withdrawn")
    assert (entry.actor, entry.detail["restored"], entry.detail["records"]) == (
        supplier, [str(first.pk)], 20,
    )  # fmt: skip
    [mail] = [message for message in mailoutbox if coordinator.email in message.to]
    assert "withdrew its supply of" in mail.body
    assert "Reason given: October's file sent as September" in mail.body
    # Then the worker deletes the withdrawn records.
    wait_until(lambda: not Record.objects.filter(supply=second).exists())
    assert Record.objects.filter(supply=first).count() == 12
    assert AuditEntry.objects.get(action="withdrawn_records_deleted").detail == {"records": 20}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_only_the_agencys_supplier_or_dlo_withdraws_and_only_what_counts(api_client, wigan):
    supplier = wigan["police_supplier"]
    done = completed(api_client, supplier, csv_bytes(OFFENCE_HEADER, september_rows(6)),
                     **SEPTEMBER)  # fmt: skip

    # The co-ordinator sees the supply but may not take back the agency's data; refused and
    # audited.
    refused = withdraw(api_client, wigan["coordinator"], done.pk)
    assert refused.status_code == 403
    assert "Only a supplier or the DLO" in refused.json()["detail"]
    assert AuditEntry.objects.filter(
        action="access_refused", detail__route="supply_withdraw"
    ).exists()
    # An analyst and another agency's supplier do not see it at all.
    assert withdraw(api_client, wigan["analyst"], done.pk).status_code == 404
    assert withdraw(api_client, wigan["council_supplier"], done.pk).status_code == 404
    # A reason is required.
    assert withdraw(api_client, supplier, done.pk, reason=" ").status_code == 400
    assert Supply.objects.get(pk=done.pk).status == SupplyStatus.COMPLETED

    # The agency's DLO may; twice is refused.
    assert withdraw(api_client, wigan["dlo_police"], done.pk).status_code == 200
    again = withdraw(api_client, supplier, done.pk)
    assert (again.status_code, again.json()["detail"]) == (
        403, "This supply has already been withdrawn.",
    )  # fmt: skip


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_superseded_supply_is_not_withdrawn(api_client, wigan):
    supplier = wigan["police_supplier"]
    first = completed(api_client, supplier, csv_bytes(OFFENCE_HEADER, september_rows(6)),
                      **SEPTEMBER)  # fmt: skip
    completed(api_client, supplier, csv_bytes(OFFENCE_HEADER, september_rows(8)), **SEPTEMBER)

    response = withdraw(api_client, supplier, first.pk)

    assert response.status_code == 403
    assert "A later supply for the same period replaced this one" in response.json()["detail"]


# -- nil returns -------------------------------------------------------------------------------


def nil_return(api_client, user, **extra):
    api_client.force_authenticate(user)
    return api_client.post(
        "/api/v1/supplies/",
        {"dataset": "police_crime_offence", **SEPTEMBER, "supplier_name": "Priya Shah",
         "supplier_contact": "priya.shah@gmp.example", "nil_return": "true", **extra},
        format="multipart",
    )  # fmt: skip


@pytest.mark.django_db
def test_a_nil_return_counts_as_supplied_on_time_with_no_records(api_client, personas):
    supplier = personas["police_supplier"]
    police = supplier.memberships.get().agency
    offences = Dataset.objects.get(slug="police_crime_offence")
    schedule_set(agency=police, dataset=offences, frequency="monthly", due_day=10,
                 acting_user=None, system="test")  # fmt: skip

    response = nil_return(api_client, supplier)

    assert response.status_code == 201, response.content
    nil = Supply.objects.get(pk=response.json()["id"])
    assert (nil.status, nil.nil_return, nil.accepted_count) == (SupplyStatus.COMPLETED, True, 0)
    assert api_client.get(f"/api/v1/supplies/{nil.pk}/").json()["nil_return"] is True
    # Made on 5 October, before September's was due.
    early_october = datetime.date(2026, 10, 5)
    Supply.objects.filter(pk=nil.pk).update(
        created_at=datetime.datetime(2026, 10, 5, 9, tzinfo=datetime.UTC)
    )
    nil.refresh_from_db()
    [row] = [
        row
        for row in schedule_status(partnership=police.partnership, today=early_october)
        if row.schedule.dataset == offences and row.schedule.agency == police
    ]
    assert (row.status, row.supply) == (ScheduleStatus.ON_TIME, nil)
    assert AuditEntry.objects.filter(action="supply_nil_return", agency=police).exists()
    # Twice for one period is refused, and so is one for more than a quarter.
    assert nil_return(api_client, supplier).status_code == 403
    year = nil_return(api_client, supplier, period_start="2025-01-01", period_end="2025-12-31")
    assert year.status_code == 403 and "one month or one quarter" in year.json()["detail"]


@pytest.mark.django_db
def test_a_nil_return_needs_no_file_and_takes_none(api_client, personas):
    upload = io.BytesIO(b"a,b\r\n1,2\r\n")
    upload.name = "september.csv"
    with_file = nil_return(api_client, personas["police_supplier"], file=upload)
    assert with_file.status_code == 400 and "A nil return has no file." in str(with_file.json())
    api_client.force_authenticate(personas["police_supplier"])
    neither = api_client.post(
        "/api/v1/supplies/",
        {"dataset": "police_crime_offence", **SEPTEMBER, "supplier_name": "Priya Shah",
         "supplier_contact": "priya.shah@gmp.example"},
        format="multipart",
    )  # fmt: skip
    assert neither.status_code == 400 and "nil_return=true" in str(neither.json())
    assert not Supply.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_nil_return_never_replaces_records_and_records_replace_it(api_client, wigan):
    supplier = wigan["police_supplier"]
    nil = Supply.objects.get(pk=nil_return(api_client, supplier).json()["id"])

    real = completed(api_client, supplier, csv_bytes(OFFENCE_HEADER, september_rows(5)),
                     **SEPTEMBER)  # fmt: skip

    assert Supply.objects.get(pk=nil.pk).superseded_by_id == real.pk
    refused = nil_return(api_client, supplier)
    assert refused.status_code == 403
    assert "has already supplied 5 records" in refused.json()["detail"]
    assert list(Supply.objects.current()) == [real]
    assert AuditEntry.objects.filter(action="supply_refused", detail__nil_return=True).exists()
