import io
import zipfile

import openpyxl
import pytest

from datasets.choices import FileFormat
from datasets.readers import ROWS_EXPECTED, read_chunks
from datasets.supplied import SuppliedFile, UnreadableFile, format_from_name
from hub.crypto import new_data_key, write_encrypted

HEADER = "crime_ref,address,ho_offence_code\r\n"


def supplied(tmp_path, content: bytes, file_format=FileFormat.CSV, max_bytes=10**7):
    key = new_data_key()
    path = tmp_path / "raw.enc"
    write_encrypted(path, content, key)
    return SuppliedFile(path=path, data_key=key, file_format=file_format, max_bytes=max_bytes)


def rows(file, chunk_rows=1000):
    return [chunk for chunk in read_chunks(file, chunk_rows=chunk_rows)]


def test_utf8_with_a_byte_order_mark_reads_clean_headers_and_accents(tmp_path):
    content = "\ufeff" + HEADER + "CR1,1 Rue Café,028/01\r\n"
    (chunk,) = rows(supplied(tmp_path, content.encode("utf-8")))
    assert list(chunk.columns) == ["crime_ref", "address", "ho_offence_code"]
    assert chunk.loc[2, "address"] == "1 Rue Café"


def test_windows_1252_from_excel_is_detected_not_garbled(tmp_path):
    content = HEADER + "CR1,O’Neill’s Bar – £5,028/01\r\n"
    (chunk,) = rows(supplied(tmp_path, content.encode("cp1252")))
    assert chunk.loc[2, "address"] == "O’Neill’s Bar – £5"


def test_latin_1_with_bytes_windows_1252_lacks_is_read_as_latin_1(tmp_path):
    content = HEADER.encode() + b"CR1,caf\xe9 \x81,028/01\r\n"
    (chunk,) = rows(supplied(tmp_path, content))
    assert chunk.loc[2, "address"] == "café \x81"


def test_rows_are_numbered_as_in_a_spreadsheet_across_chunks(tmp_path):
    content = HEADER + "".join(f"CR{i},x,028/01\r\n" for i in range(5))
    chunks = rows(supplied(tmp_path, content.encode()), chunk_rows=2)
    assert [list(chunk.index) for chunk in chunks] == [[2, 3], [4, 5], [6]]


