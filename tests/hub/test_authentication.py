import pytest

from hub.models import AuditEntry
from tests.conftest import PERSONA_PASSWORD, sign_in

pytestmark = pytest.mark.django_db


def test_pages_send_anonymous_visitors_to_sign_in(client, personas):
    for url in [
        "/",
        "/catalogue/",
        "/catalogue/fire_incident/",
        "/catalogue/fire_incident/template.csv",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url


def test_signing_in_and_out_is_audited(client, personas):
    response = client.post("/login/", {"username": "analyst", "password": PERSONA_PASSWORD})
    assert response.status_code == 302
    client.post("/logout/")

    actions = list(
        AuditEntry.objects.filter(actor_username="analyst").values_list("action", flat=True)
    )
    assert sorted(actions) == ["login", "logout"]


def test_a_failed_sign_in_is_audited_without_the_password(client, personas):
    response = client.post("/login/", {"username": "analyst", "password": "guess-guess-guess"})

    assert response.status_code == 200
    assert b"did not match" in response.content
    entry = AuditEntry.objects.get(action="login_failed")
    assert entry.detail == {"username": "analyst"}
    assert "guess" not in str(entry.detail)


def test_the_home_page_shows_the_users_agency_and_roles(client, personas):
    sign_in(client, personas["dlo_police"])
    response = client.get("/")
    assert b"Greater Manchester Police (Wigan)" in response.content
    assert b"Designated liaison officer" in response.content


def test_a_user_in_no_agency_is_told_how_to_get_access(client, personas):
    sign_in(client, personas["outsider"])
    assert b"Ask the CSP co-ordinator" in client.get("/").content


def test_the_catalogue_page_lists_datasets_with_kind_and_tier(client, personas):
    sign_in(client, personas["analyst"])
    page = client.get("/catalogue/").content.decode()
    assert "Police recorded crime: the offence" in page
    assert "Prolific and other Priority Offenders" in page or "ppo" in page
    assert "Sensitive personalised" in page and "Peripheral" in page


def test_the_dataset_page_lists_fields_with_their_class(client, personas):
    sign_in(client, personas["analyst"])
    page = client.get("/catalogue/police_crime_offender/").content.decode()
    assert "date_of_birth" in page and "identifying" in page
    assert client.get("/catalogue/no_such_dataset/").status_code == 404


def test_the_audit_trail_cannot_be_changed_in_the_admin(client, personas):
    coordinator = personas["coordinator"]
    coordinator.is_staff = True
    coordinator.is_superuser = True
    coordinator.save()
    sign_in(client, coordinator)
    entry = AuditEntry.objects.first()

    assert client.get(f"/admin/hub/auditentry/{entry.pk}/delete/").status_code == 403
    client.post(f"/admin/hub/auditentry/{entry.pk}/change/", {"action": "edited"})
    entry.refresh_from_db()
    assert entry.action != "edited"


def test_the_home_page_tells_a_withdrawn_agencys_user_why_they_get_nothing(client, personas):
    sign_in(client, personas["lapsed_analyst"])
    page = client.get("/").content.decode()
    assert "Leigh Neighbourhood Watch withdrew from ISP" in page
    assert "you cannot supply or extract data through this agency" in page


def test_the_home_page_shows_a_core_partners_standing(client, personas):
    sign_in(client, personas["analyst"])
    page = client.get("/").content.decode()
    assert "as a core partner" in page
    assert "you cannot supply or extract" not in page


def test_the_dataset_page_says_which_agencies_supply_it(client, personas):
    sign_in(client, personas["analyst"])
    page = client.get("/catalogue/council_asb/").content.decode()
    assert "District, borough, unitary or county council" in page
    assert "Housing association / registered social landlord" in page


def test_repeated_failures_pause_that_username_from_that_address(client, personas, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "analyst", "password": "wrong-wrong-wrong"})

    locked = client.post("/login/", {"username": "analyst", "password": PERSONA_PASSWORD})

    assert locked.status_code == 429
    assert "too many failed attempts" in locked.content.decode()
    assert AuditEntry.objects.filter(action="login_locked_out").exists()
    elsewhere = type(client)(REMOTE_ADDR="10.0.0.9")
    response = elsewhere.post("/login/", {"username": "analyst", "password": PERSONA_PASSWORD})
    assert response.status_code == 302  # the same user from another address is not locked


def test_a_success_before_the_limit_clears_the_failures(client, personas, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "analyst", "password": "wrong-wrong-wrong"})
    assert (
        client.post("/login/", {"username": "analyst", "password": PERSONA_PASSWORD}).status_code
        == 302
    )
    client.post("/logout/")
    client.post("/login/", {"username": "analyst", "password": "wrong-wrong-wrong"})
    assert (
        client.post("/login/", {"username": "analyst", "password": PERSONA_PASSWORD}).status_code
        == 302
    )
