"""PostgreSQL dropping the worker's connection (as a restart does) while an extract is made:
a real worker process, real PostgreSQL, pg_terminate_backend."""

from __future__ import annotations

import csv
import datetime
import io
import signal
import subprocess
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from psycopg2 import sql

from datasets.models import Dataset, Record
from hub.models import AuditEntry
from sharing.choices import ExtractStatus
from sharing.models import Extract
from tests.conftest import start_worker, stop_worker, supply_row

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Enough rows for the extract to be caught running; the worker is stopped with SIGSTOP, so
# the extract need not be slow for the connection to drop inside it.
EXTRACT_ROWS = 120_000
PERIOD = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
LOST = "The connection to the database was lost while the extract was made; request it again."


@dataclass
class Worker:
    process: subprocess.Popen
    application_name: str
    log: Path

    def drop_connections(self) -> int:
        """Terminate the worker's PostgreSQL backends, as a restart of the server would."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [self.application_name],
            )
            return sum(1 for (terminated,) in cursor.fetchall() if terminated)


@pytest.fixture
def worker(settings, monkeypatch, tmp_path):
    """A worker of this test's own, on its own queue, whose connections carry a name."""
    from hub import celery_app

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-extract-faults-{uuid.uuid4().hex[:6]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    name = f"hub-extract-faults-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # libpq names the worker's connections with it
    log = tmp_path / "worker.log"
    process = start_worker(queue, log)
    yield Worker(process=process, application_name=name, log=log)
    process.send_signal(signal.SIGCONT)
    stop_worker(process)


@pytest.fixture
def offences(personas):
    """A completed supply of EXTRACT_ROWS offences, for the analyst to extract."""
    police = personas["police_supplier"].memberships.get().agency
    dataset = Dataset.objects.get(slug="police_crime_offence")
    supply = supply_row(
        dataset=dataset, agency=police, uploaded_by=personas["police_supplier"],
        period_start=PERIOD[0], period_end=PERIOD[1], status="completed",
        record_count=EXTRACT_ROWS, accepted_count=EXTRACT_ROWS, rejected_count=0,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (partnership_id, dataset_id, supply_id, row_number, event_date, "
                "event_time, easting, northing, postcode, location_method, f_crime_ref, "
                "f_ho_offence_code, f_flag_domestic) "
                "SELECT %(partnership)s, %(dataset)s, %(supply)s, n, "
                "%(start)s::date + n %% 28, '22:30', 358000 + n %% 500, 405000 + n %% 500, "
                "'WN1 1AA', 'centroid', 'CR' || n, '28/1', false "
                "FROM generate_series(1, %(rows)s) AS n"
            ).format(sql.Identifier(Record._meta.db_table)),
            {
                "partnership": police.partnership_id,
                "dataset": dataset.pk,
                "supply": str(supply.pk),
                "start": PERIOD[0],
                "rows": EXTRACT_ROWS,
            },
        )
    return personas


def request_extract(client, user) -> str:
    client.force_authenticate(user)
    response = client.post(
        "/api/v1/extracts/",
        {
            "dataset": "police_crime_offence",
            "period_start": str(PERIOD[0]),
            "period_end": str(PERIOD[1]),
            "format": "csv",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def wait_status(extract_id: str, wanted, timeout: float = 120) -> Extract:
    deadline = time.monotonic() + timeout
    while True:
        extract = Extract.objects.get(pk=extract_id)
        if extract.status in wanted:
            return extract
        assert time.monotonic() < deadline, f"extract {extract_id} stuck in {extract.status}"
        time.sleep(0.002)


def drop_while_running(worker: Worker, extract_id: str) -> None:
    """Stop the worker (SIGSTOP) the moment the extract runs, drop its database connections,
    and let it go on (SIGCONT) to find them gone."""
    wait_status(extract_id, {ExtractStatus.RUNNING})
    worker.process.send_signal(signal.SIGSTOP)
    try:
        assert Extract.objects.get(pk=extract_id).status == ExtractStatus.RUNNING
        assert worker.drop_connections() >= 1
    finally:
        worker.process.send_signal(signal.SIGCONT)


def downloaded_rows(client, extract_id: str) -> int:
    state = client.get(f"/api/v1/extracts/{extract_id}/").json()
    response = client.get(state["download_url"])
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    (data,) = [name for name in archive.namelist() if name.endswith(".csv")]
    return sum(1 for _ in csv.DictReader(io.TextIOWrapper(archive.open(data), encoding="utf-8")))


def test_a_connection_dropped_mid_extract_is_retried_and_the_extract_is_whole(
    api_client, offences, worker
):
    extract_id = request_extract(api_client, offences["analyst"])

    drop_while_running(worker, extract_id)

    extract = wait_status(extract_id, {ExtractStatus.COMPLETED, ExtractStatus.FAILED})
    assert extract.status == ExtractStatus.COMPLETED, extract.failure
    assert "lost its database connection" in worker.log.read_text()  # it was interrupted
    assert extract.row_count == EXTRACT_ROWS
    assert downloaded_rows(api_client, extract_id) == EXTRACT_ROWS
    assert AuditEntry.objects.filter(action="extract_created", object_id=extract_id).count() == 1

    # The worker lives on and takes the next task.
    following = request_extract(api_client, offences["analyst"])
    done = wait_status(following, {ExtractStatus.COMPLETED, ExtractStatus.FAILED})
    assert done.status == ExtractStatus.COMPLETED, done.failure


def test_an_extract_whose_connection_drops_at_every_attempt_fails_clearly_and_can_be_redone(
    api_client, offences, worker
):
    extract_id = request_extract(api_client, offences["analyst"])

    attempts = 0
    while Extract.objects.get(pk=extract_id).status != ExtractStatus.FAILED:
        drop_while_running(worker, extract_id)
        attempts += 1
        wait_status(extract_id, {ExtractStatus.QUEUED, ExtractStatus.FAILED})
        assert attempts <= 4

    extract = Extract.objects.get(pk=extract_id)
    assert attempts == 4  # the first run and three retries
    assert (extract.failure, extract.file_path, extract.row_count) == (LOST, "", None)
    assert not (Path(settings.HUB_FILES_DIR) / "extracts" / f"{extract_id}.enc").exists()
    failed = AuditEntry.objects.get(action="extract_failed", object_id=extract_id)
    assert failed.detail == {"failure": LOST}
    assert api_client.get(f"/api/v1/extracts/{extract_id}/").json()["download_url"] is None
    assert api_client.get(f"/api/v1/extracts/{extract_id}/download").status_code != 200

    again = request_extract(api_client, offences["analyst"])
    redone = wait_status(again, {ExtractStatus.COMPLETED, ExtractStatus.FAILED})
    assert redone.status == ExtractStatus.COMPLETED, redone.failure
    assert downloaded_rows(api_client, again) == EXTRACT_ROWS
