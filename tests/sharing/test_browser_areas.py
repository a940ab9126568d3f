"""The area picker and the choropleth in a real browser."""

import pytest

from tests.conftest import browser_sign_in
from tests.sharing.test_workspace_areas import asked, wards  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AREAS = ".leaflet-overlay-pane path.hub-area"


def open_areas(page, live_server, query: str = "") -> None:
    browser_sign_in(page, live_server, "analyst")
    page.goto(f"{live_server.url}/workspace/areas/{query}")


def test_the_picker_suggests_areas_and_the_chosen_one_filters_the_table(page, live_server, wards):  # noqa: F811
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_areas(page, live_server)
    period = asked()
    page.locator("#id_period_start").fill(period["period_start"])
    page.locator("#id_period_end").fill(period["period_end"])

    picker = page.get_by_role("combobox", name="Areas (optional)")
    picker.press_sequentially("Abr")
    page.get_by_role("option", name="Abram (ward E05000841)").wait_for()
    picker.press("ArrowDown")
    picker.press("Enter")

    assert page.get_by_role("button", name="Remove Abram (ward E05000841)").is_visible()
    page.get_by_role("button", name="Show areas").click()
    page.locator("#areas-map[data-drawn='true']").wait_for()
    assert "in Abram (ward E05000841)" in page.locator("#areas-caption").inner_text()
    names = page.locator("#areas-table tbody th").all_inner_texts()
    assert names == ["Abram"]
    # The chip is drawn again from the filter the page was asked with.
    assert page.locator(".area-picker-chip").count() == 1
    assert errors == []


def test_the_choropleth_fills_the_areas_by_class_with_a_legend_and_names(page, live_server, wards):  # noqa: F811
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    period = asked()
    open_areas(
        page, live_server,
        f"?dataset=police_crime_offence&period_start={period['period_start']}"
        f"&period_end={period['period_end']}&value=population",
    )  # fmt: skip
    page.locator("#areas-map[data-drawn='true']").wait_for()

    polygons = page.locator(AREAS)
    assert polygons.count() == 3
    fills = {polygons.nth(i).get_attribute("fill") for i in range(3)}
    assert fills == {"#ffffb2", "#fecc5c", "#fd8d3c"}
    legend = page.locator("#areas-legend").inner_text()
    assert "1.5 or more" in legend
    page.locator(f"{AREAS}.hub-area-class-3").hover()
    assert "Abram" in page.locator(".leaflet-tooltip").inner_text()
    page.locator(f"{AREAS}.hub-area-class-3").click()
    assert "Abram" in page.locator("#areas-selected").inner_text()
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "Office for National Statistics" in attribution

    page.get_by_role("button", name="Records").click()  # sort by count, ascending
    assert page.locator("#areas-table tbody th").all_inner_texts() == ["Bryn", "Ashton", "Abram"]
    assert errors == []


def test_an_area_name_from_an_imported_file_is_shown_as_text(page, live_server, wards):  # noqa: F811
    from sanitise.models import Area

    Area.objects.filter(name="Abram").update(name='Abram <img id="injected" src="x">')
    period = asked()
    open_areas(
        page, live_server,
        f"?dataset=police_crime_offence&period_start={period['period_start']}"
        f"&period_end={period['period_end']}",
    )  # fmt: skip
    page.locator("#areas-map[data-drawn='true']").wait_for()

    page.locator(f"{AREAS}.hub-area-class-3").hover()
    assert '<img id="injected"' in page.locator(".leaflet-tooltip").inner_text()
    assert page.locator("#injected").count() == 0
