"""A&E returns as the NHS sends them: the Information Sharing to Tackle Violence (ISTV) minimum
data set (ISB 1594) as a CSV with its data element names for headers, and as its XML
submission, whose header's reporting period is checked against the supply's (issue 15, item
16). The XML element names here are the reader's assumption (the schema file's aliases); the
codes are placeholders of the national codes' two-character form."""

from __future__ import annotations

import datetime
import io
import tracemalloc

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.catalogue import read_catalogue
from datasets.choices import FileFormat
from datasets.headers import map_header, split_date_time
from datasets.models import Record, Supply
from datasets.readers import read_chunks
from datasets.supplied import SuppliedFile, UnreadableFile, format_from_name
from datasets.validation import validate_chunk
from datasets.xml_reader import SUBMISSION_HEADER, header_date, xml_layout
from hub.crypto import new_data_key, write_encrypted
from tests.conftest import browser_sign_in
from tests.datasets.test_pipeline import csv_bytes, supply, wait_for
from tests.records import record_fields

AE = next(schema for schema in read_catalogue() if schema.slug == "ae_assault")
LAYOUT = xml_layout(AE)
ISTV_HEADER = [
    "ARRIVAL DATE AND TIME AT ACCIDENT AND EMERGENCY DEPARTMENT", "ASSAULT DATE AND TIME",
    "ASSAULT METHOD", "ASSAULT METHOD OTHER DESCRIPTION", "ASSAULT LOCATION TYPE",
    "ASSAULT LOCATION DESCRIPTION",
]  # fmt: skip
ISTV_ROWS = [
    ["2026-10-05T23:40:00", "2026-10-05T22:15:00", "02", "", "03", "Wallgate, Wigan"],
    ["06/10/2026 02:10", "06/10/2026 01:05", "98", "Brick", "01", "Market Street, Wigan"],
    ["", "2026-10-07", "05", "", "02", "Standishgate, Wigan"],
]


def submission(records: list[dict[str, str]], *, start="2026-10-01", end="2026-10-31",
               prolog: str = "") -> bytes:  # fmt: skip
    """An ISTV XML submission: the header, then an <Assault> per record."""
    assaults = "".join(
        "<Assault>" + "".join(f"<{name}>{value}</{name}>" for name, value in record.items())
        + "</Assault>"
        for record in records
    )  # fmt: skip
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        '<ISTVSubmission xmlns="urn:example:istv">'
        f"<SubmissionHeader><ReportingPeriodStartDate>{start}</ReportingPeriodStartDate>"
        f"<ReportingPeriodEndDate>{end}</ReportingPeriodEndDate>"
        "<SiteCodeOfTreatment>RRF02</SiteCodeOfTreatment></SubmissionHeader>"
        f"{assaults}</ISTVSubmission>"
    ).encode()


RECORDS = [
    {
        "ArrivalDateTimeAtAccidentAndEmergencyDepartment": "2026-10-05T23:40:00",
        "AssaultDateTime": "2026-10-05T22:15:00",
        "AssaultMethod": "02",
        "AssaultLocationType": "03",
        "AssaultLocationDescription": "Wallgate, Wigan",
    },
    {
        "AssaultDateTime": "2026-10-06T01:05:00+01:00",
        "AssaultMethod": "98",
        "AssaultMethodOtherDescription": "Brick",
        "AssaultLocationType": "01",
    },
    {"AssaultDateTime": "2026-10-07T09:30:00", "AssaultMethod": "05", "AssaultLocationType": "02"},
]


def stored(tmp_path, content: bytes, *, max_bytes=10**7) -> SuppliedFile:
    key = new_data_key()
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.enc"
    write_encrypted(path, content, key)
    return SuppliedFile(path=path, data_key=key, file_format=FileFormat.XML, max_bytes=max_bytes)


def read(supplied: SuppliedFile, chunk_rows=1000) -> list[pd.DataFrame]:
    return list(read_chunks(supplied, chunk_rows=chunk_rows, xml_layout=LAYOUT))


# -- the reader --------------------------------------------------------------------------------


