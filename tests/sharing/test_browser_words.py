"""What people read, in a real browser: field titles rather than field names, months in words,
levels in words, and no table wider than the page."""

import pytest

from datasets.demo import last_month
from datasets.models import Supply
from tests.conftest import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def page_fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_analyst_reads_titles_months_and_levels_and_nothing_overflows(
    page, live_server, supplied
):
    start, end = last_month()
    page.set_viewport_size({"width": 900, "height": 900})
    browser_sign_in(page, live_server, "analyst")

    page.goto(f"{live_server.url}/workspace/")
    assert "Depersonalised (sanitised) records" in page.locator("main").inner_text()

    page.goto(
        f"{live_server.url}/workspace/counts/?dataset=police_crime_offence&breakdown=flag_drugs"
        f"&period_start={start}&period_end={end}"
    )
    breakdown = page.get_by_label("Breakdown")
    assert "Drugs-related marker" in breakdown.inner_text()
    assert "flag_drugs" not in breakdown.inner_text()
    caption = page.locator("table.counts caption").inner_text()
    assert caption.endswith("by Drugs-related marker")
    first_month = page.locator("table.counts tbody td").first.inner_text()
    assert first_month == f"{start:%B %Y}"
    assert f"{start:%B %Y}" in page.locator("svg.chart").inner_html()
    assert page_fits(page)

    page.goto(f"{live_server.url}/workspace/compare/?period_start={start}&period_end={end}")
    assert page.locator("table th[scope=row]").first.inner_text() == f"{start:%B %Y}"
    assert page_fits(page)


def test_a_supplier_reads_the_fields_of_their_report_by_title(page, live_server, supplied):
    offences = Supply.objects.get(dataset__slug="police_crime_offence")
    page.set_viewport_size({"width": 900, "height": 900})
    browser_sign_in(page, live_server, "police_supplier")

    page.goto(f"{live_server.url}/supplies/{offences.pk}/")

    completeness = page.locator("table.completeness").inner_text()
    assert "Crime reference number" in completeness and "crime_ref" not in completeness
    read_as = page.locator("table.columns td:nth-child(2)").all_inner_texts()
    assert "Domestic marker" in read_as and not any("flag_" in text for text in read_as)
    assert page_fits(page)
