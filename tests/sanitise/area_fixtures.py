"""Small area reference files in the published layouts, for the area import tests (a test
module imports the ``…_file`` fixtures it uses; they are named without the suffix).

The rows are real (ONS May 2022 lookup, Code-Point Open 2025, its Codelist.xlsx) for a few
Wigan postcodes; the LSOA boundaries are made-up squares around those postcodes' centroids,
and the IMD figures are illustrative values in File 7's layout.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import py7zr
import pytest
import shapely
from pyogrio import raw

FIXTURES = Path(__file__).parent / "fixtures" / "areas"
LOOKUP_CSV = FIXTURES / "pcd_oa_lsoa_msoa_lad_may22_uk_lu.csv"
ONSPD_CSV = FIXTURES / "onspd_excerpt.csv"
LSOA_GEOJSON = FIXTURES / "lsoa_squares.geojson"
IMD_CSV = FIXTURES / "imd2019_file7_excerpt.csv"
SAPE_CSV = FIXTURES / "sape_lsoa_syoa_excerpt.csv"
WIGAN = "E08000010"
WIGAN_CENTRAL = "E05015010"
INCE = "E05015000"
WIGAN_WEST = "E05015011"

# Code-Point Open's full ten-column layout, no header.
CODEPOINT_WN = [
    '"WN1 1AA",10,358016,405780,"E92000001","E19000001","E18000002","","E08000010","E05015010"',
    '"WN1 1AT",10,358285,405817,"E92000001","E19000001","E18000002","","E08000010","E05015010"',
    '"WN1 1DL",10,358477,405344,"E92000001","E19000001","E18000002","","E08000010","E05015000"',
    '"WN1 1HD",10,357673,405745,"E92000001","E19000001","E18000002","","E08000010","E05015011"',
    '"WN1 1AE",10,358472,406072,"E92000001","E19000001","E18000002","","E08000010","E05015010"',
    '"WN1 1BP",10,358402,406132,"E92000001","E19000001","E18000002","","E08000010","E05015010"',
    '"WN1 1DT",10,358143,406228,"E92000001","E19000001","E18000002","","E08000010","E05015010"',
    '"WN1 1QJ",10,358177,406167,"E92000001","E19000001","E18000002","","E08000010","E05015010"',
    '"WN8 0AA",10,350713,405125,"E92000001","E19000001","E18000002","E10000017","E07000127",'
    '"E05014943"',
]
CODEPOINT_M = [
    '"M28 1AA",10,371824,401263,"E92000001","E19000001","E18000002","","E08000010","E05015009"',
]
# The squares of lsoa_squares.geojson, on the National Grid.
LSOA_SQUARES = {
    "E01006369": [(357600, 405300), (359000, 405300), (359000, 405900), (358300, 405900),
                  (357600, 405900)],
    "E01006375": [(357600, 405900), (358300, 405900), (358300, 406400), (357600, 406400)],
    "E01006370": [(358300, 405900), (359000, 405900), (359000, 406400), (358300, 406400)],
}  # fmt: skip
WIGAN_OUTLINE = shapely.box(357600, 405300, 359000, 406400)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(name="codepoint_zip")
def codepoint_zip_file(tmp_path) -> Path:
    """The OS zip's layout: Data/CSV/<area>.csv, and Doc/."""
    path = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Data/CSV/wn.csv", "\n".join(CODEPOINT_WN) + "\n")
        archive.writestr("Data/CSV/m.csv", "\n".join(CODEPOINT_M) + "\n")
        archive.writestr("Doc/licence.txt", "Open Government Licence")
    return path


@pytest.fixture(name="codelist_xlsx")
def codelist_xlsx_file(tmp_path) -> Path:
    """Code-Point Open's Codelist.xlsx: a sheet per area type, rows of (name, code)."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "AREA_CODES"
    workbook.active.append(["MTW", "Metropolitan District Ward"])
    sheets = {
        "MTW": [("Ince Ward", INCE), ("Wigan Central Ward", WIGAN_CENTRAL),
                ("Wigan West Ward", WIGAN_WEST)],
        "MTD": [("Bolton District (B)", "E08000001"), ("Wigan District (B)", WIGAN)],
        "DIS": [("West Lancashire District (B)", "E07000127")],
        "CTY": [("Lancashire County", "E10000017")],
    }  # fmt: skip
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    path = tmp_path / "Codelist.xlsx"
    workbook.save(path)
    return path


@pytest.fixture(name="lookup_7z")
def lookup_7z_file(tmp_path) -> Path:
    path = tmp_path / "PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.write(LOOKUP_CSV, "PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.csv")
    return path


@pytest.fixture(name="lsoa_shapefile")
def lsoa_shapefile_file(tmp_path) -> Path:
    """The squares as a National Grid shapefile (with its .prj), as ONS also publishes."""
    path = tmp_path / "lsoa_squares.shp"
    codes = list(LSOA_SQUARES)
    polygons = [shapely.Polygon(ring) for ring in LSOA_SQUARES.values()]
    raw.write(
        path,
        geometry=shapely.to_wkb(polygons),
        field_data=[
            np.array(codes, dtype=object),
            np.array(["Wigan 008C", "Wigan 008E", "Wigan 006A"], dtype=object),
        ],
        fields=["LSOA11CD", "LSOA11NM"],
        crs="EPSG:27700",
        geometry_type="Polygon",
        driver="ESRI Shapefile",
    )
    return path
