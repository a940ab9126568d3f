"""The one pass over a supplied file: progress and the lease seen at once while the load's
records are not; a rejection or failure decided after rows were COPYed leaves nothing; the
loader's own connection closed whatever happens; what may change while a pass runs (the
postcode lookup, another load of the same period, a worker losing its lease)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from datasets import copytext
from datasets.choices import SupplyStatus
from datasets.models import Record, RecordMonthlyCount, Supply
from datasets.pipeline import load as load_stage
from datasets.pipeline import stages
from datasets.pipeline.stages import run_stage
from datasets.services.supplies import supplies_reap
from hub.models import AuditEntry
from sanitise.demo import demo_gazetteer_load
from sanitise.models import PostcodeAreas, PostcodeCentroid
from sanitise.signals import area_lookup_imported
from tests.datasets.test_pipeline import OFFENCE_HEADER, csv_bytes, offence_rows, supply
from tests.datasets.test_record_areas import district_codes, lookup_load

pytestmark = pytest.mark.django_db(transaction=True)
CHUNK_ROWS = 10
ROWS = 40
# A pass that hangs fails its test instead of the suite.
PASS_TIMEOUT_SECONDS = 60


@pytest.fixture
def world(personas, own_queue, settings):
    """Supplies uploaded to a queue no worker takes: this test runs the pass itself."""
    settings.HUB_CHUNK_ROWS = CHUNK_ROWS
    demo_gazetteer_load()
    return personas


def uploaded(client, personas, rows) -> str:
    return supply(client, personas["police_supplier"], csv_bytes(OFFENCE_HEADER, rows))


def backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def pass_run(supply_id: str) -> Supply:
    """The pass run here, in a thread of its own so that a hang fails the test; the thread's
    own connection is closed after it, as the worker's would be at its end."""

    def run() -> None:
        try:
            run_stage(supply_id, SupplyStatus.LOADING)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(PASS_TIMEOUT_SECONDS)
    assert not thread.is_alive(), "the pass hung"
    return Supply.objects.get(pk=supply_id)


def test_progress_is_seen_chunk_by_chunk_and_the_records_only_once_all_are_in(
    api_client, world, monkeypatch
):
    supply_id = uploaded(api_client, world, offence_rows(ROWS))
    seen: list[tuple[int, int]] = []
    recorded = stages.Claim.progress

    def watched(claim, fraction):
        recorded(claim, fraction)
        # Read on this thread's connection, not the loader's: what anyone else sees.
        progress = Supply.objects.values_list("progress", flat=True).get(pk=supply_id)
        seen.append((progress, Record.objects.filter(supply_id=supply_id).count()))

    monkeypatch.setattr(stages.Claim, "progress", watched)
    with connection.cursor():
        before = backends()
    done = pass_run(supply_id)

    assert done.status == SupplyStatus.REPORTING
    assert len(seen) == ROWS // CHUNK_ROWS
    progresses = [progress for progress, _ in seen]
    assert progresses == sorted(progresses) and 0 < progresses[0] < progresses[-1] <= 95
    assert [records for _, records in seen] == [0] * len(seen)
    assert Record.objects.filter(supply_id=supply_id).count() == ROWS
    assert backends() == before


def test_a_file_found_to_be_another_periods_after_its_rows_were_loaded_leaves_nothing(
    api_client, world
):
    # Every row valid, so every chunk is COPYed; only the whole file says it is September's.
    rows = [[*row[:2], row[2].replace("/10/", "/09/"), *row[3:]] for row in offence_rows(ROWS)]
    supply_id = uploaded(api_client, world, rows)
    with connection.cursor():
        before = backends()

    done = pass_run(supply_id)

    assert done.status == SupplyStatus.REJECTED
    assert "seems to cover September 2026" in done.report["problems"][0]
    assert not Record.objects.filter(supply_id=supply_id).exists()
    assert not RecordMonthlyCount.objects.filter(supply_id=supply_id).exists()
    assert backends() == before


