"""Record-level CSV extracts written by PostgreSQL (COPY) rather than by pandas: the file is
the same, byte for byte, hostile values and all; only rows needing work in Python go the
slow way."""

from __future__ import annotations

import csv
import datetime
import io
import time
import zipfile
from dataclasses import replace

import pandas as pd
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg2 import sql

from datasets.models import Dataset, Record, RecordMonthlyCount, Supply
from datasets.spreadsheets import (
    FORMULA_STARTS,
    neutralise_cell,
    neutralise_formulas,
    neutralise_sql,
)
from datasets.storage import stored_columns
from datasets.summary import counts_recount
from sharing.choices import ExtractFormat, ExtractStatus
from sharing.files import MARKING, BackgroundWriter, csv_text, write_csv_copy, write_csv_zip
from sharing.models import Extract
from sharing.reading import stream_parts
from sharing.records import ExtractQuery, record_fields
from sharing.services import extract_build
from sharing.services.extracts import extract_request
from tests.conftest import supply_row
from tests.records import record_create, records_create

PERIOD = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
HOSTILE = [
    "=1+1", "+44 161 000", "-12", "@SUM(A1)", "\tindented", "\rreturned", "'quoted",
    'say "hi"', "a,b", "line one\nline two", "mid\rcarriage", "crlf\r\nend",
    "Zoë – 中文 😀", "", " leading space", "\\.", "NULL", "=", "-", None, 12, -3.5, True,
]  # fmt: skip
METADATA = {
    "marking": MARKING, "conditions": ["CSP use only."], "extract_id": "test",
    "dataset": "police_crime_offence", "level": "depersonalised", "period": "October 2026",
    "area": "all", "extracted_by": "analyst", "extracted_at": "01/11/2026 09:00",
    "fields": [], "supplies": [], "attribution": "Contains OS data.",
}  # fmt: skip
# PostgreSQL's text cannot hold NUL; nor can UTF-8 hold lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
RISKY_TEXT = st.one_of(
    TEXT, st.tuples(st.sampled_from(FORMULA_STARTS), TEXT).map("".join), st.just("")
)


# Offences from this number on came in the earlier supply.
EARLIER_FROM = 40


def hostile(number: int):
    return HOSTILE[number % len(HOSTILE)]


def typed(kind: str, number: int):
    """A valid value for a field that is not text (its column takes nothing else), missing
    where the hostile text would be; negative numbers among them, which a spreadsheet would
    take for formulas, none equal to a hostile text the tests look for."""
    if hostile(number) is None:
        return None
    if kind == "date":
        return PERIOD[0] + datetime.timedelta(days=number % 31)
    if kind.startswith("time"):
        return datetime.time(number % 24, number % 60, number % 7)
    if kind == "boolean":
        return number % 2 == 0
    if kind in ("bigint", "integer"):
        return [-7, 31, 0, -250][number % 4]
    return [-0.5, 2.0, 0.25][number % 3]


def field_value(kind: str, number: int):
    """Hostile text for a text field; a valid typed value for the rest."""
    return hostile(number) if kind == "text" else typed(kind, number)


@pytest.fixture
def offences(personas):
    """Offences (and victims for some of them) whose every text field is hostile, several
    to a day, stored out of date order; the last 20 offences came in a supply for the month
    before, which an extract reads first."""
    police = personas["police_supplier"].memberships.get().agency
    made = {}
    for slug in ("police_crime_offence", "police_crime_victim"):
        dataset = Dataset.objects.get(slug=slug)
        supply = supply_row(
            dataset=dataset, agency=police, uploaded_by=personas["police_supplier"],
            period_start=PERIOD[0], period_end=PERIOD[1], status="completed",
            record_count=0, accepted_count=0, rejected_count=0,
        )  # fmt: skip
        made[slug] = (dataset, supply)
    dataset, supply = made["police_crime_offence"]
    earlier = supply_row(
        dataset=dataset, agency=police, uploaded_by=personas["police_supplier"],
        period_start=PERIOD[0] - datetime.timedelta(days=30), period_end=PERIOD[0],
        status="completed", record_count=0, accepted_count=0, rejected_count=0,
    )  # fmt: skip
    fields = record_fields(dataset.schema)
    kinds = stored_columns(dataset.schema)
    records = []
    for number in range(60):
        data = {
            name: field_value(kinds[name], number + offset) for offset, name in enumerate(fields)
        }
        data["crime_ref"] = f"CR{number}"
        data = {name: value for name, value in data.items() if value is not None}
        records.append(
            dict(
                partnership_id=police.partnership_id,
                dataset=dataset,
                supply=earlier if number >= EARLIER_FROM else supply,
                row_number=number,
                event_date=PERIOD[1] - datetime.timedelta(days=number % 7),
                easting=None if number % 5 == 0 else 358000 + number - (number == 7) * 400000,
                northing=None if number % 5 == 0 else 405000 + number,
                postcode=["WN1 1AA", "", "=WN1", "-WN2 2BB"][number % 4],
                location_method=["centroid", "", "@place"][number % 3],
                data=data,
            )  # fmt: skip
        )
    victims, victim_supply = made["police_crime_victim"]
    victim_kinds = stored_columns(victims.schema)
    for number in range(0, 60, 3):  # none for most offences, two for some
        for second in range(1 + (number % 2)):
            records.append(
                dict(
                    partnership_id=police.partnership_id,
                    dataset=victims,
                    supply=victim_supply,
                    row_number=number * 2 + second,
                    event_date=PERIOD[0],
                    location_method="centroid",
                    data={
                        "crime_ref": f"CR{number}",
                        "gender": field_value(victim_kinds["gender"], number + second),
                        "age": field_value(victim_kinds["age"], number + 5),
                        "occupation": field_value(victim_kinds["occupation"], number + 9),
                    },
                )  # fmt: skip
            )
    records_create(records)
    counts_recount(supply_ids=[supply.pk, earlier.pk, victim_supply.pk])
    return {"partnership": police.partnership_id, "offence": dataset, "victim": victims}


