"""Reading a supplied file, decrypted as it streams, into chunks of text cells.

CSV (UTF-8, UTF-8 with a byte-order mark, or Windows-1252 as Excel saves it), XLSX (read-only
mode, row by row), a CSV inside a ZIP (the ZIP checked by ``datasets.archives``) and an XML
submission (``datasets.xml_reader``, whose rows are numbered by record instead). Every
chunk is a DataFrame of strings whose index is the row number a supplier sees in a spreadsheet
(the header is row 1). A file that cannot be read raises UnreadableFile with a message the
supplier can act on.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from itertools import chain

import pandas as pd

from datasets.archives import check_expansion, zip_member
from datasets.choices import FileFormat
from datasets.supplied import SuppliedFile, UnreadableFile
from datasets.xml_reader import XmlLayout, xml_chunks
from hub.crypto import open_encrypted

# Bytes that Windows-1252 leaves undefined: a file that has them is Latin-1 (ISO 8859-1).
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
# No dataset has a hundred fields; a header far wider, or a header cell far longer, is not one.
MAX_COLUMNS = 1000
MAX_HEADER_LENGTH = 500
_MAX_HEADER_CHARS = MAX_COLUMNS * (MAX_HEADER_LENGTH + 3)
# A chunk holds at most this many cells, however wide its rows.
_MAX_CHUNK_CELLS = 10_000_000
# The header may follow a title or notes: it is looked for among the first rows.
HEADER_SEARCH_ROWS = 20
HEADER_ROW = "header_row"
# How many rows the file seems to hold, where that can be told before its end: told from
# the text's size and the first chunk's bytes per row, or a workbook's declared size.
ROWS_EXPECTED = "rows_expected"
# Picks the header among the first rows (their cells as text): the index of the one chosen.
HeaderFinder = Callable[[list[list[str]]], int]
# A UTF-8 encoded character of two, three or four bytes.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def detect_encoding(chunks: Iterator[bytes]) -> str:
    """UTF-8 (with or without a byte-order mark) if every byte decodes as UTF-8; else
    Windows-1252, Excel's "CSV" encoding; Latin-1 if a byte undefined in Windows-1252 occurs.

    UnreadableFile for what no encoding makes a CSV of: NUL bytes (binary, or UTF-16), or
    UTF-8 mixed with another encoding (either reading would garble part of it)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = False
    utf8 = True
    first = True
    bom = False
    multibyte = False
    for chunk in chunks:
        if first:
            bom = chunk.startswith(codecs.BOM_UTF8)
            first = False
        if b"\x00" in chunk:
            raise UnreadableFile(
                "The file is not a CSV: it holds NUL bytes, as binary files (and text saved as "
                'UTF-16 or "Unicode text") do. Save it from your system or Excel as "CSV UTF-8" '
                "and supply that file."
            )
        # Both searches look for bytes above 127: a plain ASCII block (the usual) has none.
        if not chunk.isascii():
            multibyte = multibyte or _UTF8_MULTIBYTE.search(chunk) is not None
            seen = seen or _CP1252_UNDEFINED.search(chunk) is not None
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if utf8:
        return "utf-8-sig" if bom else "utf-8"
    if multibyte:
        raise UnreadableFile(
            "The file mixes character encodings: some of it is UTF-8 and some is not, so "
            "accented letters and symbols such as £ would be garbled. Save the whole file again "
            'as "CSV UTF-8" and supply that file.'
        )
    return "latin-1" if seen else "cp1252"


def _iter_bytes(stream, size: int = 1024 * 1024) -> Iterator[bytes]:
    while block := stream.read(size):
        yield block


def _check_header(names: list[str]) -> None:
    """UnreadableFile for a header no dataset could have: too wide, or a name too long."""
    if len(names) > MAX_COLUMNS:
        raise UnreadableFile(
            f"The header row has {len(names):,} columns; the hub reads at most {MAX_COLUMNS:,}. "
            "Remove the columns the dataset does not have (its CSV template lists those it has)."
        )
    longest = max(names, key=len, default="")
    if len(longest) > MAX_HEADER_LENGTH:
        raise UnreadableFile(
            f"Column {names.index(longest) + 1} of the header row is {len(longest):,} characters "
            "long, too long to be a column name: is the first row the header? Put the column "
            "names (as in the dataset's CSV template) in the first row."
        )


