"""The extract's files: CSV (zipped with its metadata), XLSX and GeoJSON. Every file
carries the protective marking and conditions of use; cells that a spreadsheet would run as
a formula are neutralised before they reach a writer.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
from django.db import connection
from psycopg2 import sql

from sharing.records import CHUNK_ROWS, ExtractQuery, ExtractRefused

MARKING = "OFFICIAL-SENSITIVE / RESTRICTED — CSP use only"
# Fields with these characters are quoted in the CSV, as PostgreSQL's COPY quotes them.
_CSV_QUOTED = r'[,"\r\n]'
# Deflate's fastest level: the CSV deflates almost as well, in a fraction of the time.
ZIP_LEVEL = 1
# Bytes the COPY's rows gather in before they go to the compressor, a call per row apart.
COPY_BUFFER = 1 << 20


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


def write_csv_copy(
    out,
    base_name: str,
    query: ExtractQuery,
    columns: list[str],
    metadata: dict,
    progress: Callable[[int, int], None],
) -> int:
    """write_csv_zip for rows that need no work in Python: PostgreSQL writes the CSV (see
    ExtractQuery.csv_records) and COPY streams it into the archive, a chunk at a time so that
    ``progress`` (records done, records in all) is told between chunks."""
    chunks, total = query.current_supplies().chunks(CHUNK_ROWS)
    rows = 0
    with _csv_archive(out) as archive:
        member = archive.open(f"{base_name}.csv", "w", force_zip64=True)
        # psycopg2 writes each row with a call of its own: buffered, the compressor gets
        # them a megabyte at a time.
        with io.BufferedWriter(member, COPY_BUFFER) as buffered, connection.cursor() as cursor:
            buffered.write(csv_text(pd.DataFrame([columns])).encode())
            for number, chunk in enumerate(chunks, start=1):
                select, params, _ = chunk.csv_records()
                copy = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(select)
                # COPY takes no parameters: psycopg2 binds them into the statement.
                statement = cursor.mogrify(copy, params).decode()
                with connection.wrap_database_errors:
                    cursor.copy_expert(statement, buffered)
                rows += cursor.rowcount
                progress(min(total, number * CHUNK_ROWS), total)
        archive.writestr(f"{base_name}_METADATA.txt", metadata_text(metadata))
    return rows


def write_xlsx(out, frames: Iterator[pd.DataFrame], columns: list[str], metadata: dict) -> int:
    """A workbook with the data and a metadata sheet; the marking in every page header."""
    import xlsxwriter

    buffer = io.BytesIO()
    # In memory: no temporary file of the rows on disk. Text stays text (no formulas).
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(buffer, options)
    data = workbook.add_worksheet("Data")
    data.set_header(f"&C{metadata['marking']}")
    data.write_row(0, 0, columns)
    rows = 0
    for frame in frames:
        if rows + len(frame) > 1_048_575:
            raise ExtractRefused(
                "Excel holds at most 1,048,575 rows: choose CSV, or a shorter period."
            )
        for offset, values in enumerate(frame.itertuples(index=False), start=rows + 1):
            data.write_row(offset, 0, ["" if pd.isna(v) else v for v in values])
        rows += len(frame)
    sheet = workbook.add_worksheet("Metadata")
    sheet.set_header(f"&C{metadata['marking']}")
    for number, line in enumerate(metadata_text(metadata).splitlines()):
        sheet.write_string(number, 0, line)
    workbook.close()
    out.write(buffer.getvalue())
    return rows


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