def query_for(offences, *, linked: bool) -> ExtractQuery:
    victim = offences["victim"]
    return ExtractQuery(
        partnership_id=offences["partnership"],
        dataset=offences["offence"],
        period=PERIOD,
        fields=record_fields(offences["offence"].schema),
        linked=victim if linked else None,
        linked_fields=["gender", "age", "occupation"] if linked else [],
    )


def archive_members(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


def frames_csv(query: ExtractQuery) -> dict[str, bytes]:
    """The extract as the pandas path writes it."""
    _, _, columns = query.records()
    parts, _ = query.parts()
    frames = (neutralise_formulas(chunk) for chunk in stream_parts(parts))
    out = io.BytesIO()
    write_csv_zip(out, "extract", frames, columns, METADATA)
    return archive_members(out.getvalue())


def copied_csv(query: ExtractQuery, progress: list | None = None) -> dict[str, bytes]:
    """The extract as PostgreSQL writes it."""
    _, _, columns = query.records()
    out = io.BytesIO()
    told = progress if progress is not None else []
    rows = write_csv_copy(
        out, "extract", query, columns, METADATA, lambda done, total: told.append((done, total))
    )
    members = archive_members(out.getvalue())
    assert rows == len(list(csv.reader(io.StringIO(members["extract.csv"].decode())))) - 1
    return members


@pytest.mark.django_db
@pytest.mark.parametrize("linked", [False, True], ids=["offences", "with victims"])
def test_the_copied_csv_is_the_frames_csv_byte_for_byte(offences, linked):
    query = query_for(offences, linked=linked)

    progress = []
    copied = copied_csv(query, progress)

    assert copied == frames_csv(query)
    rows = len(list(csv.reader(io.StringIO(copied["extract.csv"].decode(), newline="")))) - 1
    assert rows > 60 if linked else rows == 60
    # Progress after each part (a supply), in rows: the earlier supply's, then the rest; of
    # the 60 offences their supplies hold in the month, as their monthly counts say.
    assert len(progress) == 2
    assert progress[-1] == (rows, 60)


@pytest.mark.django_db
def test_an_extract_comes_supply_by_supply_in_period_order_each_as_stored(offences):
    members = copied_csv(query_for(offences, linked=False))

    rows = list(csv.DictReader(io.StringIO(members["extract.csv"].decode(), newline="")))
    # No sort of the rows: the earlier supply's, then October's, each as its scan reads it.
    refs = [row["crime_ref"] for row in rows]
    earlier = 60 - EARLIER_FROM
    assert set(refs[:earlier]) == {f"CR{number}" for number in range(EARLIER_FROM, 60)}
    assert set(refs[earlier:]) == {f"CR{number}" for number in range(EARLIER_FROM)}


@pytest.mark.django_db
def test_hostile_values_come_out_neutralised_and_whole(offences):
    members = copied_csv(query_for(offences, linked=True))
    rows = list(csv.DictReader(io.StringIO(members["extract.csv"].decode(), newline="")))

    cells = {value for row in rows for value in row.values()}
    for value in ("=1+1", "+44 161 000", "-12", "@SUM(A1)", "\tindented", "\rreturned", "=", "-"):
        assert "'" + value in cells
        assert value not in cells
    assert {"'-3.5", "'=WN1", "'-WN2 2BB", "'@place", "'-41993"} <= cells  # numbers too
    kept = ["'quoted", 'say "hi"', "a,b", "line one\nline two", "mid\rcarriage", "crlf\r\nend",
            "Zoë – 中文 😀", " leading space", "\\.", "NULL", "12", "true"]  # fmt: skip
    assert set(kept) <= cells
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    # A record with two victims comes twice, once with each.
    assert {row["victim_gender"] for row in rows if row["crime_ref"] == "CR3"} == {
        "'@SUM(A1)",
        "'\tindented",
    }


@pytest.mark.django_db
def test_a_superseded_supply_s_records_stay_out_of_a_copied_extract(offences, personas):
    dataset = offences["offence"]
    olds = Supply.objects.filter(dataset=dataset)
    newer = supply_row(
        dataset=dataset, agency=olds[0].agency, uploaded_by=personas["police_supplier"],
        period_start=PERIOD[0], period_end=PERIOD[1], status="completed",
        record_count=0, accepted_count=0, rejected_count=0,
    )  # fmt: skip
    record_create(
        partnership_id=offences["partnership"], dataset=dataset, supply=newer, row_number=1,
        event_date=PERIOD[0], location_method="centroid", data={"crime_ref": "NEW1"},
    )  # fmt: skip
    olds.exclude(pk=newer.pk).update(superseded_by=newer)

    members = copied_csv(query_for(offences, linked=False))

    rows = list(csv.DictReader(io.StringIO(members["extract.csv"].decode(), newline="")))
    assert [row["crime_ref"] for row in rows] == ["NEW1"]


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(RISKY_TEXT, max_size=30))
def test_the_sql_neutralising_agrees_with_neutralise_cell(values):
    select = sql.SQL("SELECT {} FROM unnest(%s::text[]) WITH ORDINALITY AS v(value, n) ORDER BY n")
    with connection.cursor() as cursor:
        cursor.execute(select.format(neutralise_sql(sql.SQL("v.value"))), [values])
        neutralised = [value for (value,) in cursor.fetchall()]

    # Empty text comes back as NULL: both are an empty field in the CSV.
    assert neutralised == [neutralise_cell(value) if value else None for value in values]


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.none() | TEXT, st.none() | TEXT, st.none() | TEXT), min_size=1))
def test_the_frames_csv_is_pandas_csv_but_for_carriage_returns_which_it_quotes(rows):
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=object)

    text = csv_text(frame)

    if not any("\r" in (value or "") for row in rows for value in row):
        assert text == frame.to_csv(index=False, header=False)
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == [[value or "" for value in row] for row in rows]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("user", "file_format", "streamed"),
    [
        ("analyst", ExtractFormat.CSV, False),
        ("analyst", ExtractFormat.XLSX, True),
        ("associate_analyst", ExtractFormat.CSV, True),  # k-anonymity works on the rows
    ],
)
def test_only_rows_needing_work_in_python_are_streamed_through_it(
    offences, personas, monkeypatch, user, file_format, streamed
):
    from django.conf import settings as django_settings
    from redis import Redis

    from hub import celery_app
    from sharing.models import Extract

    # Queued where no worker takes it: this test runs it.
    idle_queue = f"{django_settings.CELERY_TASK_DEFAULT_QUEUE}-fast-path-idle"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", idle_queue)
    calls = []
    for name in ("stream_rows", "stream_parts"):
        real = getattr(extract_build, name)
        monkeypatch.setattr(
            extract_build, name, lambda *args, real=real: calls.append(args) or real(*args)
        )
    extract = extract_request(
        acting_user=personas[user], dataset=offences["offence"], period_start=PERIOD[0],
        period_end=PERIOD[1], file_format=file_format,
    )  # fmt: skip
    Redis.from_url(django_settings.REDIS_URL).delete(idle_queue)

    extract_build.extract_run(extract.pk)

    extract = Extract.objects.get(pk=extract.pk)
    assert extract.status == "completed", extract.failure
    assert extract.row_count == 60
    assert bool(calls) is streamed


