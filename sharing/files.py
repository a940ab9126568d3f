"""The extract's files: CSV (zipped with its metadata), XLSX and GeoJSON. Every file
carries the protective marking and conditions of use; cells that a spreadsheet would run as
a formula are neutralised before they reach a writer.
"""

from __future__ import annotations

import datetime
import io
import itertools
import json
import queue
import re
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
from django.db import connection
from psycopg2 import sql

from datasets.spreadsheets import neutralise_cell, neutralise_formulas
from sharing.reading import scans_in_stored_order
from sharing.records import ExtractQuery, ExtractRefused

MARKING = "OFFICIAL-SENSITIVE / RESTRICTED — CSP use only"
# Fields with these characters are quoted in the CSV, as PostgreSQL's COPY quotes them.
_CSV_QUOTED = r'[,"\r\n]'
# Deflate's fastest level: the CSV deflates almost as well, in a fraction of the time.
ZIP_LEVEL = 1
# Bytes the COPY's rows gather in before they go to the compressor, a call per row apart.
COPY_BUFFER = 1 << 20
# Buffers waiting for the compressor while PostgreSQL goes on writing rows.
COMPRESS_QUEUE_DEPTH = 4


def metadata_text(metadata: dict) -> str:
    lines = [metadata["marking"], "", *metadata["conditions"], ""]
    for key in ("extract_id", "dataset", "level", "period", "area", "extracted_by", "extracted_at"):
        lines.append(f"{key.replace('_', ' ').capitalize()}: {metadata[key]}")
    if metadata.get("disclosure"):
        lines += ["", "Disclosure control: " + metadata["disclosure"]]
    lines += ["", "Fields:"]
    lines += [f"  {f['name']}: {f['description']}" for f in metadata["fields"]]
    lines += ["", "Supplies the rows come from:"]
    for supply in metadata["supplies"]:
        line = (
            f"  {supply['dataset']} from {supply['agency']}, {supply['period']}, "
            f"supplied {supply['supplied']}"
        )
        lines.append(line + (f". Caveats: {supply['caveats']}" if supply["caveats"] else ""))
    lines += ["", metadata["attribution"], ""]
    return "\n".join(lines)


def csv_text(frame: pd.DataFrame) -> str:
    """The frame's rows as CSV lines, written as PostgreSQL's COPY writes them (RFC 4180):
    a field with a comma, quote, CR or LF quoted, quotes doubled, missing values empty."""
    if frame.empty:
        return ""
    cells = []
    for column in frame.columns:
        text = frame[column].astype("str")  # missing values stay missing
        quoted = '"' + text.str.replace('"', '""', regex=False) + '"'
        needs_quotes = text.str.contains(_CSV_QUOTED, regex=True).fillna(False).astype(bool)
        cells.append(quoted.where(needs_quotes, text).fillna(""))
    lines = cells[0].str.cat(cells[1:], sep=",") if len(cells) > 1 else cells[0]
    return "\n".join(lines) + "\n"


def _csv_archive(out) -> zipfile.ZipFile:
    return zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)


def write_csv_zip(
    out, base_name: str, frames: Iterator[pd.DataFrame], columns: list[str], metadata: dict
) -> int:
    """A ZIP of the CSV (header of field names, no marking inside it so parsers are not
    broken) and its metadata file with the marking."""
    rows = 0
    with _csv_archive(out) as archive:
        with archive.open(f"{base_name}.csv", "w", force_zip64=True) as member:
            member.write(csv_text(pd.DataFrame([columns])).encode())
            for frame in frames:
                member.write(csv_text(frame).encode())
                rows += len(frame)
        archive.writestr(f"{base_name}_METADATA.txt", metadata_text(metadata))
    return rows


