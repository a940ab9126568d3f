"""Two-factor authentication (django-otp): required for co-ordinators, DLOs, Caldicott Guardians
and anyone with personal-level access; optional for everyone else."""

import base64
import datetime
import re

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from datasets.models import Dataset
from hub.access import two_factor_required
from hub.choices import Role
from hub.demo import demo_load, demo_sign_in_list, demo_totp_key
from hub.models import Agency, ApiToken, AuditEntry
from hub.services import backup_codes_issue, membership_grant, token_issue
from sharing.models import PersonalDataRequest
from tests.conftest import PERSONA_PASSWORD, authenticator, sign_in, totp_code

pytestmark = pytest.mark.django_db

POLICE = "Greater Manchester Police (Wigan)"
# Pages and session API calls that a session owing its second factor must not reach.
HELD_PAGES = ["/", "/catalogue/", "/extracts/", "/account/", "/governance/users/", "/admin/"]
HELD_API = ["/api/v1/datasets/", "/api/v1/extracts/", "/api/schema/"]


def personal_access(analyst, *, status="approved", days=30):
    """An approved (by default), unexpired personal-data request held by the analyst."""
    return PersonalDataRequest.objects.create(
        requester=analyst,
        requester_agency=Agency.objects.get(name="Wigan Council"),
        supplying_agency=Agency.objects.get(name=POLICE),
        dataset=Dataset.objects.get(slug="police_crime_offender"),
        purpose="Problem profile",
        legal_basis="cda_s115",
        records_needed="October",
        period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31),
        days_needed=days,
        status=status,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )


def password_sign_in(client, username):
    response = client.post("/login/", {"username": username, "password": PERSONA_PASSWORD})
    assert response.status_code == 302, "the password step should pass"
    return response


def required_user(personas, kind):
    """A user of each kind who must use a second factor."""
    if kind == "personal access":
        personal_access(personas["analyst"])
        return personas["analyst"]
    if kind == "caldicott":
        user = personas["health_supplier"]
        membership_grant(
            user=user,
            agency=user.memberships.get().agency,
            roles=[Role.SUPPLIER, Role.CALDICOTT],
            acting_user=None,
            system="test",
        )
        return user
    return personas[kind]


def test_one_function_decides_who_must_use_a_second_factor(personas):
    assert two_factor_required(user=personas["coordinator"])
    assert two_factor_required(user=personas["dlo_police"])
    for optional in ["analyst", "police_supplier", "associate_analyst", "outsider"]:
        assert not two_factor_required(user=personas[optional]), optional
    assert two_factor_required(user=required_user(personas, "caldicott"))

    analyst = personas["analyst"]
    pending = personal_access(analyst, status="pending")
    assert not two_factor_required(user=analyst)
    pending.status = "approved"
    pending.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    pending.save()
    assert not two_factor_required(user=analyst), "an expired request gives no access"
    personal_access(analyst)
    assert two_factor_required(user=analyst)


@pytest.mark.parametrize("kind", ["coordinator", "dlo_police", "caldicott", "personal access"])
def test_a_required_user_without_an_authenticator_reaches_nothing_but_set_up(
    client, personas, kind
):
    user = required_user(personas, kind)
    password_sign_in(client, user.username)

    for url in HELD_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/account/two-factor/?next="), url
    for url in HELD_API:
        assert client.get(url).status_code == 403, url
    assert "two-factor step" in client.get(HELD_API[0]).json()["detail"]
    # Nor can a token be had to go round the code step.
    assert client.post("/account/token/").status_code == 302
    assert not ApiToken.objects.filter(user=user).exists()
    assert client.get("/account/two-factor/").status_code == 200


@pytest.mark.parametrize("kind", ["coordinator", "dlo_police", "personal access"])
def test_a_required_user_with_an_authenticator_is_held_at_the_code_step(client, personas, kind):
    user = required_user(personas, kind)
    authenticator(user)
    password_sign_in(client, user.username)

    for url in HELD_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/login/code/?next={url.replace('/', '%2F')}", url
    for url in HELD_API:
        assert client.get(url).status_code == 403, url

    response = client.post("/login/code/", {"code": totp_code(user), "next": "/extracts/"})
    assert response.status_code == 302 and response["Location"] == "/extracts/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/datasets/").status_code == 200


def test_an_approval_during_a_session_holds_it_at_the_next_request(client, personas):
    analyst = personas["analyst"]
    password_sign_in(client, "analyst")
    assert client.get("/extracts/").status_code == 200

    personal_access(analyst)

    assert client.get("/extracts/").status_code == 302


def test_an_optional_user_is_not_asked_for_a_code(client, personas):
    password_sign_in(client, "analyst")
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/datasets/").status_code == 200
    account = client.get("/account/").content.decode()
    assert "Set up two-factor authentication" in account
    assert not TOTPDevice.objects.filter(user=personas["analyst"]).exists()