def test_each_assault_is_a_row_named_as_its_elements_and_numbered_by_record(tmp_path):
    chunks = read(stored(tmp_path, submission(RECORDS)), chunk_rows=2)

    assert [list(chunk.index) for chunk in chunks] == [[1, 2], [3]]
    # Every element of any record is a column of every chunk; a record without one has "".
    columns = [*RECORDS[0], "AssaultMethodOtherDescription"]
    assert all(list(chunk.columns) == columns for chunk in chunks)
    assert chunks[0].loc[2, "AssaultMethodOtherDescription"] == "Brick"
    assert chunks[0].loc[2, "AssaultLocationDescription"] == ""
    assert chunks[1].attrs[SUBMISSION_HEADER] == {
        "period_start": "2026-10-01", "period_end": "2026-10-31", "site_code": "RRF02",
    }  # fmt: skip
    mapping = map_header(chunks[0].columns, AE)
    assert mapping.problems == [] and mapping.dropped == []
    assert mapping.read_as["AssaultDateTime"] == "incident_date and incident_time"
    assert mapping.read_as["AssaultMethod"] == "assault_method"


@pytest.mark.parametrize(
    "prolog",
    [
        # Entity expansion ("billion laughs"), an external entity, and a bare document type.
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
        "<!DOCTYPE ISTVSubmission>",
    ],
)
def test_a_document_type_or_entities_are_refused(tmp_path, prolog):
    with pytest.raises(UnreadableFile, match=r"declares a document type \(<!DOCTYPE …>\)"):
        read(stored(tmp_path, submission(RECORDS, prolog=prolog)))


def test_a_file_past_the_upload_limit_is_refused(tmp_path):
    content = submission(RECORDS * 200)
    with pytest.raises(UnreadableFile, match="larger than the hub accepts"):
        read(stored(tmp_path, content, max_bytes=len(content) // 2))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not well-formed XML"),
        (b"<a><b>1</b>", "not well-formed XML"),
        (b"Crime ref,Date\r\nCR1,01/10/2026\r\n", "not well-formed XML"),
        (submission([]), "has no records, so there is nothing to load"),
        (b"<Invoice><Line><Sku>1</Sku><Price>2</Price></Line></Invoice>",
         "no records of this dataset.*<Line> with <Price>, <Sku>"),
        (submission(RECORDS).replace(b"</ISTVSubmission>",
                                     b"<SubmissionHeader><ReportingPeriodStartDate/>"
                                     b"</SubmissionHeader></ISTVSubmission>"),
         "more than one submission header"),
        (b"<a>" * 40 + b"</a>" * 40, "more than 32 deep"),
        # Values that no group ever closes over would otherwise pile up in memory.
        (b"<r>" + b"<v/>" * 1500 + b"</r>", "holds over 1,000 values"),
        (b"<r><g>" + b"<v>1</v>" * 1500 + b"</g></r>", "holds over 1,000 values"),
    ],
)  # fmt: skip
def test_what_is_no_submission_is_refused_with_what_to_do(tmp_path, content, message):
    with pytest.raises(UnreadableFile, match=message):
        read(stored(tmp_path, content))


def test_a_large_submission_is_streamed_not_held_whole(tmp_path):
    content = submission(RECORDS * 10_000)  # 30,000 records, some 6 MB
    supplied = stored(tmp_path, content, max_bytes=len(content))
    tracemalloc.start()
    try:
        rows = 0
        for chunk in read_chunks(supplied, chunk_rows=1000, xml_layout=LAYOUT):
            rows += len(chunk)
            last = chunk.index[-1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (rows, last) == (30_000, 30_000)
    # The whole tree of 150,000 elements would take far more than the file; the stream holds
    # a chunk of rows at a time.
    assert peak < len(content)


def test_the_header_dates_are_read_as_the_schema_writes_them():
    assert header_date("2026-10-01") == datetime.date(2026, 10, 1)
    assert header_date("2026-10-01Z") == header_date("2026-10-01+01:00")
    assert header_date("01/10/2026") == datetime.date(2026, 10, 1)
    assert header_date("2026-02-30") is None and header_date("") is None


def test_xml_is_a_format_of_its_own():
    assert format_from_name("ISTV October.XML") == FileFormat.XML


FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    text=st.text(alphabet=st.sampled_from(list("<>/=\"'&;! ?abAssaultMethod-:\n")), max_size=300),
    wrap=st.booleans(),
)
def test_any_markup_reads_as_text_rows_numbered_from_1_or_is_unreadable(tmp_path, text, wrap):
    content = f"<Assault><AssaultMethod>{text}</AssaultMethod></Assault>" if wrap else text
    try:
        chunks = read(stored(tmp_path, content.encode()))
    except UnreadableFile as error:
        assert str(error)
        return
    numbers = [number for chunk in chunks for number in chunk.index]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(isinstance(value, str) for c in chunks for value in c.to_numpy().ravel())


