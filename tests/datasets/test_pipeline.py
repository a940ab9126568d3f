"""The supply pipeline end to end: API upload, a real broker, a real worker, real PostgreSQL."""

from __future__ import annotations

import csv
import datetime
import io
import signal
import time

import openpyxl
import psycopg2
import pytest
from django.db import connection
from django.utils import timezone
from redis import Redis

from datasets.choices import SupplyStatus
from datasets.models import IdentifyingRecord, Record, Supply
from datasets.rejected_rows import rejected_rows_path
from datasets.services.supplies import supplies_reap
from hub.crypto import decrypt_bytes, open_encrypted, unwrap_key
from sanitise.demo import demo_gazetteer_load
from sanitise.models import Address, PostcodeCentroid, PostcodeHouseholds
from tests.conftest import start_worker, stop_worker
from tests.records import record_fields

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OFFENCE_HEADER = [
    "Crime reference number", "HO offence code", "Date committed from", "Time committed from",
    "address", "postcode", "easting", "northing", "flag_domestic",
]  # fmt: skip


@pytest.fixture
def world(personas, celery_worker_process):
    demo_gazetteer_load()
    return personas


def wn_postcodes(count: int, *, min_households: int = 4) -> list[PostcodeCentroid]:
    eligible = PostcodeHouseholds.objects.filter(households__gte=min_households).values("postcode")
    return list(PostcodeCentroid.objects.filter(postcode__in=eligible).order_by("postcode")[:count])


def street_of(postcode: str) -> str:
    """A street and locality of the postcode in the demo's address gazetteer ("Elm Drive,
    Wigan"), as a supplier would write it after the house number."""
    address = Address.objects.filter(postcode=postcode).order_by("uprn").first()
    return address.address.split(" ", 1)[1] if address else "Mill Lane, Wigan"


def offence_rows(count: int) -> list[list[str]]:
    rows = []
    for number, centroid in enumerate(wn_postcodes(count), start=1):
        rows.append([
            f"CR{number:05d}", "028/01", f"{(number % 28) + 1:02d}/10/2026", "22:30",
            f"{number} {street_of(centroid.postcode)}", centroid.postcode, "", "", "N",
        ])  # fmt: skip
    return rows


def csv_bytes(header, rows, *, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def supply(client, user, content: bytes, *, dataset="police_crime_offence", name="march.csv",
           **extra):  # fmt: skip
    client.force_authenticate(user)
    data = {
        "file": io.BytesIO(content),
        "dataset": dataset,
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "supplier_name": "Priya Shah",
        "supplier_contact": "priya.shah@gmp.example",
        **extra,
    }
    data["file"].name = name
    response = client.post("/api/v1/supplies/", data, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def wait_for(client, supply_id, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/supplies/{supply_id}/").json()
        if body["status"] in ("completed", "rejected", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"Supply {supply_id} did not finish: {body}")


def test_a_clean_file_completes_and_loads_only_centroids(api_client, world):
    rows = offence_rows(40)
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, rows),
                       declared_record_count=40)  # fmt: skip

    body = wait_for(api_client, supply_id)

    assert (body["status"], body["progress"]) == ("completed", 100)
    assert (body["record_count"], body["accepted_count"], body["rejected_count"]) == (40, 40, 0)
    records = Record.objects.filter(supply_id=supply_id)
    assert records.count() == 40
    centroids = {(c.easting, c.northing) for c in PostcodeCentroid.objects.all()}
    assert all((r.easting, r.northing) in centroids for r in records)
    assert {r.location_method for r in records} <= {"centroid", "moved"}
    offence = records.get(row_number=2)
    fields = record_fields(offence)
    assert fields["crime_ref"] == "CR00001"
    # The house number is gone; the street is the gazetteer's, of the record's own postcode.
    assert fields["address"] == street_of(offence.postcode)
    assert offence.postcode == fields["postcode"]
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert report["errors"] == [] and report["dropped_columns"] == []
    assert sum(report["locations"].values()) == 40
    assert report["completeness"]["crime_ref"] == 100.0
    assert report["currency_days"] >= 0


def test_bad_rows_are_rejected_with_exact_reasons_and_the_rest_load(api_client, world):
    rows = offence_rows(6)
    rows[1][2] = "31/02/2026"  # row 3: no such date
    rows[3][0] = ""  # row 5: no crime reference
    rows[4][0] = rows[0][0]  # row 6: repeats row 2's crime reference
    supply_id = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, rows),
        declared_record_count=7,
    )  # fmt: skip

    body = wait_for(api_client, supply_id)

    assert (body["status"], body["accepted_count"], body["rejected_count"]) == ("completed", 3, 3)
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert sorted((e["row"], e["field"], e["code"]) for e in report["errors"]) == [
        (3, "committed_from_date", "not_a_date"),
        (5, "crime_ref", "required"),
        (6, "crime_ref", "duplicate"),
    ]
    loaded = Record.objects.filter(supply_id=supply_id).values_list("row_number", flat=True)
    assert sorted(loaded) == [2, 4, 7]
    saved = Supply.objects.get(pk=supply_id)
    with open_encrypted(rejected_rows_path(saved), unwrap_key(bytes(saved.data_key_wrapped))) as f:
        rejected = list(csv.DictReader(io.TextIOWrapper(f, encoding="utf-8")))
    assert [row["row"] for row in rejected] == ["3", "5", "6"]
    assert "is not a date" in rejected[0]["problems"]
    declared = next(w for w in report["warnings"] if w["code"] == "declared_count_differs")
    assert declared["message"] == "The form declared 7 records; the file has 6."


