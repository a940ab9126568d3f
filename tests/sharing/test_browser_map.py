"""The hotspot map in a real browser: the layers draw, and aggregate access shows no points."""

import pytest

from datasets.demo import last_month
from tests.conftest import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HEXES = ".leaflet-overlay-pane path.hub-hex"
POINTS = ".leaflet-hub-points-pane path.hub-point"


def sign_in_and_open_the_map(page, live_server, username):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/workspace/map/")


def show(page, dataset):
    start, end = last_month()
    page.get_by_label("Dataset").select_option(dataset)
    page.get_by_label("Events from").fill(start.isoformat())
    page.get_by_label("Events to").fill(end.isoformat())
    page.get_by_role("button", name="Show on the map").click()
    page.locator("#map[data-drawn='true']").wait_for()


def test_an_analyst_sees_hexagons_and_points_with_their_counts(page, live_server, supplied):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in_and_open_the_map(page, live_server, "analyst")
    show(page, "police_crime_offence")

    assert page.locator(HEXES).count() > 0
    assert page.locator(POINTS).count() > 0
    assert page.locator(".leaflet-hub-outline-pane path").count() > 0
    assert "records per hexagon" in page.locator("#map-legend").inner_text()
    assert "records from" in page.locator("#map-status").inner_text()
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "Contains OS data © Crown copyright and database right" in attribution
    assert errors == []


def test_an_aggregate_level_analyst_sees_concentrations_but_no_points(page, live_server, supplied):
    sign_in_and_open_the_map(page, live_server, "associate_analyst")
    show(page, "ae_assault")

    assert page.locator(HEXES).count() > 0
    assert page.locator(POINTS).count() == 0
    assert page.locator(".leaflet-hub-points-pane path").count() == 0
    legend = page.locator("#map-legend").inner_text()
    assert "Concentrations only" in legend and "records per hexagon" not in legend
    assert not any(character.isdigit() for character in page.locator("#map-status").inner_text())


def test_a_bad_filter_is_explained_on_the_page(page, live_server, supplied):
    sign_in_and_open_the_map(page, live_server, "analyst")
    # The form's own limits stop 25 being sent; a shared link can still carry it.
    page.goto(f"{live_server.url}/workspace/map/?dataset=police_crime_offence&hour_from=25")
    page.locator("#map-status.error").wait_for()
    assert "Hours are 0 to 24" in page.locator("#map-status").inner_text()
