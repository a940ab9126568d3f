"""Password reset by e-mail: audited, and the same answer whether or not the address is known."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from hub.models import AuditEntry, User
from tests.conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-pass-phrase-2026"


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.HUB_SITE_URL = "https://hub.wigan.example"
    return mail.outbox


def ask(client, email):
    return client.post("/password/reset/", {"email": email})


def test_the_sign_in_page_offers_a_reset(client, personas):
    page = client.get("/login/").content.decode()
    assert 'href="/password/reset/">Forgotten your password?' in page


def test_a_known_address_gets_a_link_that_sets_a_new_password_once(client, personas, outbox):
    response = ask(client, "Analyst@Demo.invalid")

    assert response.status_code == 302 and response["Location"] == "/password/reset/sent/"
    (message,) = outbox
    assert message.to == ["analyst@demo.invalid"]
    link = re.search(r"https://hub\.wigan\.example/password/set/\S+/", message.body).group(0)
    assert "analyst" in message.body
    entry = AuditEntry.objects.get(action="password_reset_requested")
    assert entry.detail == {"email": "Analyst@Demo.invalid", "known": True}
    assert entry.ip_address == "127.0.0.1"

    form = client.get(urlsplit(link).path, follow=True)
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert AuditEntry.objects.filter(action="password_set", actor=personas["analyst"]).exists()
    assert (
        client.post("/login/", {"username": "analyst", "password": PERSONA_PASSWORD}).status_code
        == 200
    )
    assert (
        client.post("/login/", {"username": "analyst", "password": NEW_PASSWORD}).status_code == 302
    )
    client.post("/logout/")

    again = client.get(urlsplit(link).path, follow=True)
    assert "This link has been used or has expired" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, personas, outbox):
    known = ask(client, "analyst@demo.invalid")
    known_page = client.get(known["Location"]).content.decode()
    outbox.clear()

    unknown = ask(client, "nobody@demo.invalid")

    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert client.get(unknown["Location"]).content.decode() == known_page
    assert outbox == []
    entry = AuditEntry.objects.filter(action="password_reset_requested").order_by("-id").first()
    assert entry.detail == {"email": "nobody@demo.invalid", "known": False}


def test_a_deactivated_user_gets_no_link(client, personas, outbox):
    User.objects.filter(username="analyst").update(is_active=False)

    response = ask(client, "analyst@demo.invalid")

    assert response["Location"] == "/password/reset/sent/"
    assert outbox == []
    assert AuditEntry.objects.get(action="password_reset_requested").detail["known"] is False


def test_a_reset_password_still_needs_the_second_factor(client, personas, outbox):
    from tests.conftest import authenticator

    authenticator(personas["coordinator"])
    ask(client, "coordinator@demo.invalid")
    link = re.search(r"https://\S+/password/set/\S+/", outbox[0].body).group(0)
    form = client.get(urlsplit(link).path, follow=True)
    client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    client.post("/login/", {"username": "coordinator", "password": NEW_PASSWORD})

    assert client.get("/")["Location"].startswith("/login/code/")


def test_resets_for_one_address_are_limited_in_the_hour_without_saying_so(
    client, personas, outbox, settings
):
    settings.HUB_PASSWORD_RESETS_PER_HOUR = 2
    answers = [ask(client, "health_supplier@demo.invalid") for _ in range(3)]

    assert {(a.status_code, a["Location"]) for a in answers} == {(302, "/password/reset/sent/")}
    assert len(outbox) == 2  # the third went nowhere
    entries = AuditEntry.objects.filter(
        action="password_reset_requested", detail__email="health_supplier@demo.invalid"
    ).order_by("id")
    assert [entry.detail.get("throttled", False) for entry in entries] == [False, False, True]
    # Another address is counted apart.
    ask(client, "police_supplier@demo.invalid")
    assert len(outbox) == 3
