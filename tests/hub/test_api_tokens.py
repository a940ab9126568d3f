"""Self-service API tokens: shown once, only a hash stored, revocable at once."""

import hashlib
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from hub.models import ApiToken, AuditEntry
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def issue(client) -> str:
    response = client.post("/account/token/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return re.search(r'id="api-token-key">([^<]+)<', response.content.decode()).group(1)


def test_a_token_is_shown_once_and_only_its_hash_is_stored(client, api_client, personas):
    analyst = personas["analyst"]
    sign_in(client, analyst)

    key = issue(client)

    token = ApiToken.objects.get(user=analyst)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith("hub_") and len(key) > 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM hub_apitoken")
        assert not any(key in str(value) for row in cursor.fetchall() for value in row)
    account = client.get("/account/").content.decode()
    assert key not in account
    assert token.prefix in account and "never" in account  # issued, not yet used
    assert AuditEntry.objects.filter(action="token_issued", actor=analyst).exists()

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/datasets/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert "never" not in client.get("/account/").content.decode()


def test_a_revoked_token_is_refused_at_once(client, api_client, personas):
    analyst = personas["analyst"]
    sign_in(client, analyst)
    key = issue(client)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/datasets/").status_code == 200

    assert client.post("/account/token/revoke/").status_code == 302

    response = api_client.get("/api/v1/datasets/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not ApiToken.objects.filter(user=analyst).exists()
    assert AuditEntry.objects.filter(action="token_revoked", actor=analyst).exists()
    assert "You have no API token." in client.get("/account/").content.decode()


def test_a_new_token_replaces_the_old_one(client, api_client, personas):
    sign_in(client, personas["police_supplier"])
    old = issue(client)
    new = issue(client)

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get("/api/v1/datasets/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api_client.get("/api/v1/datasets/").status_code == 200


@pytest.mark.parametrize("header", ["Token not-a-key", "Token ", "Token a b"])
def test_a_made_up_token_is_refused(api_client, personas, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    assert api_client.get("/api/v1/datasets/").status_code == 401


def test_a_required_user_gets_no_token_even_from_a_verified_session(client, personas):
    coordinator = personas["coordinator"]
    client.force_login(coordinator)  # the password step alone
    assert client.post("/account/token/").status_code == 302
    assert not ApiToken.objects.filter(user=coordinator).exists()

    sign_in(client, coordinator)
    assert "Issue a token" not in client.get("/account/").content.decode()
    response = client.post("/account/token/", follow=True)

    assert response.redirect_chain == [("/account/", 302)]
    assert "which an API token cannot carry" in response.content.decode()
    assert not ApiToken.objects.filter(user=coordinator).exists()
    refused = AuditEntry.objects.get(action="token_issue_refused")
    assert (refused.actor, refused.object_id) == (coordinator, str(coordinator.pk))


def test_issue_token_refuses_a_user_who_needs_a_second_factor(personas, capsys):
    with pytest.raises(CommandError, match="which an API token cannot carry"):
        call_command("issue_token", "dlo_police")
    assert not ApiToken.objects.filter(user=personas["dlo_police"]).exists()
    assert "hub_" not in capsys.readouterr().out


def test_issue_token_prints_a_working_key_and_stores_only_its_hash(api_client, personas, capsys):
    call_command("issue_token", "council_supplier")
    key = capsys.readouterr().out.strip().splitlines()[-1]

    assert ApiToken.objects.get(user=personas["council_supplier"]).digest == (
        hashlib.sha256(key.encode()).hexdigest()
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/datasets/").status_code == 200


def test_the_openapi_description_names_both_ways_in(api_client, personas):
    api_client.force_authenticate(personas["analyst"])
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["in"] == "header" and "Token" in schemes["tokenAuth"]["description"]
    assert schemes["cookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    assert "account page" in schema["info"]["description"]
    assert schema["paths"]["/api/v1/datasets/"]["get"]["security"] == [
        {"tokenAuth": []},
        {"cookieAuth": []},
    ]