def enrol(client, user, *, next_url=""):
    page = client.get("/account/two-factor/", {"next": next_url} if next_url else {})
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.content.decode()).group(1)
    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key
    code = f"{TOTP(device.bin_key).token():06d}"
    return page, client.post("/account/two-factor/", {"code": code, "next": next_url})


def test_a_coordinator_enrols_and_gets_backup_codes_once(client, personas):
    coordinator = personas["coordinator"]
    response = password_sign_in(client, "coordinator")
    response = client.get(response["Location"])
    assert response["Location"] == "/account/two-factor/?next=%2F"

    wrong = client.post("/account/two-factor/", {"code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    assert AuditEntry.objects.filter(
        action="two_factor_failed", actor=coordinator, detail__step="enrolment"
    ).exists()
    device = TOTPDevice.objects.get(user=coordinator)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)

    page, done = enrol(client, coordinator, next_url="/governance/users/")
    body = page.content.decode()
    assert "<svg" in body and "<title>QR code" in body
    assert "style=" not in body and "<script" not in body  # the CSP allows neither inline
    assert "no-store" in page["Cache-Control"]

    assert done.status_code == 200 and "no-store" in done["Cache-Control"]
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert 'href="/governance/users/"' in done.content.decode()
    assert TOTPDevice.objects.get(user=coordinator).confirmed
    assert AuditEntry.objects.filter(action="two_factor_enrolled", actor=coordinator).exists()
    assert client.get("/governance/users/").status_code == 200
    assert client.get("/api/v1/datasets/").status_code == 200
    # Set up once: the page now leads to the account, with no second authenticator.
    assert client.get("/account/two-factor/")["Location"] == "/account/"
    assert TOTPDevice.objects.filter(user=coordinator).count() == 1


def test_a_password_alone_cannot_add_or_remove_an_authenticator(client, personas):
    coordinator = personas["coordinator"]
    authenticator(coordinator)
    password_sign_in(client, "coordinator")

    assert client.get("/account/two-factor/")["Location"].startswith("/login/code/")
    assert client.post("/account/two-factor/", {"code": "123456"})["Location"].startswith(
        "/login/code/"
    )
    assert client.post("/account/two-factor/remove/").status_code == 302
    assert client.post("/account/two-factor/backup-codes/").status_code == 302
    assert TOTPDevice.objects.filter(user=coordinator).count() == 1
    assert not StaticDevice.objects.filter(user=coordinator).exists()


def test_an_optional_user_who_enrols_is_asked_for_a_code_from_then_on(client, personas):
    analyst = personas["analyst"]
    password_sign_in(client, "analyst")
    _, done = enrol(client, analyst)
    assert done.status_code == 200
    client.post("/logout/")

    password_sign_in(client, "analyst")
    assert client.get("/extracts/")["Location"] == "/login/code/?next=%2Fextracts%2F"
    client.post("/login/code/", {"code": totp_code(analyst)})
    assert client.get("/extracts/").status_code == 200