# -- reading ISTV values -------------------------------------------------------------------------


def test_a_date_and_time_in_one_value_is_split_into_its_date_and_its_time():
    values = pd.Series(
        ["2026-10-05T22:15:00", "05/10/2026 22:15", "2026-10-05", "2026-10-05T22:15:00.5+01:00",
         "yesterday", None],
    )  # fmt: skip
    dates, times = split_date_time(values)
    assert dates.tolist()[:5] == ["2026-10-05", "05/10/2026", "2026-10-05", "2026-10-05",
                                  "yesterday"]  # fmt: skip
    assert times.tolist()[:2] == ["22:15:00", "22:15"]
    assert times.isna().tolist() == [False, False, True, False, True, True]


def test_istv_headers_name_the_fields_and_two_names_for_one_field_conflict():
    mapping = map_header(ISTV_HEADER, AE)
    assert mapping.read_as == {
        ISTV_HEADER[0]: "arrival_date and arrival_time",
        ISTV_HEADER[1]: "incident_date and incident_time",
        ISTV_HEADER[2]: "assault_method",
        ISTV_HEADER[3]: "assault_method_other",
        ISTV_HEADER[4]: "assault_location_type",
        ISTV_HEADER[5]: "location_description",
    }
    assert mapping.field_columns["incident_time"] == "ASSAULT DATE AND TIME"
    clash = map_header(["ASSAULT DATE AND TIME", "Incident date"], AE)
    assert "both mean incident_date" in clash.problems[0]


def test_a_description_for_a_code_is_refused_and_free_text_is_no_code():
    frame = pd.DataFrame(
        {"assault_method": ["02", "Knife"], "assault_method_other": ["", "Brick, then kicked"]},
        index=[1, 2], dtype=object,
    )  # fmt: skip
    result = validate_chunk(
        frame, AE, missing_values=[""], today=datetime.date(2026, 11, 21),
        period=(datetime.date(2026, 10, 1), datetime.date(2026, 10, 31)),
    )  # fmt: skip
    assert list(zip(result.errors["row"], result.errors["code"], strict=True)) == [
        (2, "not_a_code")
    ]
    specs = {spec.name: spec for spec in AE.fields}
    assert specs["assault_method"].coded and specs["assault_location_type"].coded
    assert not specs["assault_method_other"].coded