def test_an_xlsx_reads_dates_and_numbers_as_a_supplier_typed_them(tmp_path):
    import datetime

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([])
    sheet.append(["crime_ref", "committed_from_date", "casualties"])
    sheet.append(["CR1", datetime.datetime(2026, 3, 4), 2.0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    (chunk,) = rows(supplied(tmp_path, buffer.getvalue(), FileFormat.XLSX))
    assert chunk.loc[3].to_dict() == {
        "crime_ref": "CR1",
        "committed_from_date": "2026-03-04",
        "casualties": "2",
    }


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_csv_inside_a_zip_is_read(tmp_path):
    content = _zip({"march.csv": (HEADER + "CR1,x,028/01\r\n").encode()})
    (chunk,) = rows(supplied(tmp_path, content, FileFormat.ZIP))
    assert chunk.loc[2, "crime_ref"] == "CR1"


def test_a_zip_of_several_files_is_refused_by_name(tmp_path):
    content = _zip({"a.csv": HEADER.encode(), "b.csv": HEADER.encode()})
    with pytest.raises(UnreadableFile, match="exactly one CSV file; it holds a.csv, b.csv"):
        rows(supplied(tmp_path, content, FileFormat.ZIP))


def test_a_zip_that_expands_far_beyond_the_limit_is_refused(tmp_path):
    content = _zip({"bomb.csv": HEADER.encode() + b"0" * 5_000_000})
    with pytest.raises(UnreadableFile, match="expand"):
        rows(supplied(tmp_path, content, FileFormat.ZIP, max_bytes=100_000))


def test_a_ragged_csv_is_refused_with_the_line(tmp_path):
    content = HEADER + "CR1,x,028/01,extra,more\r\n"
    with pytest.raises(UnreadableFile, match="line 2"):
        rows(supplied(tmp_path, content.encode()))


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(UnreadableFile, match="empty"):
        rows(supplied(tmp_path, b""))


def test_a_header_only_file_gives_its_header_and_no_rows(tmp_path):
    chunks = rows(supplied(tmp_path, HEADER.encode()))
    assert sum(len(chunk) for chunk in chunks) == 0
    assert list(chunks[0].columns) == ["crime_ref", "address", "ho_offence_code"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Crimes March.CSV", "csv"), ("x.xlsx", "xlsx"), ("x.zip", "zip")],
)
def test_the_format_comes_from_the_name(name, expected):
    assert format_from_name(name) == expected


@pytest.mark.parametrize(("name", "message"), [("x.xls", "save it as"), ("x.pdf", "is not a CSV")])
def test_other_formats_are_refused_with_what_to_do(name, message):
    with pytest.raises(UnreadableFile, match=message):
        format_from_name(name)


def test_a_ragged_csv_is_refused_when_a_later_row_is_too_long(tmp_path):
    content = HEADER + "CR1,x,028/01\r\nCR2,x,028/01,extra\r\n"
    with pytest.raises(UnreadableFile, match="line 3"):
        rows(supplied(tmp_path, content.encode()))


def offences_header_finder():
    from datasets.catalogue import read_catalogue
    from datasets.headers import header_finder

    [schema] = [schema for schema in read_catalogue() if schema.slug == "police_crime_offence"]
    return header_finder(schema)


def test_a_csv_with_a_title_above_its_header_finds_the_header_itself(tmp_path):
    content = (
        "Wigan and Leigh recorded crime,,\r\nExtracted 03/11/2026,,\r\n,,\r\n"
        "Crime Number,HO Offence Code,Date Committed From\r\nCR1,8N,01/10/2026\r\n"
        "CR2,105A,02/10/2026\r\n"
    )
    chunks = list(
        read_chunks(
            supplied(tmp_path, content.encode()),
            chunk_rows=1000,
            find_header=offences_header_finder(),
        )
    )
    [chunk] = chunks
    assert list(chunk.columns) == ["Crime Number", "HO Offence Code", "Date Committed From"]
    # Rows keep the numbers the supplier sees in their spreadsheet.
    assert list(chunk.index) == [5, 6] and chunk.loc[5, "Crime Number"] == "CR1"
    assert chunk.attrs["header_row"] == 4


def test_an_xlsx_with_a_title_row_finds_the_header_and_keeps_its_rows(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Greater Manchester Police: crimes, October 2026"])
    sheet.append([])
    sheet.append(["Crime Number", "HO Offence Code", "Date Committed From"])
    sheet.append(["CR1", "8N", "01/10/2026"])
    sheet.append(["CR2", "105A", "02/10/2026"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    [chunk] = list(
        read_chunks(
            supplied(tmp_path, buffer.getvalue(), FileFormat.XLSX),
            chunk_rows=1000,
            find_header=offences_header_finder(),
        )
    )

    assert list(chunk.columns) == ["Crime Number", "HO Offence Code", "Date Committed From"]
    assert list(chunk.index) == [4, 5] and chunk.attrs["header_row"] == 3


def test_without_a_header_finder_the_first_row_is_the_header(tmp_path):
    content = "Title\r\ncrime_ref\r\nCR1\r\n"
    [chunk] = rows(supplied(tmp_path, content.encode()))
    assert list(chunk.columns) == ["Title"] and chunk.attrs["header_row"] == 1


def rows_expected(file, chunk_rows) -> list[int]:
    return [chunk.attrs[ROWS_EXPECTED] for chunk in read_chunks(file, chunk_rows=chunk_rows)]


@pytest.mark.parametrize("file_format", [FileFormat.CSV, FileFormat.ZIP])
def test_each_chunk_says_how_many_rows_the_csv_seems_to_hold(tmp_path, file_format):
    lines = "".join(f"CR{i:06d},{i % 90 + 1} Mill Lane,028/01\r\n" for i in range(100_000))
    content = (HEADER + lines).encode()
    if file_format == FileFormat.ZIP:
        content = _zip({"offences.csv": content})

    expected = rows_expected(supplied(tmp_path, content, file_format), chunk_rows=10_000)

    assert len(expected) == 10 and len(set(expected)) == 1
    assert expected[0] == pytest.approx(100_000, rel=0.01)


def test_each_chunk_says_how_many_rows_the_workbook_declares(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["crime_ref", "address", "ho_offence_code"])
    for number in range(3000):
        sheet.append([f"CR{number}", "1 Mill Lane", "028/01"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    file = supplied(tmp_path, buffer.getvalue(), FileFormat.XLSX)
    assert rows_expected(file, 500) == [3000] * 6
