"""Boundaries: GeoJSON and National Grid shapefiles simplified for the map; MSOAs and local
authorities dissolved from the LSOAs; approximate wards drawn from the postcode centroids."""

import json

import pandas as pd
import pytest
import shapely
from django.core.management import CommandError, call_command

from sanitise import area_shapes
from sanitise.area_imports import (
    area_boundaries_derive,
    area_lookup_import,
    area_names_import,
    boundaries_import,
    boundaries_replace,
)
from sanitise.imports import codepoint_import
from sanitise.models import Area, GazetteerVersion
from tests.sanitise.area_fixtures import (
    INCE,
    LOOKUP_CSV,
    LSOA_GEOJSON,
    LSOA_SQUARES,
    WIGAN,
    WIGAN_CENTRAL,
    WIGAN_OUTLINE,
    WIGAN_WEST,
    codelist_xlsx_file,  # noqa: F401 (fixtures)
    codepoint_zip_file,  # noqa: F401
    lsoa_shapefile_file,  # noqa: F401
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wigan(codepoint_zip, codelist_xlsx):
    """Wigan's lookup (wards from Code-Point Open), its names, and its centroids."""
    codepoint_import(source=str(codepoint_zip))
    area_lookup_import(source=str(LOOKUP_CSV), codepoint=str(codepoint_zip), lad_codes=[WIGAN])
    area_names_import(source=str(codelist_xlsx))


def _shape(code: str):
    """The stored boundary on the National Grid."""
    boundary = Area.objects.get(code=code).boundary
    return area_shapes.to_bng(shapely.from_geojson(json.dumps(boundary)))


def _near(shape, expected) -> bool:
    """The same to a few centimetres along the edges: stored coordinates are rounded to about
    10 cm, and the National Grid to WGS84 and back moves them a little."""
    return shape.symmetric_difference(expected).area < 0.1 * expected.length


def test_lsoa_boundaries_are_stored_with_labels_and_derive_msoas_the_lad_and_wards(wigan, capsys):
    named = Area.objects.get(code="E01006369").version_id

    call_command("import_boundaries", str(LSOA_GEOJSON), "--kind", "lsoa", "--lad", WIGAN)

    lsoas = Area.objects.filter(kind="lsoa", boundary__isnull=False)
    assert sorted(lsoas.values_list("code", flat=True)) == sorted(LSOA_SQUARES)
    lsoa = Area.objects.get(code="E01006369")
    assert (lsoa.name, lsoa.approximate, lsoa.version_id) == ("Wigan 008C", False, named)
    imported = GazetteerVersion.objects.get(kind="boundaries", detail__area_kind="lsoa")
    assert lsoa.boundary_version_id == imported.pk
    label = shapely.Point(lsoa.label_longitude, lsoa.label_latitude)
    assert shapely.from_geojson(json.dumps(lsoa.boundary)).contains(label)
    square = shapely.Polygon(LSOA_SQUARES["E01006369"])
    assert _near(_shape("E01006369"), square)

    assert _near(
        _shape("E02001294"), shapely.union(square, shapely.Polygon(LSOA_SQUARES["E01006375"]))
    )
    assert _near(_shape(WIGAN), WIGAN_OUTLINE)
    wards = Area.objects.filter(kind="ward", lad_code=WIGAN, boundary__isnull=False)
    assert set(wards.values_list("code", "approximate")) == {
        (WIGAN_CENTRAL, True), (INCE, True), (WIGAN_WEST, True)
    }  # fmt: skip
    assert Area.objects.get(code=WIGAN_CENTRAL).name == "Wigan Central"
    shapes = [_shape(code) for code in (WIGAN_CENTRAL, INCE, WIGAN_WEST)]
    assert _near(shapely.union_all(shapes), WIGAN_OUTLINE)
    assert sum(shape.area for shape in shapes) == pytest.approx(WIGAN_OUTLINE.area, rel=1e-4)
    assert shapes[0].contains(shapely.Point(358016, 405780))  # WN1 1AA
    assert shapes[1].contains(shapely.Point(358477, 405344))  # WN1 1DL
    derived = GazetteerVersion.objects.get(pk=imported.detail["derived_version"])
    assert derived.detail["wards_without_centroids"] == ["E05015009"]  # M28 1AA: no LSOA drawn
    assert "Contains National Statistics data" in capsys.readouterr().out


def test_a_national_grid_shapefile_gives_the_same_boundaries(wigan, lsoa_shapefile):
    result = boundaries_import(source=str(lsoa_shapefile), kind="lsoa")

    assert result.version.row_count == 3
    for code, ring in LSOA_SQUARES.items():
        assert _near(_shape(code), shapely.Polygon(ring))


def test_a_refresh_keeps_imported_ward_polygons_and_redraws_the_rest(wigan):
    boundaries_import(source=str(LSOA_GEOJSON), kind="lsoa")
    ince = shapely.box(358300, 405300, 359000, 405600)
    boundaries = pd.DataFrame(
        {
            "code": [INCE],
            "name": ["Ince"],
            "geometry": [area_shapes.to_wgs84(ince)],
        }
    )
    boundaries_replace(boundaries=boundaries, kind="ward", source="wards.geojson")
    area_boundaries_derive(lad_codes=[WIGAN])

    assert Area.objects.get(code=INCE).approximate is False
    assert _near(_shape(INCE), ince)
    others = shapely.union_all([_shape(WIGAN_CENTRAL), _shape(WIGAN_WEST)])
    assert others.intersection(ince).area < 100  # slivers of the 10 cm rounding, no more
    assert _near(others.union(ince), WIGAN_OUTLINE)


def test_bad_features_are_refused_by_feature_and_field_and_change_nothing(wigan, tmp_path):
    collection = json.loads(LSOA_GEOJSON.read_text())
    collection["features"][1]["properties"]["LSOA11CD"] = "E0100637"
    collection["features"][2]["geometry"] = None
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(collection))
    before = list(Area.objects.values_list("code", "boundary"))

    with pytest.raises(CommandError) as raised:
        call_command("import_boundaries", str(bad), "--kind", "lsoa")

    message = str(raised.value)
    assert "feature id 1, column 'LSOA11CD': 'E0100637' is not a GSS area code" in message
    assert "feature id 2, column 'geometry': 'E01006370' has no polygon" in message
    assert list(Area.objects.values_list("code", "boundary")) == before


