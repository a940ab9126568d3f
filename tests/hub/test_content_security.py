"""A Content Security Policy with no inline script or style, and pages that keep to it."""

import pytest

from tests.conftest import PERSONA_PASSWORD, sign_in

pytestmark = pytest.mark.django_db


def test_every_page_sends_a_policy_that_allows_only_the_hub_itself(client, personas):
    sign_in(client, personas["analyst"])
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_busiest_pages_break_no_rule_of_the_policy(page, live_server, supplied):
    from datasets.demo import last_month

    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Welcome").wait_for()
    start, end = last_month()
    page.goto(f"{live_server.url}/workspace/map/?dataset=police_crime_offence"
              f"&period_start={start}&period_end={end}")  # fmt: skip
    page.locator(".leaflet-overlay-pane path").first.wait_for()
    page.goto(f"{live_server.url}/workspace/counts/?dataset=police_crime_offence"
              f"&period_start={start}&period_end={end}")  # fmt: skip
    page.goto(f"{live_server.url}/extracts/new/police_crime_offence/")
    page.goto(f"{live_server.url}/catalogue/police_crime_offence/")

    assert violations == []
