"""Excel-ready workbook extracts: dates, times, flags and numbers typed from the catalogue, a
frozen header with filters, fitted columns; text neutralised; streamed with no rows on disk
in plain text."""

from __future__ import annotations

import datetime
import io
import zipfile

import openpyxl
import openpyxl.worksheet._writer
import pandas as pd
import pytest

from datasets.models import Record
from sanitise.choices import LOCATION_PRECISION_M
from sharing.files import MARKING, XLSX_MAX_WIDTH, write_xlsx
from tests.sharing.test_extract_fast_path import METADATA
from tests.sharing.test_extracts import download, extract

TYPES = {
    "event_date": "date", "committed_from_time": "time", "flag_drugs": "boolean",
    "victim_age": "integer", "damage": "number", "easting": "integer",
}  # fmt: skip


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype=object)


def workbook(frames, columns, types=TYPES) -> openpyxl.Workbook:
    out = io.BytesIO()
    write_xlsx(out, iter(frames), columns, METADATA, types=types)
    return openpyxl.load_workbook(io.BytesIO(out.getvalue()))


def test_cells_take_their_columns_types():
    chunks = [
        frame(
            event_date=["2026-10-03", "2026-10-31"], committed_from_time=["23:45:00", None],
            flag_drugs=["true", "false"], victim_age=["34", "30-34"], damage=["'-12.5", "3"],
            easting=[358123, None], offence=["'=HYPERLINK(\"http://x\")", "burglary"],
        ),
        frame(
            event_date=["2026-10-04"], committed_from_time=["07:05:00"], flag_drugs=[None],
            victim_age=[None], damage=["1,5"], easting=[358000], offence=["'+44 161"],
        ),
    ]  # fmt: skip
    columns = list(chunks[0].columns)

    sheet = workbook(chunks, columns)["Data"]
    header, first, second, third = list(sheet.iter_rows())

    assert [cell.value for cell in header] == columns
    assert all(cell.font.bold for cell in header)
    date, time, flag, age, damage, easting, offence = first
    assert date.is_date and date.value == datetime.datetime(2026, 10, 3)
    assert date.number_format == "dd/mm/yyyy"
    assert time.is_date and time.value == datetime.time(23, 45) and time.number_format == "hh:mm"
    assert flag.data_type == "b" and flag.value is True
    assert second[2].value is False
    assert age.data_type == "n" and age.value == 34
    assert second[3].data_type == "s" and second[3].value == "30-34"  # an age band stays text
    assert damage.data_type == "n" and damage.value == -12.5  # a number cannot be a formula
    assert easting.data_type == "n" and easting.value == 358123
    assert second[1].value is None and second[5].value is None
    # Text stays text, neutralised: a spreadsheet shows it and never runs it.
    assert offence.data_type == "s" and offence.value == '\'=HYPERLINK("http://x")'
    assert third[6].value == "'+44 161" and third[4].value == "1,5"
    assert third[0].value == datetime.datetime(2026, 10, 4) and third[1].value.minute == 5


def test_the_header_is_frozen_with_filters_and_columns_fitted():
    long_text = "x" * 300
    chunks = [frame(event_date=["2026-10-03"], offence=[long_text], easting=[358123])]

    sheet = workbook(chunks, ["event_date", "offence", "easting"])["Data"]

    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C2"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    assert widths["A"] >= 10  # dd/mm/yyyy
    assert XLSX_MAX_WIDTH <= widths["B"] < XLSX_MAX_WIDTH + 1  # as Excel stores it, with padding
    assert 8 <= widths["C"] < 20
    assert MARKING in sheet.oddHeader.center.text


def test_text_that_reached_the_writer_unneutralised_is_still_not_a_formula():
    chunks = [frame(offence=['=HYPERLINK("http://x","click")', "@SUM(A1)"], note=["a\x01b", ""])]

    sheet = workbook(chunks, ["offence", "note"], types={})["Data"]
    (_, first, second) = list(sheet.iter_rows())

    assert first[0].data_type == "s" and first[0].value == '\'=HYPERLINK("http://x","click")'
    assert second[0].value == "'@SUM(A1)"
    assert first[1].value == "ab"  # a control character XML cannot carry
    assert second[1].value is None


def test_an_empty_extract_is_a_header_with_filters():
    book = workbook([], ["event_date", "offence"])

    sheet = book["Data"]
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["event_date", "offence"]
    ]
    assert sheet.auto_filter.ref == "A1:B1"
    assert book["Metadata"]["A1"].value == MARKING


def test_the_metadata_sheet_runs_no_formula():
    metadata = {**METADATA, "supplies": [{
        "dataset": "Offences", "agency": "Police", "period": "October", "supplied": "today",
        "caveats": "see below\n=cmd|' /C calc'!A0",
    }]}  # fmt: skip
    out = io.BytesIO()
    write_xlsx(out, iter([]), ["event_date"], metadata)

    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["Metadata"]
    lines = [row[0].value for row in sheet.iter_rows() if row[0].value]
    assert "'=cmd|' /C calc'!A0" in lines
    assert all(row[0].data_type != "f" for row in sheet.iter_rows())


def test_no_row_is_written_to_a_temporary_file(monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    chunks = [frame(offence=["Acacia Avenue"] * 2000) for _ in range(3)]

    book = workbook(chunks, ["offence"], types={})

    assert book["Data"].max_row == 6001
    assert list(tmp_path.iterdir()) == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_offence_workbook_is_typed_from_the_catalogue(api_client, supplied):
    state = extract(
        api_client, supplied["analyst"], dataset="police_crime_offence", format="xlsx",
    )  # fmt: skip
    assert state["status"] == "completed"
    content = download(api_client, state)
    assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None

    sheet = openpyxl.load_workbook(io.BytesIO(content))["Data"]
    header, *rows = list(sheet.iter_rows())
    names = [cell.value for cell in header]
    column = {name: number for number, name in enumerate(names)}
    assert len(rows) == Record.objects.filter(dataset__slug="police_crime_offence").count()
    assert names.index("location_precision_m") == names.index("location_method") + 1
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")

    def cells(name):
        return [row[column[name]] for row in rows if row[column[name]].value is not None]

    assert all(c.is_date and c.number_format == "dd/mm/yyyy" for c in cells("event_date"))
    assert cells("committed_from_date")
    assert all(c.is_date and c.number_format == "dd/mm/yyyy" for c in cells("committed_from_date"))
    assert cells("committed_from_time")
    assert all(c.is_date and c.number_format == "hh:mm" for c in cells("committed_from_time"))
    assert cells("flag_domestic") and all(c.data_type == "b" for c in cells("flag_domestic"))
    assert all(c.data_type == "n" for c in cells("easting") + cells("northing"))
    assert all(c.data_type == "s" for c in cells("crime_ref"))
    for row in rows:
        method, precision = row[column["location_method"]], row[column["location_precision_m"]]
        assert precision.value == LOCATION_PRECISION_M[method.value], method.value