def test_a_file_without_the_kinds_code_field_says_which_fields_it_has(wigan):
    with pytest.raises(CommandError, match="OBJECTID, LSOA11CD, LSOA11NM, none of them a ward"):
        call_command("import_boundaries", str(LSOA_GEOJSON), "--kind", "ward")


def test_wards_from_centroids_cover_the_outline_without_overlaps():
    points = pd.DataFrame(
        {
            "easting": [0.0, 10.0, 10.0, 90.0, 90.0, 50.0],
            "northing": [0.0, 10.0, 10.0, 90.0, 10.0, 50.0],
            "ward_code": ["A", "A", "B", "B", "C", "C"],  # A and B share a centroid: A wins
        }
    )
    outline = shapely.box(0, 0, 100, 100)

    wards = area_shapes.wards_from_centroids(points, outline)

    assert set(wards) == {"A", "B", "C"}
    assert shapely.union_all(list(wards.values())).symmetric_difference(outline).area < 1e-6
    assert sum(ward.area for ward in wards.values()) == pytest.approx(outline.area)
    assert wards["A"].contains(shapely.Point(5, 5))


def test_simplified_neighbours_still_meet():
    squares = area_shapes.to_wgs84([shapely.Polygon(ring) for ring in LSOA_SQUARES.values()])
    simple = area_shapes.to_bng(area_shapes.simplified(squares, 20))

    assert shapely.coverage_is_valid(simple)
    assert _near(shapely.union_all(simple), WIGAN_OUTLINE)
