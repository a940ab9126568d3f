"""The co-ordinator makes an access profile in a real browser: levels, holders, the preview of
who gains what, then the save."""

import pytest

from datasets.models import Dataset
from sharing.access import access_decision
from tests.conftest import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_coordinator_creates_previews_and_saves_a_profile(page, live_server, personas):
    browser_sign_in(page, live_server, "coordinator")
    page.get_by_role("heading", name="Welcome").wait_for()
    page.goto(f"{live_server.url}/governance/")
    page.get_by_role("link", name="Access profiles", exact=True).click()
    page.get_by_role("link", name="New profile").click()

    page.get_by_label("Name").fill("Offender managers")
    page.get_by_label("Description").fill("Counts of prolific and priority offenders.")
    ppo = Dataset.objects.get(slug="ppo")
    page.locator("#level-ppo select").select_option("aggregate")
    page.get_by_label("associate_analyst", exact=False).check()
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    preview.wait_for()
    row = preview.locator("tbody tr")
    assert row.count() == 1
    text = row.inner_text()
    assert (
        "associate_analyst" in text
        and ppo.name in text
        and "gains Aggregate counts, perturbed" in text
    )
    assert "Offender managers profile: aggregate" in text
    assert access_decision(user=personas["associate_analyst"], dataset=ppo).level == "none"

    page.get_by_role("button", name="Save").click()
    page.get_by_text("The Offender managers profile is saved.").wait_for()
    page.get_by_role("link", name="← Access profiles").click()
    listed = page.locator("table.profiles").inner_text()
    assert "Offender managers" in listed and f"{ppo.name}: Aggregate counts, perturbed" in listed
    assert access_decision(user=personas["associate_analyst"], dataset=ppo).level == "aggregate"
