"""Property-based tests of reading and validation: on any bytes and any cell text, the reader
gives text chunks or UnreadableFile and validation gives accepted and rejected rows, never any
other exception; rows a spreadsheet would write come back exactly as written."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from datasets.catalogue import read_catalogue
from datasets.choices import FileFormat
from datasets.readers import read_chunks
from datasets.supplied import SuppliedFile, UnreadableFile
from datasets.validation import validate_chunk
from hub.crypto import new_data_key, write_encrypted

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_names = itertools.count()


@pytest.fixture
def stored(tmp_path):
    """Encrypts ``content`` as an upload would be, and gives the SuppliedFile to read it."""

    def store(content: bytes, file_format=FileFormat.CSV) -> SuppliedFile:
        key = new_data_key()
        path = tmp_path / f"{next(_names)}.enc"
        write_encrypted(path, content, key)
        return SuppliedFile(path=path, data_key=key, file_format=file_format, max_bytes=10**6)

    return store


def read_all(supplied: SuppliedFile) -> list[pd.DataFrame] | None:
    """The chunks, or None for UnreadableFile; anything else raised fails the test."""
    try:
        return list(read_chunks(supplied, chunk_rows=7))
    except UnreadableFile as error:
        assert str(error)  # a message the supplier can act on, never an empty one
        return None


def assert_text_chunks(chunks: list[pd.DataFrame]) -> None:
    rows = [number for chunk in chunks for number in chunk.index]
    assert rows == sorted(set(rows)) and all(number >= 2 for number in rows)
    for chunk in chunks:
        assert all(isinstance(value, str) for value in chunk.to_numpy().ravel())


@FUZZ
@given(content=st.binary(max_size=2000))
@example(content=b"")
@example(content=b"\xef\xbb\xbf")
@example(content=b'a,b\r\n"1,2\r\n')
@example(content=b"a,b\r\n1,2,3,4\r\n")
@example(content=b"\xff\xfea\x00,\x00b\x00")
def test_any_bytes_read_as_text_chunks_or_unreadable(stored, content):
    chunks = read_all(stored(content))
    if chunks is not None:
        assert_text_chunks(chunks)


@FUZZ
@given(
    lines=st.lists(
        st.text(alphabet=st.sampled_from(list(',"\r\n\t ;ab£é€\x81\\')), max_size=40),
        max_size=12,
    )
)
def test_csv_like_text_reads_as_text_chunks_or_unreadable(stored, lines):
    for encoding in ("utf-8", "cp1252"):
        content = "\r\n".join(lines).encode(encoding, errors="replace")
        chunks = read_all(stored(content))
        if chunks is not None:
            assert_text_chunks(chunks)


@FUZZ
@given(content=st.binary(max_size=600))
def test_any_bytes_in_a_zip_or_posing_as_a_workbook_are_read_or_unreadable(stored, content):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("october.csv", content)
    for supplied in (stored(buffer.getvalue(), FileFormat.ZIP), stored(content, FileFormat.XLSX)):
        chunks = read_all(supplied)
        if chunks is not None:
            assert_text_chunks(chunks)


# Cells as a spreadsheet could hold them: any printable text, quotes, commas and line breaks
# included (a CSV quotes them), but no NUL, which a CSV never has.
cell = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30
)


@FUZZ
@given(
    header=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
        min_size=1, max_size=6, unique=True,
    ),
    body=st.lists(st.lists(cell, min_size=6, max_size=6), max_size=20),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
)  # fmt: skip
def test_rows_written_as_csv_come_back_cell_for_cell(stored, header, body, encoding):
    # A key cell, so that no row is blank (blank lines are skipped, as they should be).
    rows = [[f"R{number}", *cells[: len(header) - 1]] for number, cells in enumerate(body)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])

    chunks = read_all(stored(buffer.getvalue().encode(encoding)))

    assert chunks is not None
    read = pd.concat(chunks) if chunks else pd.DataFrame(columns=header)
    assert list(read.columns) == header
    assert read.to_numpy().tolist() == rows
    assert list(read.index) == list(range(2, 2 + len(rows)))


SCHEMAS = {schema.slug: schema for schema in read_catalogue()}
TODAY = datetime.date(2026, 11, 15)
PERIOD = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))


@FUZZ
@given(
    slug=st.sampled_from(sorted(SCHEMAS)),
    values=st.lists(
        st.one_of(cell, st.sampled_from(["", "NULL", "31/02/2026", "2026-10-01", "25:61", "Y",
                                         "1e309", "-0", "NaN", "028/01", "  7  ", "=1+1"])),
        min_size=1, max_size=80,
    ),
)  # fmt: skip
def test_validation_of_any_cell_text_accepts_or_rejects_each_row(slug, values):
    schema = SCHEMAS[slug]
    names = schema.field_names
    width = len(names)
    rows = [
        [values[(row * width + column) % len(values)] for column in range(width)]
        for row in range(max(1, len(values) // width))
    ]
    chunk = pd.DataFrame(rows, columns=names, index=range(2, 2 + len(rows)), dtype=object)

    result = validate_chunk(chunk, schema, missing_values=["", "NULL"], today=TODAY, period=PERIOD)

    rejected = set(result.errors["row"])
    assert set(result.accepted.index) | rejected == set(chunk.index)
    assert not set(result.accepted.index) & rejected
    assert set(result.errors["field"]) <= set(names)
    assert all(isinstance(message, str) and message for message in result.errors["message"])
    assert list(result.rejected.index) == sorted(rejected)