# -- supplied and loaded by a real worker --------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_csv_with_the_istv_headers_loads_each_value_into_its_field(api_client, world):
    health = world["health_supplier"]
    supply_id = supply(api_client, health, csv_bytes(ISTV_HEADER, ISTV_ROWS), dataset="ae_assault")

    body = wait_for(api_client, supply_id)

    assert (body["status"], body["accepted_count"], body["rejected_count"]) == ("completed", 3, 0)
    first = Record.objects.get(supply_id=supply_id, row_number=2)
    assert (first.event_date, first.event_time) == (
        datetime.date(2026, 10, 5), datetime.time(22, 15)
    )  # fmt: skip
    fields = record_fields(first)
    assert {name: fields[name] for name in ("assault_method", "assault_location_type")} == {
        "assault_method": "02", "assault_location_type": "03",
    }  # fmt: skip
    assert fields["arrival_date"] == datetime.date(2026, 10, 5)
    assert fields["arrival_time"] == datetime.time(23, 40)
    second = Record.objects.get(supply_id=supply_id, row_number=3)
    assert record_fields(second)["assault_method_other"] == "Brick"
    assert second.event_time == datetime.time(1, 5)
    third = Record.objects.get(supply_id=supply_id, row_number=4)
    assert third.event_date == datetime.date(2026, 10, 7) and third.event_time is None
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert report["header_mapping"]["ASSAULT DATE AND TIME"] == "incident_date and incident_time"
    assert report["dropped_columns"] == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_istv_xml_submission_loads_record_by_record(api_client, world):
    supply_id = supply(
        api_client, world["health_supplier"], submission(RECORDS), dataset="ae_assault",
        name="RRF02_ISTV_2026-10.xml", declared_record_count=3,
    )  # fmt: skip

    body = wait_for(api_client, supply_id)

    assert (body["status"], body["accepted_count"]) == ("completed", 3)
    saved = Supply.objects.get(pk=supply_id)
    assert saved.file_format == FileFormat.XML
    assert saved.report["submission_header"]["site_code"] == "RRF02"
    records = {r.row_number: r for r in Record.objects.filter(supply_id=supply_id)}
    assert sorted(records) == [1, 2, 3]  # the first record is row 1
    assert record_fields(records[2])["assault_method"] == "98"
    assert record_fields(records[2])["assault_method_other"] == "Brick"
    assert (records[2].event_date, records[2].event_time) == (
        datetime.date(2026, 10, 6), datetime.time(1, 5)
    )  # fmt: skip
    assert record_fields(records[1])["arrival_time"] == datetime.time(23, 40)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_submission_whose_header_gives_another_period_is_rejected_naming_both(api_client, world):
    content = submission(RECORDS, start="2026-09-01", end="2026-09-30")
    supply_id = supply(
        api_client, world["health_supplier"], content, dataset="ae_assault", name="istv.xml"
    )

    body = wait_for(api_client, supply_id)

    assert body["status"] == "rejected"
    assert not Record.objects.filter(supply_id=supply_id).exists()
    [problem] = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()["problems"]
    assert problem.startswith(
        "The submission header's reporting period is 01/09/2026 to 30/09/2026, but the supply "
        "was made for 01/10/2026 to 31/10/2026."
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_submission_with_entities_is_rejected_unread(api_client, world):
    bomb = '<!DOCTYPE ISTVSubmission [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    supply_id = supply(
        api_client, world["health_supplier"], submission(RECORDS, prolog=bomb),
        dataset="ae_assault", name="istv.xml",
    )  # fmt: skip

    body = wait_for(api_client, supply_id)

    assert body["status"] == "rejected"
    [problem] = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()["problems"]
    assert "declares a document type" in problem


@pytest.mark.django_db
def test_xml_is_refused_at_upload_for_a_dataset_without_an_xml_submission(api_client, personas):
    api_client.force_authenticate(personas["police_supplier"])
    upload = io.BytesIO(submission(RECORDS))
    upload.name = "offences.xml"
    response = api_client.post(
        "/api/v1/supplies/",
        {"file": upload, "dataset": "police_crime_offence", "period_start": "2026-10-01",
         "period_end": "2026-10-31", "supplier_name": "P", "supplier_contact": "p@x.example"},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 403
    assert "has no XML submission format" in response.json()["detail"]


@pytest.fixture
def world(personas, celery_worker_process):
    from sanitise.demo import demo_gazetteer_load

    demo_gazetteer_load()
    return personas


# -- the upload form -----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_choosing_a_submission_fills_in_its_period(page, live_server, personas, tmp_path):
    upload = tmp_path / "RRF02_ISTV_2026-09.xml"
    upload.write_bytes(submission(RECORDS, start="2026-09-01", end="2026-09-30"))
    browser_sign_in(page, live_server, "health_supplier")
    page.goto(f"{live_server.url}/supplies/new/")

    page.get_by_label("Dataset").select_option("ae_assault")
    page.get_by_label("File").set_input_files(str(upload))

    period_to = page.get_by_label("Period to")
    page.wait_for_function("document.getElementById('id_period_end').value !== ''")
    assert page.get_by_label("Period from").input_value() == "2026-09-01"
    assert period_to.input_value() == "2026-09-30"
