"""Master-key rotation: files written under key A stay readable while key B becomes current,
``rotate_master_key`` moves every data key to B, and A can then be removed."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg2 import sql

from datasets.models import Dataset, IdentifyingRecord, Record, Supply
from hub.choices import AuditAction
from hub.crypto import (
    DecryptionError,
    MasterKeyUnavailable,
    decrypt_bytes,
    encrypt_bytes,
    new_data_key,
    read_encrypted,
    unwrap_key,
    wrap_key,
    wrapped_key_id,
    write_encrypted,
)
from hub.key_rotation import master_key_census, master_key_rotate
from hub.models import Agency, AuditEntry
from hub.uploads import encrypted_upload
from sharing.models import DocumentVersion, Extract
from sharing.services.library import document_create
from tests.conftest import start_worker, stop_worker

POLICE = "Greater Manchester Police (Wigan)"
RAW = b"crime_ref,ho_offence_code\r\nCR00001,028/01\r\n"
IDENTIFYING = b'{"name": "Ann Example"}'
EXTRACT = b"an extract's content"
DOCUMENT = b"minutes of the tasking meeting"


def key_id(key: str) -> str:
    return hashlib.sha256(base64.b64decode(key)).hexdigest()[:16]


@pytest.fixture
def key_a() -> str:
    """The key the suite's files are written under."""
    return django_settings.HUB_MASTER_KEY


@pytest.fixture
def key_b() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@dataclass
class Stored:
    supply: Supply
    identifying: IdentifyingRecord
    extract: Extract
    version: DocumentVersion


def upload_supply(api_client, user) -> str:
    api_client.force_authenticate(user)
    upload = io.BytesIO(RAW)
    upload.name = "october.csv"
    response = api_client.post(
        "/api/v1/supplies/",
        {
            "file": upload, "dataset": "police_crime_offence", "period_start": "2026-10-01",
            "period_end": "2026-10-31", "supplier_name": "Priya Shah",
            "supplier_contact": "priya.shah@gmp.example",
        },
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()["id"]


def extract_under_current_key(user, dataset, content: bytes = EXTRACT) -> Extract:
    data_key = new_data_key()
    path = Path(django_settings.HUB_FILES_DIR) / "extracts" / f"{uuid.uuid4()}.enc"
    write_encrypted(path, content, data_key)
    return Extract.objects.create(
        created_by=user, agency=Agency.objects.get(name=POLICE), dataset=dataset,
        level="aggregate", file_format="csv", period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31), status="completed", file_path=str(path),
        data_key_wrapped=wrap_key(data_key),
    )  # fmt: skip


@pytest.fixture
def stored(personas, api_client) -> Stored:
    """A raw supply with an identifying record, an extract and a document, all under key A."""
    supply = Supply.objects.get(pk=upload_supply(api_client, personas["police_supplier"]))
    record = Record.objects.create(
        partnership=supply.agency.partnership, dataset=supply.dataset, supply=supply,
        row_number=2, location_method="centroid",
    )  # fmt: skip
    identifying = IdentifyingRecord.objects.create(
        record=record,
        supply=supply,
        ciphertext=encrypt_bytes(
            IDENTIFYING,
            unwrap_key(supply.data_key_wrapped),
            context=f"{supply.pk}:2".encode(),
        ),
    )
    extract = extract_under_current_key(personas["analyst"], supply.dataset)
    document = document_create(
        acting_user=personas["coordinator"],
        partnership=supply.agency.partnership,
        title="Tasking minutes",
        kind="other",
        marking="official",
        audience_tiers=["core"],
        upload=encrypted_upload(name="minutes.txt", data=DOCUMENT),
    )
    return Stored(supply, identifying, extract, document.versions.get())