def _csv_header(open_bytes, encoding: str, find_header: HeaderFinder) -> tuple[int, int]:
    """The header's line (0 for the first) and its number of columns, checked before any
    rows are parsed. The first lines alone, by the csv module: pandas takes seconds over a
    header a hundred thousand wide."""
    with open_bytes() as stream:
        start = io.TextIOWrapper(stream, encoding=encoding, newline="").read(_MAX_HEADER_CHARS)
    lines = io.StringIO(start)
    truncated = len(start) == _MAX_HEADER_CHARS
    rows: list[list[str]] = []
    too_long = UnreadableFile(
        f"The first row is over {_MAX_HEADER_CHARS:,} characters long, too long to be a "
        "header. Put the column names (as in the dataset's CSV template) in the first row, "
        "and check that every quote is closed."
    )
    try:
        for row in csv.reader(lines):
            if truncated and lines.tell() == len(start):
                # The row runs to the end of the text read, so it may be cut short.
                if not rows:
                    raise too_long
                break
            rows.append(row)
            if len(rows) == HEADER_SEARCH_ROWS:
                break
    except csv.Error as error:  # a cell longer than the csv module takes
        if not rows:
            raise too_long from error
    line = find_header(rows) if rows else 0
    header = rows[line] if rows else []
    _check_header(header)
    return line, max(len(header), 1)


