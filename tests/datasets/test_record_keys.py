"""Record keys for cell-key perturbation: derived at load from what each record says, keyed
by the hub's secret, so a period supplied again keeps its cells' noise."""

import pyarrow as pa
import pytest

from datasets.models import RECORD_KEY_RANGE, Record, Supply
from datasets.pipeline.record_table import record_keys
from tests.datasets.test_pipeline import (  # noqa: F401 - the world fixture
    OFFENCE_HEADER,
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
    world,
)
from tests.records import record_fields

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def keys_of(supply_id) -> dict[str, int]:
    records = Record.objects.filter(supply_id=supply_id)
    return {record_fields(r)["crime_ref"]: r.record_key for r in records}


def test_a_period_supplied_again_keeps_its_records_keys(api_client, world):  # noqa: F811
    rows = offence_rows(60)
    content = csv_bytes(OFFENCE_HEADER, rows)
    first = supply(api_client, world["police_supplier"], content)
    assert wait_for(api_client, first)["status"] == "completed"
    before = keys_of(first)

    changed = [rows[0][0], "105B", *rows[0][2:]]  # one record corrected
    corrected = csv_bytes(OFFENCE_HEADER, [changed, *rows[1:]])
    again = supply(api_client, world["police_supplier"], corrected)
    assert wait_for(api_client, again)["status"] == "completed"
    after = keys_of(again)

    assert Supply.objects.get(pk=first).superseded_by_id is not None
    assert {ref: after[ref] for ref in before if ref != rows[0][0]} == {
        ref: key for ref, key in before.items() if ref != rows[0][0]
    }
    # Spread over the whole range, as random keys would be.
    assert all(0 <= key < RECORD_KEY_RANGE for key in after.values())
    assert len(set(after.values())) >= 55


def test_the_keys_are_the_hubs_own(settings):
    """Without the secret, nobody can work out a record's key from what it says."""
    columns = {
        "dataset_id": pa.array([1] * 20), "event_date": pa.array(["2026-11-01"] * 20),
        "event_time": pa.array(["10:00"] * 20), "postcode": pa.array(["WN1 1AE"] * 20),
        "f_crime_ref": pa.array([f"X{n}" for n in range(20)]),
    }  # fmt: skip
    fields = ["f_crime_ref"]
    ours = record_keys(columns, fields).to_pylist()
    assert ours == record_keys(columns, fields).to_pylist()
    settings.HUB_PERTURBATION_KEY = "YW5vdGhlci1odWJzLXBlcnR1cmJhdGlvbi1rZXktMzI="
    theirs = record_keys(columns, fields).to_pylist()
    assert sum(a != b for a, b in zip(ours, theirs, strict=True)) >= 18