def read_everything(stored: Stored) -> dict[str, bytes]:
    """Each stored file's plaintext, with its data key unwrapped from the database afresh."""
    supply = Supply.objects.get(pk=stored.supply.pk)
    supply_key = unwrap_key(supply.data_key_wrapped)
    extract = Extract.objects.get(pk=stored.extract.pk)
    version = DocumentVersion.objects.get(pk=stored.version.pk)
    identifying = IdentifyingRecord.objects.get(pk=stored.identifying.pk)
    return {
        "raw": read_encrypted(Path(supply.raw_path), supply_key),
        "identifying": decrypt_bytes(
            bytes(identifying.ciphertext), supply_key, context=f"{supply.pk}:2".encode()
        ),
        "extract": read_encrypted(Path(extract.file_path), unwrap_key(extract.data_key_wrapped)),
        "document": read_encrypted(Path(version.file_path), unwrap_key(version.data_key_wrapped)),
    }


EVERYTHING = {"raw": RAW, "identifying": IDENTIFYING, "extract": EXTRACT, "document": DOCUMENT}


def wrapped_ids(stored: Stored) -> dict[str, str | None]:
    return {
        "supply": wrapped_key_id(Supply.objects.get(pk=stored.supply.pk).data_key_wrapped),
        "extract": wrapped_key_id(Extract.objects.get(pk=stored.extract.pk).data_key_wrapped),
        "document": wrapped_key_id(
            DocumentVersion.objects.get(pk=stored.version.pk).data_key_wrapped
        ),
    }


def wrapped_bytes(stored: Stored) -> list[bytes]:
    return [
        bytes(model.objects.get(pk=row.pk).data_key_wrapped)
        for model, row in (
            (Supply, stored.supply), (Extract, stored.extract), (DocumentVersion, stored.version),
        )
    ]  # fmt: skip


def test_wrapped_keys_name_their_master_key_and_new_keys_use_the_current_one(
    settings, key_a, key_b
):
    data_key = new_data_key()
    under_a = wrap_key(data_key)
    assert wrapped_key_id(under_a) == key_id(key_a)

    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, [key_a]
    assert wrapped_key_id(wrap_key(data_key)) == key_id(key_b)
    assert unwrap_key(under_a) == data_key

    relabelled = bytearray(under_a)
    relabelled[1:9] = bytes.fromhex(key_id(key_b))  # claims to be under B
    with pytest.raises(DecryptionError, match="cannot be unwrapped"):
        unwrap_key(bytes(relabelled))


def test_a_previous_key_that_is_not_32_bytes_of_base64_is_refused_at_start():
    from tests.hub.test_settings import PERTURBATION_KEY, VALID_KEY, _import_settings

    result = _import_settings(
        DATABASE_URL="postgres://u@127.0.0.1:5432/hub", REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SECRET_KEY="s" * 50, HUB_SITE_URL="https://hub.example",
        HUB_MASTER_KEY=VALID_KEY, HUB_PREVIOUS_MASTER_KEYS=f"{VALID_KEY},not-a-key",
        HUB_PERTURBATION_KEY=PERTURBATION_KEY,
    )  # fmt: skip
    assert result.returncode != 0
    assert "HUB_PREVIOUS_MASTER_KEYS must be 32 random bytes, base64-encoded" in result.stderr


def test_files_under_the_old_key_stay_readable_once_it_is_previous(settings, stored, key_a, key_b):
    assert read_everything(stored) == EVERYTHING

    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, [key_a]

    assert read_everything(stored) == EVERYTHING
    assert set(wrapped_ids(stored).values()) == {key_id(key_a)}  # nothing re-wrapped yet


def test_a_key_not_configured_fails_clearly_naming_it(settings, stored, key_a, key_b):
    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, []

    with pytest.raises(MasterKeyUnavailable, match=f"master key {key_id(key_a)}, which is not"):
        read_everything(stored)
    with pytest.raises(CommandError, match=f"{key_id(key_a)} \\(3\\)"):
        call_command("rotate_master_key", "--check", stdout=io.StringIO())
    with pytest.raises(CommandError, match=f"1 under master key {key_id(key_a)}, which is not"):
        call_command("rotate_master_key", stdout=io.StringIO())
    assert set(wrapped_ids(stored).values()) == {key_id(key_a)}  # left as they were


