"""The analyst's journey in a real browser: build an extract, watch it, download, open it."""

import csv
import io
import zipfile

import pytest

from datasets.demo import last_month
from tests.conftest import PERSONA_PASSWORD, browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_analyst_extracts_offences_with_their_victims_and_opens_the_csv(
    page,
    live_server,
    supplied,
    tmp_path,
):
    start, end = last_month()
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Extracts", exact=True).click()
    page.locator("#access-police_crime_offence").get_by_role("link", name="New extract").click()

    page.get_by_label("Depersonalised (sanitised) records").check()
    page.get_by_label("Events from").fill(start.isoformat())
    page.get_by_label("Events to").fill(end.isoformat())
    page.get_by_label("Join with").select_option("police_crime_victim")
    page.get_by_label("Format").select_option("csv")
    page.get_by_role("button", name="Make the extract").click()

    page.get_by_text("Your extract is being made.").wait_for()
    download_link = page.get_by_role("link", name="Download")
    download_link.wait_for(timeout=60000)  # the page reloads when the extract is ready
    assert page.locator("#progress-status").inner_text() == "Ready to download"
    assert page.get_by_text("OFFICIAL-SENSITIVE / RESTRICTED — CSP use only").is_visible()
    with page.expect_download() as download:
        download_link.click()
    saved = tmp_path / "extract.zip"
    download.value.save_as(saved)

    archive = zipfile.ZipFile(saved)
    name = next(n for n in archive.namelist() if n.endswith(".csv"))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    assert len(rows) == int(page.locator("#row-count").inner_text())
    assert rows[0]["crime_ref"].startswith("WN/")
    assert "victim_gender" in rows[0] and "date_of_birth" not in rows[0]


def test_an_analyst_of_a_withdrawn_agency_is_told_why_there_is_nothing(page, live_server, personas):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("lapsed_analyst")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Extracts", exact=True).click()
    assert "withdrew from ISP" in page.locator(".notice").inner_text()


def test_an_analyst_builds_an_approved_personal_extract_in_the_extract_builder(
    page, live_server, prisons, tmp_path
):
    from sharing.services.requests import request_decide
    from tests.factories import ask

    data_request = ask(prisons["analyst"], prisons["hindley"])
    request_decide(data_request=data_request, approve=True, reason="Proportionate",
                   acting_user=prisons["hindley_dlo"])  # fmt: skip
    browser_sign_in(page, live_server, "analyst")  # the approval makes a second factor owed
    page.get_by_role("link", name="Extracts", exact=True).click()
    page.locator("#access-prison_release").get_by_role("link", name="New extract").click()

    page.get_by_label("Personal data").check()
    page.get_by_label("Events from").fill("2026-10-01")
    page.get_by_label("Events to").fill("2026-10-31")
    page.get_by_label("Format").select_option("csv")
    page.get_by_role("button", name="Make the extract").click()

    page.get_by_text("Your extract is being made.").wait_for()
    download_link = page.get_by_role("link", name="Download")
    download_link.wait_for(timeout=60000)
    with page.expect_download() as download:
        download_link.click()
    saved = tmp_path / "personal.zip"
    download.value.save_as(saved)
    archive = zipfile.ZipFile(saved)
    name = next(n for n in archive.namelist() if n.endswith(".csv"))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    # Only what the DLO approved: Hindley's release in WN4, with the fields asked for.
    assert [row["name"] for row in rows] == ["Bella Hindley"]
    assert "date_of_birth" not in rows[0]
