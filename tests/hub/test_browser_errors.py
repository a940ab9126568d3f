"""In a real browser: a lapsed signatory's analyst is offered no page they would be refused,
is told why the workspace is closed to them, and an unknown page is the hub's styled 404."""

import pytest

from tests.conftest import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRAND = "rgb(29, 60, 110)"  # the masthead's colour in hub.css: the stylesheet applied


def test_a_lapsed_analyst_finds_no_workspace_link_and_is_told_why(page, live_server, personas):
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    browser_sign_in(page, live_server, "lapsed_analyst")
    page.get_by_role("heading", name="Welcome").wait_for()

    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Catalogue", exact=True).count() == 1
    assert nav.get_by_role("link", name="Workspace", exact=True).count() == 0
    assert "Leigh Neighbourhood Watch withdrew from ISP" in page.locator("main").inner_text()

    response = page.goto(f"{live_server.url}/workspace/")
    assert response.status == 403
    page.get_by_role("heading", name="Not open to you").wait_for()
    said = page.locator("main").inner_text()
    assert "withdrew from ISP" in said and "Clare Ormerod" in said

    response = page.goto(f"{live_server.url}/no/such/page/")
    assert response.status == 404
    page.get_by_role("heading", name="Page not found").wait_for()
    assert "not yours to see" in page.locator("main").inner_text()
    masthead = page.locator("header.masthead")
    assert masthead.evaluate("e => getComputedStyle(e).backgroundColor") == BRAND

    page.get_by_role("link", name="Go to the home page").click()
    page.get_by_role("heading", name="Welcome").wait_for()
    assert violations == []


def test_the_browser_gets_the_favicon(page, live_server):
    response = page.goto(f"{live_server.url}/favicon.ico")

    assert response.status == 200
    assert response.header_value("content-type").startswith("image/svg+xml")
