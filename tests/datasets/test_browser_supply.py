"""The supplier's journey in a real browser, processed by a real worker."""

import pytest

from sanitise.demo import demo_gazetteer_load
from tests.conftest import PERSONA_PASSWORD, browser_sign_in
from tests.datasets.test_pipeline import OFFENCE_HEADER, csv_bytes, offence_rows

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_supplier_uploads_watches_progress_and_reads_the_report(
    page, live_server, personas, celery_worker_process, tmp_path
):
    demo_gazetteer_load()
    rows = offence_rows(25)
    rows[3][2] = "32/10/2026"  # row 5 has no such date
    upload = tmp_path / "gmp_october.csv"
    upload.write_bytes(csv_bytes([*OFFENCE_HEADER, "Officer notes"], [[*r, "x"] for r in rows]))

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("police_supplier")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Supplies", exact=True).click()
    page.get_by_role("link", name="Supply a file").click()

    page.get_by_label("Dataset").select_option("police_crime_offence")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_label("Period from").fill("2026-10-01")
    page.get_by_label("Period to").fill("2026-10-31")
    page.get_by_label("Number of records").fill("25")
    page.get_by_label("Caveats and conditions of use").fill("Provisional figures.")
    assert page.get_by_label("Your name").input_value() == "Priya Shah"
    page.get_by_role("button", name="Upload and process").click()

    page.get_by_text("Your file is uploaded and being processed.").wait_for()
    page.locator("#count-accepted").wait_for(timeout=60000)  # the page reloads when done
    assert page.locator("#progress-bar").get_attribute("value") == "100"
    assert page.locator("#progress-status").inner_text() == "Completed"
    assert page.locator("#count-received").inner_text() == "25"
    assert page.locator("#count-accepted").inner_text() == "24"
    assert page.locator("#count-rejected").inner_text() == "1"
    errors = page.locator("table.errors").inner_text()
    assert "5\tDate committed from\t'32/10/2026' is not a date" in errors
    assert (
        "Officer notes"
        in page.get_by_text("These columns are not part of the dataset").inner_text()
    )
    assert "Provisional figures." in page.locator("dl.facts").inner_text()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows").click()
    saved = tmp_path / "rejected.csv"
    download.value.save_as(saved)
    # The note on neutralised values, the header, then the rejected row.
    assert saved.read_text(encoding="utf-8-sig").splitlines()[2].startswith("5,")


def test_a_supplier_is_stopped_on_the_wrong_period_and_withdraws_a_supply(
    page, live_server, personas, celery_worker_process, tmp_path
):
    demo_gazetteer_load()
    upload = tmp_path / "gmp_october.csv"
    upload.write_bytes(csv_bytes(OFFENCE_HEADER, offence_rows(20)))

    def supply_as(first: str, last: str) -> None:
        page.goto(f"{live_server.url}/supplies/new/")
        page.get_by_label("Dataset").select_option("police_crime_offence")
        page.get_by_label("File").set_input_files(str(upload))
        page.get_by_label("Period from").fill(first)
        page.get_by_label("Period to").fill(last)
        page.get_by_role("button", name="Upload and process").click()
        page.get_by_text("Your file is uploaded and being processed.").wait_for()

    browser_sign_in(page, live_server, "police_supplier")
    supply_as("2026-09-01", "2026-09-30")
    rejection = page.get_by_role("alert").filter(has_text="The supply was rejected")
    rejection.wait_for(timeout=60000)
    assert "The file does not look like one for September 2026" in rejection.inner_text()
    assert "seems to cover October 2026" in rejection.inner_text()

    supply_as("2026-10-01", "2026-10-31")
    page.locator("#count-accepted").wait_for(timeout=60000)
    page.get_by_text("Withdraw this supply").click()
    page.get_by_label("Why is the supply withdrawn?").fill("Sent before the force's QA check.")
    page.get_by_role("button", name="Withdraw the supply").click()

    page.get_by_text("The supply is withdrawn").wait_for()
    notice = page.locator("#withdrawn").inner_text()
    assert "by Priya Shah: Sent before the force's QA check." in notice
    assert page.locator("#progress-status").inner_text() == "Withdrawn"
    assert page.get_by_text("Withdraw this supply").count() == 0


def test_a_supplier_makes_a_nil_return(page, live_server, personas):
    browser_sign_in(page, live_server, "police_supplier")
    page.goto(f"{live_server.url}/supplies/new/")
    page.get_by_label("Dataset").select_option("police_crime_offence")
    page.get_by_label("Period from").fill("2026-09-01")
    page.get_by_label("Period to").fill("2026-09-30")
    page.get_by_role("button", name="Upload and process").click()
    assert "Choose the file to supply, or tick the nil return" in page.content()

    page.get_by_label("Nothing to report for this period (a nil return)").check()
    page.get_by_role("button", name="Upload and process").click()

    page.get_by_text("Your nil return is recorded.").wait_for()
    assert "had nothing to report for this period" in page.locator("#nil-return").inner_text()
    assert page.locator("#progress-status").inner_text() == "Completed"