class Recording(io.RawIOBase):
    """A target that keeps what it is given and can be told to fail on its nth write."""

    def __init__(self, fail_at: int | None = None):
        self.parts: list[bytes] = []
        self.fail_at = fail_at

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(self.parts) + 1 == self.fail_at:
            raise OSError("No space left on device")
        self.parts.append(bytes(data))
        return len(data)


def test_the_background_writer_writes_every_buffer_in_order_and_closes_its_target():
    target = Recording()
    with io.BufferedWriter(BackgroundWriter(target, depth=2), 64) as buffered:
        for number in range(2000):
            buffered.write(f"{number}\n".encode())

    assert b"".join(target.parts) == "".join(f"{n}\n" for n in range(2000)).encode()
    assert target.closed


def test_a_failed_write_in_the_background_is_raised_to_the_extract_not_lost():
    target = Recording(fail_at=3)
    writer = io.BufferedWriter(BackgroundWriter(target, depth=2), 64)
    with pytest.raises(OSError, match="No space left"), writer as buffered:
        for number in range(2000):
            buffered.write(f"{number}\n".encode())

    assert len(target.parts) == 2 and target.closed


def test_the_extracts_own_failure_is_the_one_raised_not_a_background_one_it_follows():
    target = Recording(fail_at=1)
    writer = io.BufferedWriter(BackgroundWriter(target, depth=2), 64)
    with pytest.raises(ConnectionError, match="server closed") as raised, writer as buffered:
        buffered.write(b"x" * 200)  # the background write of these fails
        time.sleep(0.2)
        raise ConnectionError("server closed the connection unexpectedly")

    assert "No space left" in " ".join(raised.value.__notes__)
    assert target.closed


