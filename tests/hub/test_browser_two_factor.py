"""A co-ordinator sets up two-factor authentication and signs in with a code, in a real browser."""

import base64

import pytest
from django_otp.oath import TOTP

from hub.models import User
from tests.conftest import PERSONA_PASSWORD, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def type_password(page, live_server, username):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_coordinator_sets_up_an_authenticator_then_signs_in_with_a_code(
    page, live_server, personas
):
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip

    type_password(page, live_server, "coordinator")
    page.get_by_role("heading", name="Set up two-factor authentication").wait_for()
    assert page.locator("figure.qr-code svg").is_visible()
    # What a phone would read from the QR code: the key, from which it makes codes.
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    app = TOTP(base64.b32decode(secret))
    page.get_by_label("Code").fill(f"{app.token():06d}")
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    page.get_by_role("heading", name="Two-factor authentication is on").wait_for()
    assert page.locator("#backup-codes li").count() == 10
    page.get_by_role("link", name="I have kept them: go on").click()
    page.get_by_role("heading", name="Welcome").wait_for()
    page.get_by_role("link", name="Governance").click()
    page.get_by_role("button", name="Sign out coordinator").click()
    page.get_by_role("heading", name="Sign in").wait_for()

    type_password(page, live_server, "coordinator")
    page.get_by_role("heading", name="Type your code").wait_for()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    page.get_by_text("That code is not right").wait_for()
    # django-otp makes the next attempt wait after a wrong code; this one is past the wait.
    User.objects.get(username="coordinator").totpdevice_set.update(
        throttling_failure_timestamp=None, throttling_failure_count=0
    )
    page.get_by_label("Code").fill(totp_code(User.objects.get(username="coordinator")))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Welcome").wait_for()
    page.get_by_role("link", name="Account").click()
    assert "On: you sign in with your password" in page.locator("#two-factor-status").inner_text()

    assert violations == []