def _next_chunk(reader, width: int) -> pd.DataFrame | None:
    """The reader's next chunk, or None at the end. A first data row longer than the header
    is an error: with index_col=False pandas would only warn and drop its surplus cells."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return next(reader, None)
        except pd.errors.ParserWarning as warning:
            raise pd.errors.ParserError(
                f"Expected {width} fields in line 2 (the first data row) but saw more"
            ) from warning


def _rows_expected(first: pd.DataFrame, size: int) -> int:
    """A CSV's rows, told from its size and its first chunk's bytes per row (its cells, their
    separators and the line's end)."""
    characters = sum(int(first[column].str.len().sum()) for column in first.columns)
    per_row = characters / max(len(first), 1) + len(first.columns) + 1
    return max(int(size / per_row), len(first))


def _csv_chunks(
    open_bytes, chunk_rows: int, find_header: HeaderFinder, *, size: int
) -> Iterator[pd.DataFrame]:
    """The CSV's chunks; ``size`` is its length in bytes, for each chunk's ROWS_EXPECTED."""
    with open_bytes() as stream:
        encoding = detect_encoding(_iter_bytes(stream))
    header_line, width = _csv_header(open_bytes, encoding, find_header)
    chunk_rows = max(1, min(chunk_rows, _MAX_CHUNK_CELLS // width))
    expected = None
    with open_bytes() as stream:
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            reader = pd.read_csv(
                text,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                chunksize=chunk_rows,
                skipinitialspace=False,
                on_bad_lines="error",
                index_col=False,  # surplus leading cells are never an index
                skiprows=header_line,  # a title above the header
            )
            while (chunk := _next_chunk(reader, width)) is not None:
                chunk.index = chunk.index + header_line + 2
                chunk.attrs[HEADER_ROW] = header_line + 1
                expected = expected or _rows_expected(chunk, size)
                chunk.attrs[ROWS_EXPECTED] = expected
                yield chunk
        except pd.errors.EmptyDataError as error:
            raise UnreadableFile("The file is empty: it has no header row.") from error
        except pd.errors.ParserError as error:
            raise UnreadableFile(
                f"The file is not a well-formed CSV ({error}). Check that every row has the "
                "same number of columns as the header and that quotes are closed."
            ) from error


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet_header(rows, find_header: HeaderFinder) -> tuple[int, list[str], list[tuple]]:
    """The header's row number and names, and the rows read past it that are data. The
    header is the row ``find_header`` picks among the first filled rows (worksheets often
    start with blanks, a title or notes)."""
    filled: list[tuple[int, tuple]] = []
    for number, values in enumerate(rows, start=1):
        if any(value not in (None, "") for value in values):
            filled.append((number, values))
            if len(filled) == HEADER_SEARCH_ROWS:
                break
    if not filled:
        raise UnreadableFile("The first worksheet is empty: it has no header row.")
    texts = [[_cell_text(value).strip() for value in values] for _number, values in filled]
    chosen = find_header(texts)
    return filled[chosen][0], texts[chosen], filled[chosen + 1 :]


# What openpyxl and zipfile raise on a damaged or malformed workbook (XML errors are
# SyntaxErrors; expat refuses entity expansion bombs with one).
_XLSX_ERRORS = (
    zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, IndexError, TypeError,
    ValueError, SyntaxError,
)  # fmt: skip


def _xlsx_chunks(
    supplied: SuppliedFile, chunk_rows: int, find_header: HeaderFinder
) -> Iterator[pd.DataFrame]:
    import openpyxl

    with open_encrypted(supplied.path, supplied.data_key) as stream:
        workbook_bytes = io.BytesIO(stream.read())  # openpyxl needs to seek; still compressed
    damaged = "The Excel workbook is damaged or is not an .xlsx file."
    try:
        with zipfile.ZipFile(workbook_bytes) as archive:
            check_expansion(archive, max_bytes=supplied.max_bytes, what="The Excel workbook")
        workbook = openpyxl.load_workbook(workbook_bytes, read_only=True, data_only=True)
    except UnreadableFile:
        raise
    except _XLSX_ERRORS as error:
        raise UnreadableFile(damaged) from error
    try:
        sheet = workbook.worksheets[0]
        # The sheet's declared size tells the progress only: it may claim millions.
        declared_rows = sheet.max_row
        # The rows actually there, not the sheet's declared size.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        header_row_number, header, read_past = _sheet_header(rows, find_header)
        while header and header[-1] == "":
            header.pop()
        _check_header(header)
        width = len(header)
        chunk_rows = max(1, min(chunk_rows, _MAX_CHUNK_CELLS // max(width, 1)))

        def chunk(batch, numbers) -> pd.DataFrame:
            frame = pd.DataFrame(batch, columns=header, index=numbers)
            frame.attrs[HEADER_ROW] = header_row_number
            if declared_rows:
                frame.attrs[ROWS_EXPECTED] = max(declared_rows - header_row_number, 0)
            return frame

        batch, numbers = [], []
        following = read_past[-1][0] + 1 if read_past else header_row_number + 1
        for row_number, values in chain(read_past, enumerate(rows, start=following)):
            cells = [_cell_text(value) for value in values[:width]]
            if not any(cells):
                continue  # blank rows are skipped, as in a CSV
            cells += [""] * (width - len(cells))
            batch.append(cells)
            numbers.append(row_number)
            if len(batch) == chunk_rows:
                yield chunk(batch, numbers)
                batch, numbers = [], []
        if batch:
            yield chunk(batch, numbers)
    except UnreadableFile:
        raise
    except _XLSX_ERRORS as error:
        raise UnreadableFile(damaged) from error
    finally:
        workbook.close()


def _first_row(rows: list[list[str]]) -> int:
    return 0


def read_chunks(
    supplied: SuppliedFile,
    *,
    chunk_rows: int,
    find_header: HeaderFinder = _first_row,
    xml_layout: XmlLayout | None = None,
) -> Iterator[pd.DataFrame]:
    """The file's rows as text, ``chunk_rows`` at a time, indexed by spreadsheet row number.

    The header is the row ``find_header`` picks (by its index) among the first
    HEADER_SEARCH_ROWS rows; rows above it are skipped, and each chunk's
    ``attrs[HEADER_ROW]`` says which row it was. An XML submission's records are read as
    ``xml_layout`` says (by default, every group of values is a record)."""
    if supplied.file_format == FileFormat.XML:
        yield from xml_chunks(
            lambda: open_encrypted(supplied.path, supplied.data_key),
            max_bytes=supplied.max_bytes,
            chunk_rows=chunk_rows,
            layout=xml_layout or XmlLayout(),
        )
    elif supplied.file_format == FileFormat.XLSX:
        yield from _xlsx_chunks(supplied, chunk_rows, find_header)
    elif supplied.file_format == FileFormat.ZIP:
        with zip_member(supplied) as (open_member, size):
            yield from _csv_chunks(open_member, chunk_rows, find_header, size=size)
    else:
        yield from _csv_chunks(
            lambda: open_encrypted(supplied.path, supplied.data_key),
            chunk_rows,
            find_header,
            # The encrypted file's size: its plaintext's, and a few bytes in ten thousand.
            size=supplied.path.stat().st_size,
        )
