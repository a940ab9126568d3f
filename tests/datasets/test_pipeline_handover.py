"""Handing a supply from one stage to the next, and dating linked records, inside the worker."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Supply
from datasets.pipeline import stages
from datasets.pipeline.load import date_linked_records
from hub.crypto import new_data_key
from hub.models import AuditEntry
from tests.conftest import supply_row
from tests.records import record_create

pytestmark = pytest.mark.django_db


def claimed(personas, slug: str, stage: str) -> stages.Claim:
    agency = personas["police_supplier"].memberships.get().agency
    dataset = Dataset.objects.get(slug=slug)
    supply = supply_row(
        dataset=dataset,
        agency=agency,
        uploaded_by=personas["police_supplier"],
        period_start=datetime.date(2026, 4, 1),
        period_end=datetime.date(2026, 4, 30),
        status=stage,
    )
    return stages.Claim(supply=supply, schema=dataset.schema, data_key=new_data_key(), stage=stage)


def test_a_hand_over_whose_audit_entry_fails_leaves_the_supply_at_its_stage(personas, monkeypatch):
    claim = claimed(personas, "police_crime_offence", SupplyStatus.LOADING)

    def broken(**kwargs):
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(stages, "audit_record", broken)
    with pytest.raises(RuntimeError):
        stages.advance(claim)

    assert Supply.objects.get(pk=claim.supply.pk).status == SupplyStatus.LOADING


def test_a_hand_over_is_audited(personas):
    claim = claimed(personas, "police_crime_offence", SupplyStatus.LOADING)

    assert stages.advance(claim) == SupplyStatus.REPORTING

    entry = AuditEntry.objects.filter(action="supply_stage_done").latest("id")
    assert entry.detail == {"stage": "loading", "next": "reporting"}
    assert Supply.objects.get(pk=claim.supply.pk).status == SupplyStatus.REPORTING


def dating_statements(claim: stages.Claim) -> list[str]:
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        date_linked_records(cursor, claim.supply)
    return [query["sql"] for query in captured if query["sql"].startswith("UPDATE")]


def test_offences_with_no_victims_or_offenders_yet_run_no_dating_statement(personas):
    claim = claimed(personas, "police_crime_offence", SupplyStatus.LOADING)

    assert dating_statements(claim) == []


def test_offences_date_the_victims_already_loaded(personas):
    offences = claimed(personas, "police_crime_offence", SupplyStatus.LOADING)
    victims = claimed(personas, "police_crime_victim", SupplyStatus.COMPLETED)
    record_create(
        supply=victims.supply,
        partnership=victims.supply.agency.partnership,
        dataset=victims.supply.dataset,
        row_number=2,
        location_method="unlocated",
        data={"crime_ref": "CR1"},
    )

    # Victims are on the other side of the link; offenders, of whom there are none, are not.
    assert len(dating_statements(offences)) == 1