def test_a_load_that_fails_mid_file_fails_the_supply_at_once_and_leaves_nothing(
    api_client, world, monkeypatch
):
    supply_id = uploaded(api_client, world, offence_rows(2 * ROWS))
    copies = []
    real_copy = copytext.copy_into

    def failing_second(cursor, table, columns, payload):
        copies.append(table)
        if len(copies) == 2:
            raise RuntimeError("the server went away")
        real_copy(cursor, table, columns, payload)

    monkeypatch.setattr(copytext, "copy_into", failing_second)
    chunks_done = []
    recorded = stages.Claim.progress

    def counted(claim, fraction):
        chunks_done.append(fraction)
        recorded(claim, fraction)

    monkeypatch.setattr(stages.Claim, "progress", counted)
    with connection.cursor():
        before = backends()

    done = pass_run(supply_id)

    assert done.status == SupplyStatus.FAILED
    assert done.failure == "An internal error stopped the loading stage."
    # The second COPY failed: a chunk in hand, another waiting, and the next finds the
    # loader gone, of the file's eight.
    assert len(chunks_done) <= 3
    assert not Record.objects.filter(supply_id=supply_id).exists()
    assert backends() == before


def test_a_lookup_imported_while_the_pass_runs_gives_its_records_the_new_areas(
    api_client, world, monkeypatch
):
    every = list(PostcodeCentroid.objects.filter(area="WN").values_list("postcode", flat=True))
    lookup_load({postcode: district_codes(postcode) for postcode in every})
    supply_id = uploaded(api_client, world, offence_rows(ROWS))
    recorded = stages.Claim.progress
    calls = []

    def import_after_the_first_chunk(claim, fraction):
        recorded(claim, fraction)
        calls.append(fraction)
        if len(calls) == 1:
            # The import re-derives every stored record; this pass's are not stored yet.
            renamed = {pc: {**district_codes(pc), "ward_code": "E05999999"} for pc in every}
            with transaction.atomic():
                version = lookup_load(renamed)
                area_lookup_imported.send(sender=PostcodeAreas, version=version)

    monkeypatch.setattr(stages.Claim, "progress", import_after_the_first_chunk)
    done = pass_run(supply_id)

    assert done.status == SupplyStatus.REPORTING
    wards = Record.objects.filter(supply_id=supply_id).values_list("ward_code", flat=True)
    assert set(wards) == {"E05999999"}
    counted = RecordMonthlyCount.objects.filter(supply_id=supply_id)
    assert set(counted.values_list("ward_code", flat=True)) == {"E05999999"}


def test_a_pass_after_an_earlier_load_of_the_same_supply_replaces_its_records(api_client, world):
    supply_id = uploaded(api_client, world, offence_rows(ROWS))
    assert pass_run(supply_id).status == SupplyStatus.REPORTING
    # However it came about, a supply at its pass with records already in: loaded once.
    Supply.objects.filter(pk=supply_id).update(status=SupplyStatus.LOADING, lease_until=None)

    assert pass_run(supply_id).status == SupplyStatus.REPORTING
    assert Record.objects.filter(supply_id=supply_id).count() == ROWS
    counted = RecordMonthlyCount.objects.filter(supply_id=supply_id)
    assert sum(counted.values_list("count", flat=True)) == ROWS


def test_a_worker_that_lost_its_stage_cannot_fail_the_supply_another_has_loaded(api_client, world):
    supply_id = uploaded(api_client, world, offence_rows(ROWS))
    stale = Supply.objects.get(pk=supply_id)
    assert pass_run(supply_id).status == SupplyStatus.REPORTING

    stages.fail(stale, SupplyStatus.LOADING, "An internal error stopped the loading stage.")

    assert Supply.objects.get(pk=supply_id).status == SupplyStatus.REPORTING
    assert not AuditEntry.objects.filter(action="supply_failed", object_id=supply_id).exists()


def test_two_loads_of_one_period_finishing_back_to_back_leave_one_current(api_client, world):
    first = uploaded(api_client, world, offence_rows(ROWS))
    second = uploaded(api_client, world, offence_rows(ROWS))
    # The second commits before the first has written its report.
    assert pass_run(first).status == SupplyStatus.REPORTING
    assert pass_run(second).status == SupplyStatus.REPORTING
    run_stage(first, SupplyStatus.REPORTING)
    run_stage(second, SupplyStatus.REPORTING)

    assert list(Supply.objects.current().values_list("pk", flat=True)) == [uuid.UUID(second)]
    assert str(Supply.objects.get(pk=first).superseded_by_id) == second