class BackgroundWriter(io.RawIOBase):
    """Writes what it is given to ``target`` on a thread of its own, so that compressing and
    encrypting one buffer (zlib lets other threads run meanwhile) overlaps reading the next
    from PostgreSQL. At most ``depth`` buffers wait; closing waits for the last and closes
    ``target``.

    A failure writing in the background is raised by the next write or by closing, unless the
    caller is already failing (closing on its way out): its own error is the one that counts,
    so the background one is only noted on it.
    """

    def __init__(self, target, *, depth: int = COMPRESS_QUEUE_DEPTH):
        self._target = target
        self._buffers: queue.Queue[bytes | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="extract-compress", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._error is not None:
            if sys.exc_info()[1] is None:
                raise self._error
            return len(data)  # the file is being given up: nothing more to write
        self._buffers.put(bytes(data))  # the caller reuses its buffer
        return len(data)

    def _drain(self) -> None:
        while (data := self._buffers.get()) is not None:
            if self._error is None:  # after a failure, keep taking buffers so no put blocks
                try:
                    self._target.write(data)
                except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
                    self._error = error

    def close(self) -> None:
        if self.closed:
            return
        self._buffers.put(None)
        self._thread.join()
        super().close()
        failing = sys.exc_info()[1]
        problems = [self._error] if self._error is not None else []
        try:
            self._target.close()
        except Exception as error:
            problems.append(error)
        if problems and failing is None:
            raise problems[0]
        for problem in problems:
            failing.add_note(f"Writing the file had also failed: {problem!r}")


def write_csv_copy(
    out,
    base_name: str,
    query: ExtractQuery,
    columns: list[str],
    metadata: dict,
    progress: Callable[[int, int], None],
) -> int:
    """write_csv_zip for rows that need no work in Python: PostgreSQL writes the CSV (see
    ExtractQuery.csv_records) and COPY streams it into the archive, one part (a supply) at a
    time so that ``progress`` (rows done, rows in all) is told between parts. The archive
    compresses on a thread of its own (BackgroundWriter) while COPY goes on."""
    parts, total = query.parts()
    rows = 0
    with _csv_archive(out) as archive:
        member = archive.open(f"{base_name}.csv", "w", force_zip64=True)
        # psycopg2 writes each row with a call of its own: buffered, the compressor gets
        # them a megabyte at a time.
        compressing = BackgroundWriter(member)
        with (
            io.BufferedWriter(compressing, COPY_BUFFER) as buffered,
            scans_in_stored_order(),
            connection.cursor() as cursor,
        ):
            buffered.write(csv_text(pd.DataFrame([columns])).encode())
            for part in parts:
                select, params, _ = part.csv_records()
                copy = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(select)
                # COPY takes no parameters: psycopg2 binds them into the statement.
                statement = cursor.mogrify(copy, params).decode()
                with connection.wrap_database_errors:
                    cursor.copy_expert(statement, buffered)
                rows += cursor.rowcount
                progress(rows, total)
        archive.writestr(f"{base_name}_METADATA.txt", metadata_text(metadata))
    return rows


# Excel's most rows in a sheet, less the header.
XLSX_MAX_ROWS = 1_048_575
# Column widths, in characters: fitted to the header and the first chunk's values, within these.
XLSX_MIN_WIDTH, XLSX_MAX_WIDTH = 8, 50
XLSX_FORMATS = {"date": "dd/mm/yyyy", "time": "hh:mm"}
_XLSX_FIXED_WIDTHS = {"date": 10, "time": 5, "boolean": 5}
# Control characters XML cannot carry; openpyxl refuses a cell that holds one.
_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
# The apostrophe neutralise_formulas puts before a value that starts like a formula.
_NEUTRALISED = r"^'(?=[=+\-@\t\r])"


def write_xlsx(
    out,
    frames: Iterator[pd.DataFrame],
    columns: list[str],
    metadata: dict,
    types: dict[str, str] | None = None,
) -> int:
    """A workbook with the data and a metadata sheet; the marking in every page header.

    ``types`` gives columns their catalogue type (date, time, boolean, integer, number): they
    become Excel dates (dd/mm/yyyy), times (hh:mm), TRUE/FALSE and numbers; a value that does
    not read as its type (an age band after k-anonymity) stays text, as does every other
    column, with formulas neutralised. The header is frozen, with filters; columns are fitted
    to the header and the first chunk of rows.

    Built in memory, so that no temporary file of the rows lies on disk in plain text.
    """
    import xlsxwriter

    types = types or {}
    frames = iter(frames)
    first = next(frames, None)
    buffer = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(buffer, options)
    formats = {
        kind: workbook.add_format({"num_format": shown}) for kind, shown in XLSX_FORMATS.items()
    }
    data = workbook.add_worksheet("Data")
    data.set_header(f"&C{metadata['marking']}")
    data.write_row(0, 0, columns, workbook.add_format({"bold": True}))
    data.freeze_panes(1, 0)
    for number, width in enumerate(_widths(first, columns, types)):
        data.set_column(number, number, width)
    rows = 0
    for frame in itertools.chain([first] if first is not None else [], frames):
        if rows + len(frame) > XLSX_MAX_ROWS:
            raise ExtractRefused(
                "Excel holds at most 1,048,575 rows: choose CSV, or a shorter period."
            )
        kinds = [types.get(name, "string") for name in columns]
        cells = [_typed(frame[name], kind) for name, kind in zip(columns, kinds, strict=True)]
        for offset, row in enumerate(zip(*cells, strict=True), start=rows + 1):
            for column, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                if value is None:
                    continue
                timely = isinstance(value, datetime.date | datetime.time)
                data.write(offset, column, value, formats.get(kind) if timely else None)
        rows += len(frame)
    data.autofilter(0, 0, rows, max(len(columns) - 1, 0))
    sheet = workbook.add_worksheet("Metadata")
    sheet.set_header(f"&C{metadata['marking']}")
    sheet.set_column(0, 0, 100)
    for number, line in enumerate(metadata_text(metadata).splitlines()):
        sheet.write_string(number, 0, neutralise_cell(re.sub(_XML_ILLEGAL, "", line)))
    workbook.close()
    out.write(buffer.getvalue())
    return rows


def _typed(values: pd.Series, kind: str) -> list:
    """The column's values for the workbook: of its type where they read as one, else text
    (formulas neutralised, characters XML cannot hold removed); None where empty."""
    text = values.astype("string")
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    text = text.str.replace(_NEUTRALISED, "", regex=True)
    if kind in ("integer", "number"):
        numbers = pd.to_numeric(text, errors="coerce")
        parsed = numbers.astype(object).where(numbers.notna(), None)
        whole = numbers.notna() & (numbers == numbers.round()) & (numbers.abs() < 2**53)
        whole = whole.to_numpy(dtype=bool)
        parsed[whole] = [int(number) for number in numbers[whole]]
    elif kind == "date":
        dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        parsed = pd.Series(dates.dt.date, index=values.index).where(dates.notna(), None)
    elif kind == "time":
        times = pd.to_datetime(text, format="%H:%M:%S", errors="coerce")
        times = times.fillna(pd.to_datetime(text, format="%H:%M", errors="coerce"))
        parsed = pd.Series(times.dt.time, index=values.index).where(times.notna(), None)
    elif kind == "boolean":
        parsed = text.str.lower().map({"true": True, "false": False}).astype(object)
        parsed = parsed.where(parsed.notna(), None)
    else:
        parsed = pd.Series(None, index=values.index, dtype=object)
    cells = parsed.to_numpy(dtype=object, copy=True)
    unread = ~missing & pd.isna(cells)
    if unread.any():
        # Neutralised again (it changes nothing twice), so that no text cell starting with
        # "=" can be read as a formula by a spreadsheet.
        shown = neutralise_formulas(values[unread].astype(str).to_frame("v"))["v"]
        cells[unread] = shown.str.replace(_XML_ILLEGAL, "", regex=True).to_numpy(dtype=object)
    cells[missing] = None
    return cells.tolist()


def _widths(sample: pd.DataFrame | None, columns: list[str], types: dict[str, str]) -> list[float]:
    """Each column's width: its header's or its widest value's in the sample, within limits."""
    widths = []
    for name in columns:
        kind = types.get(name, "string")
        widest = len(str(name))
        if kind in _XLSX_FIXED_WIDTHS:
            widest = max(widest, _XLSX_FIXED_WIDTHS[kind])
        elif sample is not None and name in sample:
            lengths = sample[name].dropna().astype(str).str.len()
            widest = max(widest, int(lengths.max()) if len(lengths) else 0)
        widths.append(float(min(XLSX_MAX_WIDTH, max(XLSX_MIN_WIDTH, widest + 2))))
    return widths


def write_geojson(out, frames: Iterator[pd.DataFrame], metadata: dict) -> int:
    """Points in WGS84 (OSTN15 from the National Grid), easting and northing kept as
    properties; the marking and conditions in a top-level "metadata" member (a foreign member,
    which GeoJSON readers ignore)."""
    from convertbng.cutil import convert_lonlat

    out.write(b'{"type": "FeatureCollection", "features": [')
    rows = 0
    for frame in frames:
        eastings = pd.to_numeric(frame["easting"], errors="coerce").to_numpy(dtype=float)
        northings = pd.to_numeric(frame["northing"], errors="coerce").to_numpy(dtype=float)
        located = np.isfinite(eastings) & np.isfinite(northings)
        lon = np.full(len(frame), np.nan)
        lat = np.full(len(frame), np.nan)
        if located.any():
            lon[located], lat[located] = convert_lonlat(eastings[located], northings[located])
        properties = (
            frame.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n").split("\n")
        )
        geometry = np.where(
            located,
            '{"type": "Point", "coordinates": ['
            + pd.Series(lon).round(6).astype(str)
            + ", "
            + pd.Series(lat).round(6).astype(str)
            + "]}",
            "null",
        )
        features = (
            '{"type": "Feature", "geometry": '
            + pd.Series(geometry)
            + ', "properties": '
            + pd.Series(properties)
            + "}"
        )
        out.write(((", " if rows else "") + ", ".join(features)).encode())
        rows += len(frame)
    # Last, so that it can say what disclosure control did to the features above.
    out.write(b'], "metadata": ' + json.dumps(metadata, ensure_ascii=False).encode() + b"}")
    return rows
