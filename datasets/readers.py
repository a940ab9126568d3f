"""Reading a supplied file, decrypted as it streams, into chunks of text cells.

CSV (UTF-8, UTF-8 with a byte-order mark, or Windows-1252 as Excel saves it), XLSX (read-only
mode, row by row) and a CSV inside a ZIP. Every chunk is a DataFrame of strings whose index is
the row number a supplier sees in a spreadsheet (the header is row 1). A file that cannot be
read raises UnreadableFile with a message the supplier can act on.
"""

from __future__ import annotations

import codecs
import datetime
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from datasets.choices import FileFormat
from hub.crypto import open_encrypted

# Bytes that Windows-1252 leaves undefined: a file that has them is Latin-1 (ISO 8859-1).
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
# A ZIP member may expand to at most this multiple of the upload limit (a ZIP bomb does more).
_MAX_EXPANSION = 4


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class SuppliedFile:
    path: Path
    data_key: bytes
    file_format: str
    max_bytes: int


def format_from_name(filename: str) -> str:
    """The file format from its name, or UnreadableFile naming the formats accepted."""
    suffix = Path(filename).suffix.lower()
    formats = {".csv": FileFormat.CSV, ".txt": FileFormat.CSV, ".xlsx": FileFormat.XLSX}
    formats[".zip"] = FileFormat.ZIP
    if suffix == ".xls":
        raise UnreadableFile(
            "Old Excel files (.xls) are not accepted: save it as an Excel workbook (.xlsx) or CSV."
        )
    if suffix not in formats:
        raise UnreadableFile(
            f"{filename!r} is not a CSV (.csv), Excel workbook (.xlsx) or ZIP of a CSV (.zip)."
        )
    return formats[suffix]


def detect_encoding(chunks: Iterator[bytes]) -> str:
    """UTF-8 (with or without a byte-order mark) if every byte decodes as UTF-8; else
    Windows-1252, Excel's "CSV" encoding; Latin-1 if a byte undefined in Windows-1252 occurs."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = set()
    utf8 = True
    first = True
    bom = False
    for chunk in chunks:
        if first:
            bom = chunk.startswith(codecs.BOM_UTF8)
            first = False
        seen.update(_CP1252_UNDEFINED.intersection(chunk))
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
    return "latin-1" if seen else "cp1252"


def _iter_bytes(stream, size: int = 1024 * 1024) -> Iterator[bytes]:
    while block := stream.read(size):
        yield block


@contextmanager
def _zip_member(supplied: SuppliedFile):
    """The single CSV inside the ZIP, opened for streaming."""
    with open_encrypted(supplied.path, supplied.data_key) as stream:
        archive_bytes = io.BytesIO(stream.read())  # zipfile needs to seek; still compressed
    try:
        archive = zipfile.ZipFile(archive_bytes)
    except zipfile.BadZipFile as error:
        raise UnreadableFile("The ZIP file is damaged or is not a ZIP file.") from error
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        csvs = [info for info in members if info.filename.lower().endswith((".csv", ".txt"))]
        if len(members) != 1 or len(csvs) != 1:
            names = ", ".join(info.filename for info in members) or "nothing"
            raise UnreadableFile(
                f"The ZIP must hold exactly one CSV file; it holds {names}. "
                "Zip one month's CSV on its own."
            )
        member = csvs[0]
        if member.file_size > supplied.max_bytes * _MAX_EXPANSION:
            raise UnreadableFile(
                f"The CSV inside the ZIP would expand to {member.file_size // 2**20} MB, "
                "more than the hub accepts. Supply it in smaller periods."
            )
        yield lambda: _bounded(archive.open(member), supplied.max_bytes * _MAX_EXPANSION)


class _Bounded(io.RawIOBase):
    """Stops a stream that expands past its declared size (a ZIP that lies about itself)."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._remaining = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        self._remaining -= len(data)
        if self._remaining < 0:
            raise UnreadableFile("The CSV inside the ZIP expands beyond what the hub accepts.")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def _bounded(stream, limit: int) -> io.BufferedReader:
    return io.BufferedReader(_Bounded(stream, limit))


def _csv_chunks(open_bytes, chunk_rows: int) -> Iterator[pd.DataFrame]:
    with open_bytes() as stream:
        encoding = detect_encoding(_iter_bytes(stream))
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
            )
            for chunk in reader:
                if not isinstance(chunk.index, pd.RangeIndex):
                    # pandas takes surplus leading cells as an index instead of failing.
                    raise pd.errors.ParserError(
                        f"Expected {len(chunk.columns)} fields in line 2 (the first data row) "
                        "but saw more"
                    )
                chunk.index = chunk.index + 2
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


def _first_filled_row(rows) -> tuple[int, list[str]]:
    """The header: the first row with anything in it (worksheets often start with blanks)."""
    for number, values in enumerate(rows, start=1):
        if any(value not in (None, "") for value in values):
            return number, [_cell_text(value).strip() for value in values]
    raise UnreadableFile("The first worksheet is empty: it has no header row.")


def _xlsx_chunks(supplied: SuppliedFile, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import openpyxl

    with open_encrypted(supplied.path, supplied.data_key) as stream:
        workbook_bytes = io.BytesIO(stream.read())  # openpyxl needs to seek; still compressed
    try:
        workbook = openpyxl.load_workbook(workbook_bytes, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise UnreadableFile("The Excel workbook is damaged or is not an .xlsx file.") from error
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_row_number, header = _first_filled_row(rows)
        while header and header[-1] == "":
            header.pop()
        width = len(header)
        batch, first_row = [], header_row_number + 1
        for row_number, values in enumerate(rows, start=header_row_number + 1):
            cells = [_cell_text(value) for value in values[:width]]
            cells += [""] * (width - len(cells))
            batch.append(cells)
            if len(batch) == chunk_rows:
                yield pd.DataFrame(batch, columns=header, index=range(first_row, row_number + 1))
                batch, first_row = [], row_number + 1
        if batch:
            yield pd.DataFrame(
                batch, columns=header, index=range(first_row, first_row + len(batch))
            )
    finally:
        workbook.close()


def read_chunks(supplied: SuppliedFile, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file's rows as text, ``chunk_rows`` at a time, indexed by spreadsheet row number."""
    if supplied.file_format == FileFormat.XLSX:
        yield from _xlsx_chunks(supplied, chunk_rows)
    elif supplied.file_format == FileFormat.ZIP:
        with _zip_member(supplied) as open_member:
            yield from _csv_chunks(open_member, chunk_rows)
    else:
        yield from _csv_chunks(lambda: open_encrypted(supplied.path, supplied.data_key), chunk_rows)