def test_a_period_supplied_twice_keeps_the_later_upload_whichever_loads_first(api_client, world):
    earlier = uploaded(api_client, world, offence_rows(ROWS))
    later = uploaded(api_client, world, offence_rows(ROWS // 2))
    # The later, smaller file is loaded first, by another worker.
    assert pass_run(later).status == SupplyStatus.REPORTING
    run_stage(later, SupplyStatus.REPORTING)
    assert pass_run(earlier).status == SupplyStatus.REPORTING
    run_stage(earlier, SupplyStatus.REPORTING)

    assert list(Supply.objects.current().values_list("pk", flat=True)) == [uuid.UUID(later)]
    assert str(Supply.objects.get(pk=earlier).superseded_by_id) == later


def test_a_pass_whose_connections_both_fail_at_once_ends_instead_of_hanging(
    api_client, world, monkeypatch
):
    """A database outage: the loader's COPY and the caller's progress fail together."""
    supply_id = uploaded(api_client, world, offence_rows(ROWS))
    real_copy = copytext.copy_into
    copies, calls = [], []

    def copy_failing_late(cursor, table, columns, payload):
        copies.append(table)
        if len(copies) == 2:
            time.sleep(1.0)  # the loader notices a moment after the caller
            raise RuntimeError("server closed the connection unexpectedly")
        real_copy(cursor, table, columns, payload)

    recorded = stages.Claim.progress

    def progress_failing(claim, fraction):
        calls.append(fraction)
        if len(calls) == 3:
            raise RuntimeError("server closed the connection unexpectedly")
        recorded(claim, fraction)

    monkeypatch.setattr(copytext, "copy_into", copy_failing_late)
    monkeypatch.setattr(stages.Claim, "progress", progress_failing)

    assert pass_run(supply_id).status == SupplyStatus.FAILED
    assert not Record.objects.filter(supply_id=supply_id).exists()


def waiting_for_an_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone() is not None


def test_a_pass_waiting_for_its_partnerships_lock_keeps_its_stage(
    api_client, world, monkeypatch, settings
):
    settings.HUB_STAGE_LEASE_SECONDS = 1
    monkeypatch.setattr(load_stage, "LEASE_RENEWAL_SECONDS", 0.2)
    supply_id = uploaded(api_client, world, offence_rows(ROWS))
    partnership_id = Supply.objects.get(pk=supply_id).agency.partnership_id
    passing = threading.Thread(target=pass_run, args=[supply_id], daemon=True)
    # Another load of the partnership is at its last steps.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [partnership_id])
        passing.start()
        deadline = time.monotonic() + PASS_TIMEOUT_SECONDS
        while not waiting_for_an_advisory_lock():
            assert time.monotonic() < deadline, "the pass never reached its last steps"
            time.sleep(0.05)
        time.sleep(1.5)  # longer than a lease

        # The lease, a second long, has been renewed while the pass waits: not reaped.
        assert Supply.objects.get(pk=supply_id).lease_until > timezone.now()
        assert supplies_reap() == []
    passing.join(PASS_TIMEOUT_SECONDS)

    assert Supply.objects.get(pk=supply_id).status == SupplyStatus.REPORTING
    assert Record.objects.filter(supply_id=supply_id).count() == ROWS


def test_a_pass_whose_stage_another_worker_takes_meanwhile_stops_and_loads_nothing(
    api_client, world, monkeypatch
):
    supply_id = uploaded(api_client, world, offence_rows(ROWS))
    recorded = stages.Claim.progress

    def taken_after_the_first_chunk(claim, fraction):
        recorded(claim, fraction)
        # Its lease ran out; another worker claimed the stage, drawing another token.
        Supply.objects.filter(pk=supply_id).update(claim_token=uuid.uuid4())

    monkeypatch.setattr(stages.Claim, "progress", taken_after_the_first_chunk)
    done = pass_run(supply_id)

    # Left to the other worker: neither failed nor handed on, and nothing loaded.
    assert done.status == SupplyStatus.LOADING
    assert not Record.objects.filter(supply_id=supply_id).exists()
    assert not AuditEntry.objects.filter(object_id=supply_id, action="supply_failed").exists()