def test_a_wrong_code_is_refused_audited_and_throttled(client, personas, settings):
    # One wrong code makes the next attempt wait an hour, so that the test cannot outrun it.
    settings.OTP_TOTP_THROTTLE_FACTOR = 3600
    dlo = personas["dlo_police"]
    authenticator(dlo)
    password_sign_in(client, "dlo_police")

    wrong = client.post("/login/code/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()

    right_too_soon = client.post("/login/code/", {"code": totp_code(dlo)})
    assert right_too_soon.status_code == 200
    assert "Too many wrong codes" in right_too_soon.content.decode()
    assert client.get("/").status_code == 302
    failures = AuditEntry.objects.filter(action="two_factor_failed", actor=dlo)
    assert [entry.detail["throttled"] for entry in failures.order_by("id")] == [False, True]
    assert all(entry.ip_address == "127.0.0.1" for entry in failures)

    TOTPDevice.objects.filter(user=dlo).update(
        throttling_failure_timestamp=timezone.now() - datetime.timedelta(hours=2)
    )
    assert client.post("/login/code/", {"code": totp_code(dlo)}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_code_works_once(client, personas):
    dlo = personas["dlo_police"]
    code = totp_code(dlo)
    password_sign_in(client, "dlo_police")
    assert client.post("/login/code/", {"code": code}).status_code == 302
    client.post("/logout/")

    password_sign_in(client, "dlo_police")
    assert client.post("/login/code/", {"code": code}).status_code == 200
    assert client.get("/").status_code == 302


def test_a_backup_code_works_once_and_its_use_is_audited(client, personas):
    coordinator = personas["coordinator"]
    authenticator(coordinator)
    codes = backup_codes_issue(user=coordinator)
    password_sign_in(client, "coordinator")

    response = client.post("/login/code/", {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get("/governance/users/").status_code == 200
    used = AuditEntry.objects.get(action="backup_code_used")
    assert (used.actor, used.detail) == (coordinator, {"left": 9})
    assert "9 unused backup codes" in client.get("/account/").content.decode()
    client.post("/logout/")

    password_sign_in(client, "coordinator")
    assert client.post("/login/code/", {"code": codes[0]}).status_code == 200
    assert client.get("/").status_code == 302


def test_new_backup_codes_replace_the_old_ones(client, personas, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0  # so that a wrong code does not delay the next
    coordinator = personas["coordinator"]
    old = backup_codes_issue(user=coordinator)
    sign_in(client, coordinator)

    response = client.post("/account/two-factor/backup-codes/")
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert client.get("/").status_code == 200, "the session stays verified"
    client.post("/logout/")
    password_sign_in(client, "coordinator")
    assert client.post("/login/code/", {"code": old[1]}).status_code == 200
    assert client.post("/login/code/", {"code": new[1]}).status_code == 302


def test_a_user_removes_their_authenticator_and_a_required_one_must_set_up_again(client, personas):
    dlo = personas["dlo_police"]
    sign_in(client, dlo)
    assert client.get("/").status_code == 200

    response = client.post("/account/two-factor/remove/")

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=dlo).exists()
    assert AuditEntry.objects.filter(action="two_factor_removed", actor=dlo).exists()
    assert client.get("/")["Location"] == "/account/two-factor/?next=%2F"


def test_the_coordinator_resets_a_users_two_factor_and_nobody_else_can(client, personas):
    dlo, coordinator = personas["dlo_police"], personas["coordinator"]
    dlo_client = type(client)()
    sign_in(dlo_client, dlo)
    backup_codes_issue(user=dlo)
    assert dlo_client.get("/").status_code == 200

    sign_in(client, personas["analyst"])
    assert (
        client.post(f"/governance/users/{dlo.pk}/", {"action": "reset_two_factor"}).status_code
        == 404
    )
    sign_in(client, coordinator)
    page = client.get(f"/governance/users/{dlo.pk}/").content.decode()
    assert "On (10 backup codes left); required by their roles or access" in page
    client.post(f"/governance/users/{dlo.pk}/", {"action": "reset_two_factor"})

    assert not TOTPDevice.objects.filter(user=dlo).exists()
    assert not StaticDevice.objects.filter(user=dlo).exists()
    reset = AuditEntry.objects.get(action="two_factor_reset")
    assert (reset.actor, reset.object_id) == (coordinator, str(dlo.pk))
    # The DLO's session, verified by the device that is gone, is sent to set up a new one.
    assert dlo_client.get("/")["Location"] == "/account/two-factor/?next=%2F"


def test_token_calls_of_a_user_who_chose_a_second_factor_are_not_held(api_client, personas):
    analyst = personas["analyst"]
    authenticator(analyst)  # set up by choice: their roles and access do not need one
    key = token_issue(user=analyst, acting_user=None, system="test")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/datasets/").status_code == 200


def test_demo_personas_who_need_a_second_factor_get_a_derived_authenticator(client, settings, db):
    settings.DEMO = True
    demo_load(reference_data=False)
    demo_load(reference_data=False)  # idempotent: one device each, enrolled once

    for username in ["coordinator", "dlo_police"]:
        device = TOTPDevice.objects.get(user__username=username)
        assert device.confirmed and device.key == demo_totp_key(username)
    assert not TOTPDevice.objects.filter(user__username="analyst").exists()
    assert AuditEntry.objects.filter(action="two_factor_enrolled").count() == 2

    listed = {persona.username: persona.code for persona in demo_sign_in_list()}
    assert re.fullmatch(r"\d{6}", listed["coordinator"]) and listed["analyst"] == ""
    page = client.get("/login/").content.decode()
    assert 'id="demo-coordinator"' in page and 'id="demo-analyst"' in page

    settings.SECRET_KEY = "another-hub-" + "z" * 40
    assert demo_totp_key("coordinator") != TOTPDevice.objects.get(user__username="coordinator").key


def test_no_code_is_shown_outside_demo_mode(client, settings, personas):
    coordinator = personas["coordinator"]
    TOTPDevice.objects.create(
        user=coordinator, name="Demo", key=demo_totp_key("coordinator"), confirmed=True
    )
    settings.DEMO = True
    assert any(persona.code for persona in demo_sign_in_list())

    settings.DEMO = False
    assert demo_sign_in_list() == []
    page = client.get("/login/").content.decode()
    assert "demo-personas" not in page and "demo-coordinator" not in page
    assert "Forgotten your password?" in page


def test_the_admin_never_shows_an_authenticators_key(client, personas):
    coordinator = personas["coordinator"]
    coordinator.is_staff = coordinator.is_superuser = True
    coordinator.save()
    sign_in(client, coordinator)
    device = authenticator(coordinator)

    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")

    assert page.status_code == 200
    assert device.key not in page.content.decode()


def test_the_code_step_sends_nobody_to_another_site(client, personas):
    dlo = personas["dlo_police"]
    password_sign_in(client, "dlo_police")

    response = client.post(
        "/login/code/", {"code": totp_code(dlo), "next": "https://evil.example/"}
    )

    assert response.status_code == 302 and response["Location"] == "/"