def test_rotation_rewraps_every_models_keys_and_the_old_key_can_go(settings, stored, key_a, key_b):
    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, [key_a]
    check = io.StringIO()
    call_command("rotate_master_key", "--check", stdout=check)
    assert f"datasets.Supply: 1 under {key_id(key_a)} (previous)" in check.getvalue()
    assert "3 data keys to re-wrap" in check.getvalue()
    raw_before = Supply.objects.get(pk=stored.supply.pk).data_key_wrapped

    out = io.StringIO()
    call_command("rotate_master_key", "--batch-size", "1", stdout=out)

    assert "the previous master keys can be removed" in out.getvalue()
    assert set(wrapped_ids(stored).values()) == {key_id(key_b)}
    assert Supply.objects.get(pk=stored.supply.pk).master_key_id == key_id(key_b)
    assert DocumentVersion.objects.get(pk=stored.version.pk).master_key_id == key_id(key_b)
    assert bytes(Supply.objects.get(pk=stored.supply.pk).data_key_wrapped) != bytes(raw_before)
    entry = AuditEntry.objects.get(action=AuditAction.MASTER_KEY_ROTATED)
    assert entry.actor_username == "system:keys"
    assert entry.detail["to_key"] == key_id(key_b)
    assert entry.detail["rewrapped"] == {
        "datasets.Supply": 1, "sharing.Extract": 1, "sharing.DocumentVersion": 1,
    }  # fmt: skip

    settings.HUB_PREVIOUS_MASTER_KEYS = []  # A removed: B alone reads everything
    assert read_everything(stored) == EVERYTHING
    check = io.StringIO()
    call_command("rotate_master_key", "--check", stdout=check)
    assert f"Every data key is under the current master key {key_id(key_b)}" in check.getvalue()

    wrapped = wrapped_bytes(stored)
    again = master_key_rotate()  # idempotent: nothing left to do, and the run is on record
    assert again.complete and not again.rewrapped
    assert wrapped_bytes(stored) == wrapped
    assert AuditEntry.objects.filter(action=AuditAction.MASTER_KEY_ROTATED).count() == 2


def test_keys_wrapped_before_they_named_their_master_key_are_read_and_rotated(
    settings, stored, key_a, key_b
):
    supply_key = unwrap_key(stored.supply.data_key_wrapped)
    nonce = os.urandom(12)
    unlabelled = nonce + AESGCM(base64.b64decode(key_a)).encrypt(nonce, supply_key, b"hub-data-key")
    Supply.objects.filter(pk=stored.supply.pk).update(data_key_wrapped=unlabelled)
    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, [key_a]
    assert wrapped_key_id(unlabelled) is None
    assert master_key_census()["datasets.Supply"] == {key_id(key_a): 1}
    assert read_everything(stored) == EVERYTHING

    assert master_key_rotate().complete

    settings.HUB_PREVIOUS_MASTER_KEYS = []
    assert wrapped_ids(stored)["supply"] == key_id(key_b)
    assert read_everything(stored) == EVERYTHING


class Interrupted(Exception):
    """Stands for the operator's Ctrl-C or a lost connection between two batches."""


def test_a_run_interrupted_halfway_completes_when_run_again(settings, personas, key_a, key_b):
    dataset = Dataset.objects.get(slug="police_crime_offence")
    extracts = [
        extract_under_current_key(personas["analyst"], dataset, f"extract {n}".encode())
        for n in range(5)
    ]
    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, [key_a]

    def stop_after_first_batch(label, done):
        raise Interrupted

    with pytest.raises(Interrupted):
        master_key_rotate(batch_size=2, on_batch=stop_after_first_batch)

    census = master_key_census()["sharing.Extract"]
    assert census == {key_id(key_b): 2, key_id(key_a): 3}
    entry = AuditEntry.objects.get(action=AuditAction.MASTER_KEY_ROTATED)
    assert entry.detail["interrupted"] is True
    assert entry.detail["rewrapped"] == {"sharing.Extract": 2}

    report = master_key_rotate(batch_size=2)

    assert report.complete and report.rewrapped == {"sharing.Extract": 3}
    assert master_key_census()["sharing.Extract"] == {key_id(key_b): 5}
    settings.HUB_PREVIOUS_MASTER_KEYS = []
    for number, extract in enumerate(extracts):
        extract.refresh_from_db()
        content = read_encrypted(Path(extract.file_path), unwrap_key(extract.data_key_wrapped))
        assert content == f"extract {number}".encode()


