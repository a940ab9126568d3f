"""Passwords are stored with Argon2; a session ends after a spell without requests."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.contrib.sessions.models import Session
from django.utils import timezone

from hub.models import User

pytestmark = pytest.mark.django_db


def test_passwords_are_stored_with_argon2(settings):
    from hub import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS  # the tests use a fast one
    user = User.objects.create_user("hashed", password="a-long-pass-phrase")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password("a-long-pass-phrase")


def test_a_session_idle_past_its_time_is_signed_out_and_each_request_renews_it(client, settings):
    user = User.objects.create_user("idle", password="a-long-pass-phrase")
    client.force_login(user)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )

    assert client.get("/").status_code == 200
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)

    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
