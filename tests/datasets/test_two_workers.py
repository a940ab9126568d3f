"""Two worker processes taking the same queue share the supplies submitted at once between
them, and each supply is processed exactly once: every stage done once, every row loaded once.
Also, the compose file's worker service can be scaled to several containers."""

from __future__ import annotations

import datetime
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from datasets.choices import SupplyStatus
from datasets.models import FINISHED_STATUSES, Dataset, Record, Supply
from datasets.pipeline.stages import STAGES
from datasets.services.supplies import supply_create
from hub.models import AuditEntry
from hub.uploads import encrypted_upload
from sanitise.demo import demo_gazetteer_load
from tests.conftest import start_worker, stop_worker
from tests.datasets.test_pipeline import OFFENCE_HEADER, csv_bytes, offence_rows

ROOT = Path(__file__).resolve().parents[2]
# Eight months of offences, each its own period, so that none supersedes another.
SUPPLIES = 8
STAGE_TASK_DONE = re.compile(r"Task datasets\.run_supply_stage\[([0-9a-f-]+)\] succeeded")


def months_before(today: datetime.date, count: int) -> list[tuple[datetime.date, datetime.date]]:
    """The ``count`` whole months before this one, most recent first."""
    periods = []
    end = today.replace(day=1) - datetime.timedelta(days=1)
    for _ in range(count):
        periods.append((end.replace(day=1), end))
        end = end.replace(day=1) - datetime.timedelta(days=1)
    return periods


def rows_in(period: tuple[datetime.date, datetime.date], count: int) -> list[list[str]]:
    start, _end = period
    return [
        [*row[:2], f"{number % 28 + 1:02d}/{start:%m/%Y}", *row[3:]]
        for number, row in enumerate(offence_rows(count), start=1)
    ]


def stage_tasks_done(log: Path) -> list[str]:
    """The ids of the stage tasks the worker writing ``log`` ran to the end."""
    return STAGE_TASK_DONE.findall(log.read_text())


@pytest.fixture
def two_workers(own_queue, tmp_path):
    """Two worker processes on the test's queue, each with its own log, both ready."""
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes: list[subprocess.Popen] = []
    try:
        for log in logs:
            processes.append(start_worker(own_queue, log))
        yield logs
    finally:
        for process in processes:
            stop_worker(process)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_workers_complete_supplies_submitted_at_once_each_exactly_once(personas, two_workers):
    demo_gazetteer_load()
    user = personas["police_supplier"]
    dataset = Dataset.objects.get(slug="police_crime_offence")
    files = {
        period: rows_in(period, 30 + number)
        for number, period in enumerate(months_before(timezone.localdate(), SUPPLIES))
    }

    # One transaction: every supply's first stage is queued when it commits, all at once.
    with transaction.atomic():
        supplies = [
            supply_create(
                acting_user=user,
                agency=None,
                dataset=dataset,
                upload=encrypted_upload(
                    name=f"{start:%Y_%m}.csv", data=csv_bytes(OFFENCE_HEADER, rows)
                ),
                period_start=start,
                period_end=end,
                supplier_name="Priya Shah",
                supplier_contact="priya.shah@gmp.example",
            )
            for (start, end), rows in files.items()
        ]

    ids = [supply.pk for supply in supplies]
    deadline = time.monotonic() + 120
    while Supply.objects.filter(pk__in=ids).exclude(status__in=FINISHED_STATUSES).exists():
        assert time.monotonic() < deadline, list(
            Supply.objects.filter(pk__in=ids).values_list("status", flat=True)
        )
        time.sleep(0.2)

    for supply, rows in zip(supplies, files.values(), strict=True):
        supply.refresh_from_db()
        assert supply.status == SupplyStatus.COMPLETED, (supply.failure, supply.report)
        assert supply.superseded_by_id is None
        assert Record.objects.filter(supply=supply).count() == supply.accepted_count == len(rows)
        done = AuditEntry.objects.filter(action="supply_stage_done", object_id=str(supply.pk))
        assert sorted(done.values_list("detail__stage", flat=True)) == sorted(STAGES)
    twice = (
        Record.objects.filter(supply__in=ids)
        .values("supply", "row_number")
        .annotate(copies=Count("id"))
        .filter(copies__gt=1)
    )
    assert not twice.exists()

    # One task per stage per supply, each run by one worker only. A task's success is logged
    # just after its stage hands over, so the last ones may still be on their way to the logs.
    expected = SUPPLIES * len(STAGES)
    deadline = time.monotonic() + 30
    while sum(len(stage_tasks_done(log)) for log in two_workers) < expected:
        assert time.monotonic() < deadline, [stage_tasks_done(log) for log in two_workers]
        time.sleep(0.1)
    first, second = (stage_tasks_done(log) for log in two_workers)
    assert len(set(first) | set(second)) == len(first) + len(second) == expected
    # Both workers took part. A solo-pool worker runs one task at a time and takes no other
    # while it does; the first stages of all the supplies reach the queue together, so while
    # one worker runs the first of them the other, idle and listening, takes the next.
    assert first and second, (len(first), len(second))


def test_the_compose_worker_service_can_be_scaled():
    """`docker compose up --scale worker=N` needs a worker with no fixed name and no host port."""
    worker = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
