"""A re-supply supersedes only the same agency's supply of the same dataset for exactly the
same period. Each case is real loads through the API and a worker: any widening of the rule
(by partnership, by period end, by agency type, by dataset family) fails one of these."""

from __future__ import annotations

import datetime

import pytest

from datasets.models import Record, Supply
from hub.choices import AgencyType, Role, SignatureTier
from hub.models import User
from hub.services import agency_ensure, membership_grant, partnership_ensure
from sharing.services.isp import isp_ensure, signature_record
from tests.datasets.test_pipeline import (
    OFFENCE_HEADER,
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
    world,  # noqa: F401 - the fixture, shared with the pipeline's tests
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SEPTEMBER = {"period_start": "2026-09-01", "period_end": "2026-09-30"}
THIRD_QUARTER = {"period_start": "2026-07-01", "period_end": "2026-09-30"}


def neighbouring_police_supplier() -> User:
    """A supplier at the police of another partnership, whose agency signed that
    partnership's ISP in the core tier."""
    partnership = partnership_ensure(
        name="Bolton Community Safety Partnership", slug="bolton", postcode_areas=["BL"]
    )
    adopted = datetime.date(2026, 1, 1)
    isp = isp_ensure(
        partnership=partnership,
        version="2026.1",
        adopted_on=adopted,
        review_due=adopted.replace(year=2028),
        acting_user=None,
        system="test",
    )
    agency = agency_ensure(
        partnership=partnership,
        name="Greater Manchester Police (Bolton)",
        agency_type=AgencyType.POLICE_FORCE,
        acting_user=None,
        system="test",
    )
    signature_record(
        isp=isp,
        agency=agency,
        tier=SignatureTier.CORE,
        signed_on=adopted,
        signatory_name="Chief Superintendent, Bolton",
        acting_user=None,
        system="test",
    )
    user = User.objects.create(username="bolton_police_supplier")
    membership_grant(
        user=user, agency=agency, roles=[Role.SUPPLIER], acting_user=None, system="test"
    )
    return user


def september_rows(count: int) -> list[list[str]]:
    return [[*row[:2], f"{n:02d}/09/2026", *row[3:]] for n, row in
            enumerate(offence_rows(count), start=1)]  # fmt: skip


def completed(api_client, user, content: bytes, **fields) -> Supply:
    supply_id = supply(api_client, user, content, **fields)
    body = wait_for(api_client, supply_id)
    assert body["status"] == "completed", body
    return Supply.objects.get(pk=supply_id)


def assert_current(*supplies: Supply) -> None:
    """Each supply is unsuperseded, with all its records current."""
    for earlier in supplies:
        earlier.refresh_from_db()
        assert earlier.superseded_by_id is None, f"{earlier.dataset.slug} {earlier.agency}"
        current = Record.objects.filter(supply=earlier, supply__superseded_by__isnull=True)
        assert current.count() == earlier.accepted_count > 0


def test_the_same_agency_dataset_and_period_is_superseded(api_client, world):  # noqa: F811
    first = completed(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER,
                                                                      offence_rows(4)))  # fmt: skip
    second = completed(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(5))
    )

    first.refresh_from_db()
    assert first.superseded_by_id == second.pk
    assert second.report["superseded"] == [str(first.pk)]
    assert_current(second)


def test_police_of_two_partnerships_supplying_the_same_month_supersede_neither(
    api_client,
    world,  # noqa: F811
):
    content = csv_bytes(OFFENCE_HEADER, offence_rows(4))
    wigan = completed(api_client, world["police_supplier"], content)
    bolton = completed(api_client, neighbouring_police_supplier(), content)

    assert wigan.agency.partnership_id != bolton.agency.partnership_id
    assert (wigan.dataset_id, wigan.period_start, wigan.period_end) == (
        bolton.dataset_id, bolton.period_start, bolton.period_end,
    )  # fmt: skip
    assert bolton.report["superseded"] == []
    assert_current(wigan, bolton)


@pytest.mark.parametrize("first", ["monthly", "quarterly"])
def test_a_quarter_over_a_month_already_supplied_is_rejected_not_counted_twice(
    api_client,
    world,  # noqa: F811
    first,
):
    periods = {"monthly": SEPTEMBER, "quarterly": THIRD_QUARTER}
    second = next(name for name in periods if name != first)
    content = csv_bytes(OFFENCE_HEADER, september_rows(4))
    standing = completed(api_client, world["police_supplier"], content, **periods[first])

    overlapping = supply(api_client, world["police_supplier"], content, **periods[second])

    assert wait_for(api_client, overlapping)["status"] == "rejected"
    rejected = Supply.objects.get(pk=overlapping)
    [problem] = rejected.report["problems"]
    assert "so records would be counted twice; nothing was loaded" in problem
    # Refused before its file was read: nothing it holds could make it load.
    assert rejected.record_count is None
    assert "withdraw the supply it overlaps first" in problem
    assert not Record.objects.filter(supply_id=overlapping).exists()
    assert_current(standing)


def test_a_quarter_replaces_the_nil_returns_of_its_months(api_client, world):  # noqa: F811
    api_client.force_authenticate(world["police_supplier"])
    nil = api_client.post(
        "/api/v1/supplies/",
        {"dataset": "police_crime_offence", **SEPTEMBER, "supplier_name": "Priya Shah",
         "supplier_contact": "priya.shah@gmp.example", "nil_return": "true"},
        format="multipart",
    ).json()["id"]  # fmt: skip

    quarter = completed(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, september_rows(4)),
        **THIRD_QUARTER,
    )  # fmt: skip

    assert quarter.report["superseded"] == [nil]
    assert_current(quarter)


@pytest.mark.parametrize("first", ["police_crime_offence", "police_crime_victim"])
def test_victims_and_offences_of_the_same_month_supersede_neither(api_client, world, first):  # noqa: F811
    files = {
        "police_crime_offence": csv_bytes(OFFENCE_HEADER, offence_rows(3)),
        "police_crime_victim": csv_bytes(
            ["Crime reference number", "Gender", "Age"], [["CR00001", "F", "34"]]
        ),
    }
    order = [first, *(slug for slug in files if slug != first)]

    supplies = [
        completed(api_client, world["police_supplier"], files[slug], dataset=slug) for slug in order
    ]

    assert supplies[1].report["superseded"] == []
    assert_current(*supplies)