def test_a_file_missing_a_required_column_is_rejected_whole_and_stores_nothing(api_client, world):
    header = [h for h in OFFENCE_HEADER if h != "HO offence code"]
    rows = [row[:1] + row[2:] for row in offence_rows(3)]
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(header, rows))

    body = wait_for(api_client, supply_id)

    assert body["status"] == "rejected"
    assert not Record.objects.filter(supply_id=supply_id).exists()
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert "ho_offence_code" in report["problems"][0]


@pytest.mark.parametrize(("encoding", "prefix"), [("cp1252", b""), ("utf-8", b"\xef\xbb\xbf")])
def test_windows_1252_and_byte_order_mark_files_load(api_client, world, encoding, prefix):
    header = [*OFFENCE_HEADER, "Property stolen"]
    rows = [[*row, "Café till – £50"] for row in offence_rows(3)]
    content = prefix + csv_bytes(header, rows, encoding=encoding)
    supply_id = supply(api_client, world["police_supplier"], content)

    assert wait_for(api_client, supply_id)["accepted_count"] == 3
    record = Record.objects.get(supply_id=supply_id, row_number=2)
    fields = record_fields(record)
    assert fields["property_stolen"] == "Café till – £50"
    assert fields["crime_ref"] == "CR00001"  # the first header was not spoiled by a BOM


def test_an_xlsx_workbook_loads(api_client, world):
    workbook = openpyxl.Workbook()
    workbook.active.append(OFFENCE_HEADER)
    for row in offence_rows(5):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)

    supply_id = supply(api_client, world["police_supplier"], buffer.getvalue(), name="march.xlsx")

    assert wait_for(api_client, supply_id)["accepted_count"] == 5


def test_a_resupply_of_the_same_period_supersedes_the_earlier_one(api_client, world):
    first = supply(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(4)))
    wait_for(api_client, first)
    second = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(6))
    )
    wait_for(api_client, second)

    assert str(Supply.objects.get(pk=first).superseded_by_id) == second
    assert Supply.objects.get(pk=second).superseded_by_id is None
    current = Record.objects.filter(
        supply__superseded_by__isnull=True, dataset__slug="police_crime_offence"
    )
    assert current.count() == 6
    assert Record.objects.filter(supply_id=first).count() == 4  # history is kept


def prison_supplier(personas):
    """A supplier at a prison that signed the demo ISP (the demo has no prison)."""
    from hub.choices import AgencyType, Role
    from hub.models import InformationSharingProtocol, Partnership, User
    from hub.services import agency_ensure, membership_grant
    from sharing.services.isp import signature_record

    partnership = Partnership.objects.get()
    agency = agency_ensure(
        partnership=partnership, name="HMP Hindley", agency_type=AgencyType.PRISON,
        acting_user=None, system="test",
    )  # fmt: skip
    isp = InformationSharingProtocol.objects.get()
    signature_record(
        isp=isp, agency=agency, tier="core", signed_on=isp.adopted_on,
        signatory_name="Governor", acting_user=None, system="test",
    )  # fmt: skip
    user = User.objects.create_user("prison_supplier", email="ps@prison.example")
    membership_grant(user=user, agency=agency, roles=[Role.SUPPLIER], acting_user=None, system="t")
    return user


def _text_anywhere_in_the_database(text: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        tables = [name for (name,) in cursor.fetchall()]
        found = []
        for table in tables:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE %s',  # noqa: S608 - names from the catalogue
                [f"%{text}%"],
            )
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def test_a_name_column_never_reaches_the_database_or_the_logs(api_client, world, worker_log):
    header = [*OFFENCE_HEADER, "Name", "Surname"]
    rows = [[*row, "Zebedee", "Quillfeather"] for row in offence_rows(3)]
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(header, rows))

    wait_for(api_client, supply_id)

    assert _text_anywhere_in_the_database("Quillfeather") == []
    assert _text_anywhere_in_the_database("Zebedee") == []
    assert "Quillfeather" not in worker_log.read_text()
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert report["dropped_columns"] == ["Name", "Surname"]


