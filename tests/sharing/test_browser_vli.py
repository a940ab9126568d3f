"""The Vulnerable Localities Index in a real browser: the ranked table and the choropleth draw
under the hub's content security policy, and the CSV link downloads the table."""

import pytest

from tests.conftest import browser_sign_in
from tests.sharing.test_vulnerability import LSOAS, MARCH, world  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AREAS = ".leaflet-overlay-pane path.hub-area"


def test_the_page_draws_the_ranked_table_and_the_map(page, live_server, world):  # noqa: F811
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    browser_sign_in(page, live_server, "analyst")

    query = "&".join(f"{name}={value}" for name, value in MARCH.items())
    page.goto(f"{live_server.url}/workspace/vli/?{query}")
    page.locator("#vli-map[data-drawn='true']").wait_for()

    rows = page.locator("#vli-table tbody tr")
    assert rows.count() == len(LSOAS)
    assert rows.first.get_attribute("data-code") == LSOAS["A"]
    assert "Priority neighbourhood" in rows.first.inner_text()
    assert page.locator(AREAS).count() == len(LSOAS)
    assert page.locator(".leaflet-overlay-pane path.hub-priority").count() == 1
    assert "VLI" in page.locator("#map-legend").inner_text()
    assert "MHCLG" in page.locator(".leaflet-control-attribution").inner_text()
    with page.expect_download() as download:
        page.locator("#vli-csv").click()
    body = open(download.value.path(), encoding="utf-8").read()  # noqa: PTH123, SIM115
    assert body.startswith("rank,area_code,area_name,")
    assert LSOAS["A"] in body.splitlines()[1]
    assert errors == []
