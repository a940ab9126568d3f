"""A new user's first visit, in a real browser: sign in, open the catalogue, get a template."""

import csv

import pytest

from tests.conftest import browser_sign_in
from tests.datasets.expected_catalogue import EXPECTED_CATALOGUE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERSONAS = [
    "police_supplier",
    "council_supplier",
    "health_supplier",
    "analyst",
    "associate_analyst",
    "dlo_police",
    "coordinator",
    "outsider",
]


def sign_in(page, live_server, username):
    browser_sign_in(page, live_server, username)
    page.get_by_role("heading", name="Welcome").wait_for()


@pytest.mark.parametrize("username", PERSONAS)
def test_each_persona_signs_in_opens_the_catalogue_and_downloads_a_template(
    page, live_server, personas, username, tmp_path
):
    sign_in(page, live_server, username)

    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_role("heading", name="Minimum-dataset catalogue").wait_for()
    rows = page.locator("table.catalogue tbody tr")
    assert rows.count() == len(EXPECTED_CATALOGUE)

    with page.expect_download() as download_info:
        page.locator("#dataset-police_incident").get_by_role("link", name="CSV template").click()
    path = tmp_path / "template.csv"
    download_info.value.save_as(path)
    with path.open(newline="") as handle:
        assert list(csv.reader(handle)) == [list(EXPECTED_CATALOGUE["police_incident"]["fields"])]

    page.get_by_role("button", name=f"Sign out {username}").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def test_a_wrong_password_is_refused_with_a_clear_message(page, live_server, personas):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert (
        page.get_by_role("alert")
        .inner_text()
        .startswith("Your username and password did not match")
    )


def test_the_dataset_page_shows_identifying_fields(page, live_server, personas):
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server.url}/catalogue/")
    page.get_by_role("link", name="Police recorded crime: the victim").click()
    fields = page.locator("table.fields")
    assert "date_of_birth" in fields.inner_text()
    assert page.locator("table.fields .class-identifying").count() >= 1