def test_a_personalised_datasets_identifying_fields_are_stored_apart_and_encrypted(
    api_client, world
):
    header = ["name", "gender", "date_of_birth", "offence", "release_date", "postcode"]
    postcode = wn_postcodes(1)[0].postcode
    rows = [["Barnaby Rudge-Quill", "M", "01/02/1990", "burglary", "15/10/2026", postcode]]
    prison = prison_supplier(world)
    supply_id = supply(api_client, prison, csv_bytes(header, rows), dataset="prison_release")

    assert wait_for(api_client, supply_id)["accepted_count"] == 1
    assert _text_anywhere_in_the_database("Rudge-Quill") == []
    record = Record.objects.get(supply_id=supply_id)
    fields = record_fields(record)
    assert "name" not in fields and "date_of_birth" not in fields
    identifying = IdentifyingRecord.objects.get(record=record)
    saved = Supply.objects.get(pk=supply_id)
    plain = decrypt_bytes(
        bytes(identifying.ciphertext),
        unwrap_key(bytes(saved.data_key_wrapped)),
        context=f"{supply_id}:2".encode(),
    )
    assert b"Barnaby Rudge-Quill" in plain


def test_victims_take_the_date_of_their_offence_whichever_arrives_first(api_client, world):
    victims = supply(
        api_client, world["police_supplier"],
        csv_bytes(["crime_ref", "gender", "age"], [["CR00002", "F", "34"]]),
        dataset="police_crime_victim",
    )  # fmt: skip
    wait_for(api_client, victims)
    victim = Record.objects.get(supply_id=victims)
    assert str(victim.event_date) == "2026-10-01"  # the period's start, until the offence comes

    offences = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(3))
    )
    wait_for(api_client, offences)

    victim.refresh_from_db()
    assert str(victim.event_date) == "2026-10-03"  # CR00002 was committed on 03/10/2026


def test_the_supply_status_is_audited_from_upload_to_completion(api_client, world):
    from hub.models import AuditEntry

    supply_id = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(2))
    )
    wait_for(api_client, supply_id)

    entries = AuditEntry.objects.filter(object_id=supply_id).order_by("id")
    assert [entry.action for entry in entries][0] == "supply_uploaded"
    stages = [e.detail["stage"] for e in entries if e.action == "supply_stage_done"]
    assert stages == [SupplyStatus.LOADING, SupplyStatus.REPORTING]


def test_the_supplier_is_mailed_when_processing_ends(api_client, world, settings):
    supply_id = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(2))
    )
    wait_for(api_client, supply_id)

    mail = "".join(path.read_text() for path in settings.EMAIL_FILE_PATH.glob("*.log"))
    assert "To: police_supplier@demo.invalid" in mail
    assert f"/supplies/{supply_id}/" in mail
    assert "2 records accepted, 0 rejected" in mail


def test_a_worker_killed_during_load_leaves_no_records_and_the_supply_completes(
    api_client, personas, own_queue, tmp_path
):
    demo_gazetteer_load()
    blocker = psycopg2.connect(**connection.get_connection_params())
    with blocker.cursor() as cursor:
        # Holds the warehouse table so that the load stops inside its transaction.
        cursor.execute(f"LOCK TABLE {Record._meta.db_table} IN ACCESS EXCLUSIVE MODE")
    worker = start_worker(own_queue, tmp_path / "doomed.log")
    supply_id = supply(
        api_client, personas["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(30))
    )
    try:
        deadline = time.monotonic() + 60
        while Supply.objects.get(pk=supply_id).status != SupplyStatus.LOADING:
            assert time.monotonic() < deadline, "the supply never reached loading"
            time.sleep(0.1)
        time.sleep(0.5)  # the load is now waiting on the lock, inside its transaction
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    finally:
        blocker.rollback()
        blocker.close()

    time.sleep(1)
    assert not Record.objects.filter(supply_id=supply_id).exists()
    assert Supply.objects.get(pk=supply_id).status == SupplyStatus.LOADING

    assert supplies_reap() == []  # the dead worker's lease has not run out yet
    expired = timezone.now() - datetime.timedelta(seconds=1)
    Supply.objects.filter(pk=supply_id).update(lease_until=expired)  # as if time has passed
    assert supplies_reap() == [supply_id]
    survivor = start_worker(own_queue, tmp_path / "survivor.log")
    try:
        body = wait_for(api_client, supply_id)
    finally:
        stop_worker(survivor)
    assert body["status"] == "completed"
    assert Record.objects.filter(supply_id=supply_id).count() == 30


def test_a_supply_whose_task_was_lost_is_queued_again_by_the_reaper(
    api_client, world, own_queue, settings
):
    supply_id = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(3))
    )
    Redis.from_url(settings.REDIS_URL).delete(own_queue)  # the task is lost, as if Redis restarted
    Supply.objects.filter(pk=supply_id).update(
        queued_at=timezone.now() - datetime.timedelta(hours=1)
    )
    from hub import celery_app

    celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE  # the live worker's

    assert supplies_reap() == [supply_id]
    assert wait_for(api_client, supply_id)["status"] == "completed"