@pytest.mark.django_db
def test_no_progress_total_is_given_where_the_counts_hold_more_than_the_extract_may_read(
    offences, personas
):
    query = query_for(offences, linked=False)
    police = personas["police_supplier"].memberships.get().agency

    # Done ÷ total would tell the count of the whole month, or of every agency's supplies.
    part_month = replace(query, period=(PERIOD[0] + datetime.timedelta(days=19), PERIOD[1]))
    assert part_month.parts()[1] == 0
    assert replace(query, supplying_agency_ids=[police.pk]).parts()[1] == 0
    assert replace(query, weekdays=[1]).parts()[1] == 0


@pytest.mark.django_db
def test_the_progress_total_is_what_the_monthly_counts_say_of_the_months_and_areas(
    offences, personas
):
    query = query_for(offences, linked=False)

    assert query.parts()[1] == 60
    in_wn1 = replace(query, area={"districts": ["WN1"]})
    held = Record.objects.filter(dataset=offences["offence"], postcode="WN1 1AA").count()
    assert in_wn1.parts()[1] == held == 15

    # With no counts to go by there is no total, and progress shows no figure rather than a
    # wrong one; the lease is renewed all the same.
    RecordMonthlyCount.objects.all().delete()
    assert query.parts()[1] == 0
    extract = Extract.objects.create(
        created_by=personas["analyst"], agency=personas["analyst"].memberships.get().agency,
        dataset=offences["offence"], level="record", file_format="csv",
        period_start=PERIOD[0], period_end=PERIOD[1], status=ExtractStatus.RUNNING,
    )  # fmt: skip
    extract_build._record_progress(extract, 20, 0)
    extract.refresh_from_db()
    assert extract.progress == 0 and extract.lease_until is not None
    extract_build._record_progress(extract, 20, 40)
    extract.refresh_from_db()
    assert extract.progress == 50


@pytest.mark.django_db
def test_a_copied_extract_comes_in_stored_order_where_postgresql_would_read_in_parallel(
    personas,
):
    police = personas["police_supplier"].memberships.get().agency
    dataset = Dataset.objects.get(slug="police_crime_offence")
    supply = supply_row(
        dataset=dataset, agency=police, uploaded_by=personas["police_supplier"],
        period_start=PERIOD[0], period_end=PERIOD[1], status="completed",
    )  # fmt: skip
    records_create(
        [
            dict(
                partnership_id=police.partnership_id,
                dataset=dataset,
                supply=supply,
                row_number=number,
                event_date=PERIOD[0] + datetime.timedelta(days=number % 31),
                location_method="centroid",
                data={"crime_ref": f"CR{number:06d}"},
            )  # fmt: skip
            for number in range(30_000)
        ]
    )
    free = ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size")
    # The planner told how large the table is and that parallel plans cost nothing: it then
    # reads these records in parallel, as it does a million-record supply's.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE datasets_record")
        for setting in free:
            cursor.execute(f"SET {setting} = 0")
    query = ExtractQuery(
        partnership_id=police.partnership_id, dataset=dataset, period=PERIOD, fields=["crime_ref"]
    )

    rows = list(csv.reader(io.StringIO(copied_csv(query)["extract.csv"].decode())))[1:]

    refs = [row[1] for row in rows]
    assert len(refs) == 30_000 and refs == sorted(refs)  # as they were stored