@pytest.mark.django_db(transaction=True)
def test_rows_another_transaction_holds_are_skipped_and_rewrapped_next_run(
    settings, personas, key_a, key_b
):
    dataset = Dataset.objects.get(slug="police_crime_offence")
    held, free = (extract_under_current_key(personas["analyst"], dataset) for _ in range(2))
    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, [key_a]
    writer = psycopg2.connect(**connection.get_connection_params())
    try:
        with writer.cursor() as cursor:  # e.g. an extract being finished by a worker
            cursor.execute(
                sql.SQL("SELECT id FROM {} WHERE id = %s FOR UPDATE").format(
                    sql.Identifier(Extract._meta.db_table)
                ),
                [str(held.pk)],
            )
        report = master_key_rotate()
        assert report.in_use == {"sharing.Extract": 1}
        assert report.rewrapped == {"sharing.Extract": 1} and not report.complete
        with pytest.raises(CommandError, match="1 in use by another process; run the command"):
            call_command("rotate_master_key", stdout=io.StringIO())
    finally:
        writer.rollback()
        writer.close()

    assert master_key_rotate().complete
    for extract in (held, free):
        extract.refresh_from_db()
        assert wrapped_key_id(extract.data_key_wrapped) == key_id(key_b)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_with_the_new_key_processes_a_supply_uploaded_under_the_old_one_mid_rotation(
    api_client, personas, own_queue, tmp_path, settings, monkeypatch, key_a, key_b
):
    from sanitise.demo import demo_gazetteer_load
    from tests.datasets.test_pipeline import (
        OFFENCE_HEADER,
        csv_bytes,
        offence_rows,
        supply,
        wait_for,
    )

    demo_gazetteer_load()
    rows = offence_rows(20)
    # Each file dated within its own period.
    september = csv_bytes(
        OFFENCE_HEADER,
        [[*row[:2], f"{day:02d}/09/2026", *row[3:]] for day, row in enumerate(rows[:10], 1)],
    )
    october = csv_bytes(OFFENCE_HEADER, rows[10:])
    supplier = personas["police_supplier"]
    first = supply(api_client, supplier, september, period_start="2026-09-01",
                   period_end="2026-09-30")  # fmt: skip
    second = supply(api_client, supplier, october)
    for supply_id in (first, second):  # both under A, queued for a worker not yet running
        assert wrapped_key_id(Supply.objects.get(pk=supply_id).data_key_wrapped) == key_id(key_a)

    # The procedure: B current and A previous everywhere, processes restarted, then rotate.
    settings.HUB_MASTER_KEY, settings.HUB_PREVIOUS_MASTER_KEYS = key_b, [key_a]
    monkeypatch.setenv("HUB_PREVIOUS_MASTER_KEYS", key_a)
    worker = start_worker(own_queue, tmp_path / "worker.log")
    try:
        processed_under_a = wait_for(api_client, first)
        assert wrapped_key_id(Supply.objects.get(pk=first).data_key_wrapped) == key_id(key_a)
        during = master_key_rotate()  # while the worker may be reading the second supply
        processed_mid_rotation = wait_for(api_client, second)
    finally:
        stop_worker(worker)

    assert processed_under_a["status"] == "completed", processed_under_a
    assert processed_mid_rotation["status"] == "completed", processed_mid_rotation
    assert Record.objects.filter(supply_id__in=[first, second]).count() == 20
    # A stage holding a supply's row when the rotation passed leaves it to the next run.
    after = master_key_rotate()
    assert after.complete
    assert (during.rewrapped + after.rewrapped)["datasets.Supply"] == 2
    settings.HUB_PREVIOUS_MASTER_KEYS = []
    for supply_id, content in ((first, september), (second, october)):
        saved = Supply.objects.get(pk=supply_id)
        assert saved.master_key_id == key_id(key_b)
        assert read_encrypted(Path(saved.raw_path), unwrap_key(saved.data_key_wrapped)) == content
