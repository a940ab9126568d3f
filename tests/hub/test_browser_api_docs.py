"""The API's browsable documentation, served by the hub itself: no CDN, no inline script."""

import pytest

from tests.conftest import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_signed_in_user_reads_the_api_documentation_with_nothing_from_elsewhere(
    page, live_server, personas
):
    requests, refused = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    browser_sign_in(page, live_server, "analyst")

    page.goto(f"{live_server.url}/api/docs/")

    page.get_by_text("CSP Information Hub API").first.wait_for()
    page.get_by_text("/api/v1/extracts/").first.wait_for()
    assert all(url.startswith(live_server.url) for url in requests), requests
    assert not refused, refused


def test_the_documentation_is_for_signed_in_users_only(client):
    assert client.get("/api/docs/").status_code in (401, 403)
