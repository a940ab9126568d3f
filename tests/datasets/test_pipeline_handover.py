"""Handing a supply from one stage to the next, dating linked records inside the worker, and
supplies left by the staged pipeline before the one pass."""

from __future__ import annotations

import datetime
import uuid
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Supply
from datasets.pipeline import stages
from datasets.pipeline.load import date_linked_records
from datasets.services.supplies import supply_retry
from hub.crypto import new_data_key, wrap_key
from hub.models import AuditEntry
from tests.conftest import supply_row
from tests.records import record_create

pytestmark = pytest.mark.django_db


def claimed(personas, slug: str, stage: str) -> stages.Claim:
    token = uuid.uuid4()
    agency = personas["police_supplier"].memberships.get().agency
    dataset = Dataset.objects.get(slug=slug)
    supply = supply_row(
        dataset=dataset,
        agency=agency,
        uploaded_by=personas["police_supplier"],
        period_start=datetime.date(2026, 4, 1),
        period_end=datetime.date(2026, 4, 30),
        status=stage,
        claim_token=token,
    )
    return stages.Claim(
        supply=supply, schema=dataset.schema, data_key=new_data_key(), stage=stage, token=token
    )


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


# -- from the staged pipeline to the one pass -------------------------------------------------


def test_a_supply_that_failed_at_a_former_stage_is_retried_from_the_pass(personas):
    claim = claimed(personas, "police_crime_offence", SupplyStatus.FAILED)
    Supply.objects.filter(pk=claim.supply.pk).update(report={"failed_stage": "geocoding"})

    supply_retry(supply=Supply.objects.get(pk=claim.supply.pk), acting_user=personas["coordinator"])

    assert Supply.objects.get(pk=claim.supply.pk).status == SupplyStatus.LOADING


def test_the_upgrade_queues_supplies_left_in_a_former_stage_and_deletes_what_they_staged(
    personas, settings, tmp_path
):
    settings.HUB_FILES_DIR = tmp_path
    staged = tmp_path / "work" / "a-supply" / "validated"
    staged.mkdir(parents=True)
    (staged / "000000.parquet.enc").write_bytes(b"rows before sanitisation")
    left = claimed(personas, "police_crime_offence", SupplyStatus.LOADING).supply
    Supply.objects.filter(pk=left.pk).update(
        status="sanitising", attempts=2, progress=60, lease_until=timezone.now()
    )
    finished = claimed(personas, "police_crime_victim", SupplyStatus.COMPLETED).supply

    import_module("datasets.migrations.0018_one_pass").former_stages_requeue(apps, None)

    left.refresh_from_db()
    assert (left.status, left.attempts, left.progress, left.lease_until) == (
        SupplyStatus.QUEUED, 0, 0, None,
    )  # fmt: skip
    assert Supply.objects.get(pk=finished.pk).status == SupplyStatus.COMPLETED
    assert not (tmp_path / "work").exists()


def test_a_worker_whose_stage_another_has_claimed_since_cannot_fail_it(personas):
    supply = claimed(personas, "police_crime_offence", SupplyStatus.QUEUED).supply
    Supply.objects.filter(pk=supply.pk).update(data_key_wrapped=wrap_key(new_data_key()))
    stale = stages.claim(supply.pk, SupplyStatus.LOADING)
    # It failed, was retried (its attempts counted afresh) and claimed again.
    Supply.objects.filter(pk=supply.pk).update(status=SupplyStatus.QUEUED, attempts=0)
    live = stages.claim(supply.pk, SupplyStatus.LOADING)
    assert live.supply.attempts == stale.supply.attempts

    stages.fail(stale.supply, SupplyStatus.LOADING, "stale", held=stale.held())
    stale.progress(0.5)
    with pytest.raises(stages.StageLost):
        stages.advance(stale)

    current = Supply.objects.get(pk=supply.pk)
    assert (current.status, current.progress) == (SupplyStatus.LOADING, 0)
    live.progress(0.5)
    assert Supply.objects.get(pk=supply.pk).progress == 47
