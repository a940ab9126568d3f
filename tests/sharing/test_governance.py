"""The co-ordinator's console: ISP versions and signatures, partners, users, the audit trail."""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.utils import timezone

from hub.access import agency_standing
from hub.models import Agency, AuditEntry, InformationSharingProtocol, Signature, User
from sharing.access import access_decision
from tests.conftest import PERSONA_PASSWORD, sign_in, supply_row

pytestmark = pytest.mark.django_db

PERSONAS = [
    "coordinator", "dlo_police", "analyst", "associate_analyst", "lapsed_analyst",
    "police_supplier", "council_supplier", "health_supplier", "outsider",
]  # fmt: skip
COORDINATOR_ONLY = [
    "/governance/isp/", "/governance/agencies/new/", "/governance/users/",
    "/governance/users/{analyst}/", "/governance/profiles/", "/governance/profiles/new/",
]  # fmt: skip
COORDINATOR_AND_DLO = ["/governance/", "/governance/audit/", "/governance/audit/export.csv"]


@pytest.fixture
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.mark.parametrize("persona", PERSONAS)
def test_governance_pages_are_for_the_coordinator_and_the_audit_for_dlos_too(
    client, personas, persona
):
    sign_in(client, personas[persona])
    for url in COORDINATOR_ONLY:
        url = url.format(analyst=personas["analyst"].pk)
        assert client.get(url).status_code == (200 if persona == "coordinator" else 404), url
    for url in COORDINATOR_AND_DLO:
        expected = 200 if persona in ("coordinator", "dlo_police") else 404
        assert client.get(url).status_code == expected, url


def test_a_new_isp_version_cuts_everyone_off_until_they_sign_it(client, personas, locmem):
    sign_in(client, personas["coordinator"])
    today = timezone.localdate()
    response = client.post("/governance/isp/", {
        "action": "adopt", "version": "2027.1", "adopted_on": today.isoformat(),
        "review_due": (today + datetime.timedelta(days=365)).isoformat(),
    })  # fmt: skip
    assert response.status_code == 302

    from datasets.models import Dataset

    offences = Dataset.objects.get(slug="police_crime_offence")
    refused = access_decision(user=personas["analyst"], dataset=offences)
    assert refused.level == "none" and "has not signed ISP v2027.1" in refused.reason
    subjects = [message.subject for message in mail.outbox]
    assert "Please sign version 2027.1 of the Information Sharing Protocol" in subjects

    council = Agency.objects.get(name="Wigan Council")
    client.post("/governance/isp/", {
        "action": "sign", "agency": council.pk, "tier": "core",
        "signed_on": today.isoformat(), "signatory_name": "Chief Executive",
    })  # fmt: skip
    assert access_decision(user=personas["analyst"], dataset=offences).level == "depersonalised"
    assert AuditEntry.objects.filter(action="isp_signed", agency=council).exists()


def test_recording_a_withdrawal_ends_the_agencys_access_at_once(client, personas):
    sign_in(client, personas["coordinator"])
    council = Agency.objects.get(name="Wigan Council")
    signature = Signature.objects.get(agency=council, isp=InformationSharingProtocol.objects.get())

    client.post("/governance/isp/", {"action": "withdraw", "signature": signature.pk})

    assert agency_standing(agency=council).tier == "none"
    sign_in(client, personas["analyst"])
    assert "Wigan Council withdrew from ISP" in client.get("/").content.decode()


def test_the_signatories_page_shows_tier_signature_dlo_and_status(client, personas):
    sign_in(client, personas["coordinator"])
    page = client.get("/governance/isp/").content.decode()
    police = Agency.objects.get(name="Greater Manchester Police (Wigan)")
    row = re.search(rf'<tr id="agency-{police.pk}">(.*?)</tr>', page, re.S).group(1)
    assert "core" in row and "Chief Officer" in row and "David Lee" in row
    assert "Signed ISP v" in row
    assert "withdrew" in page and "has not signed" in page


def test_a_partner_is_admitted_only_with_every_responsible_authoritys_consent(client, personas):
    sign_in(client, personas["coordinator"])
    authorities = Agency.objects.filter(
        name__in=[
            "Wigan Council",
            "Greater Manchester Police (Wigan)",
            "Greater Manchester Fire and Rescue Service",
            "Greater Manchester Probation Trust",
        ]
    )
    some = [authorities.get(name="Wigan Council").pk]

    refused = client.post("/governance/agencies/new/", {
        "name": "Wigan Street Pastors", "agency_type": "voluntary_group", "consenting": some,
    })  # fmt: skip
    assert "not yet: Greater Manchester" in refused.content.decode()
    assert not Agency.objects.filter(name="Wigan Street Pastors").exists()

    client.post("/governance/agencies/new/", {
        "name": "Wigan Street Pastors", "agency_type": "voluntary_group",
        "consenting": [a.pk for a in authorities],
    })  # fmt: skip
    pastors = Agency.objects.get(name="Wigan Street Pastors")
    assert len(pastors.partner_consent["authorities"]) == 4
    assert agency_standing(agency=pastors).tier == "none"  # until it signs
    assert AuditEntry.objects.filter(action="agency_admitted", agency=pastors).exists()


def test_an_invited_user_sets_a_password_from_the_mail_and_signs_in(
    client, personas, locmem, django_capture_on_commit_callbacks, settings
):
    sign_in(client, personas["coordinator"])
    council = Agency.objects.get(name="Wigan Council")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/governance/users/", {
            "agency": council.pk, "email": "Sam.Jones@wigan.example", "first_name": "Sam",
            "last_name": "Jones", "roles": ["analyst"],
        })  # fmt: skip
    user = User.objects.get(email="sam.jones@wigan.example")
    assert not user.has_usable_password()
    (message,) = [m for m in mail.outbox if m.to == ["sam.jones@wigan.example"]]
    link = re.search(r"https?://\S+/password/set/\S+/", message.body).group(0)
    assert link.startswith(settings.HUB_SITE_URL)
    client.logout()

    form = client.get(urlparse(link).path, follow=True)
    response = client.post(form.redirect_chain[-1][0], {
        "new_password1": "a-long-pass-phrase-2026", "new_password2": "a-long-pass-phrase-2026",
    })  # fmt: skip
    assert response.status_code == 302
    signed_in = client.post(
        "/login/", {"username": user.username, "password": "a-long-pass-phrase-2026"}
    )
    assert signed_in.status_code == 302


def test_a_deactivated_user_is_out_at_once_in_the_browser_and_the_api(client, api_client, personas):
    analyst = personas["analyst"]
    from hub.services import token_issue

    token = token_issue(user=analyst, acting_user=analyst)
    analyst_client = type(client)()
    analyst_client.post("/login/", {"username": "analyst", "password": PERSONA_PASSWORD})
    assert analyst_client.get("/extracts/").status_code == 200

    sign_in(client, personas["coordinator"])
    client.post(f"/governance/users/{analyst.pk}/", {"action": "deactivate"})

    assert analyst_client.get("/extracts/").status_code == 302  # back to sign in
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/datasets/").status_code == 401
    assert AuditEntry.objects.filter(action="user_deactivated").exists()


def test_the_user_page_says_what_they_can_extract_by_field_class_and_why(client, personas):
    sign_in(client, personas["coordinator"])
    page = client.get(f"/governance/users/{personas['associate_analyst'].pk}/").content.decode()
    row = re.search(r'<tr id="access-fire_incident">(.*?)</tr>', page, re.S).group(1)
    # The why names the profile that grants the level and the ISP tier's rule.
    assert "Aggregate counts, perturbed" in row and (
        "Associate partners profile: aggregate counts, perturbed; the associate ISP tier allows "
        "at most depersonalised records, k-anonymised, and never personal data." in row
    )
    row = re.search(r'<tr id="access-police_crime_offence">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    # The level in words; no identifying fields.
    assert cells[1:6] == ["Depersonalised (sanitised) records", "No", "Yes", "Yes", "Yes"]


def test_roles_and_profiles_are_set_from_the_user_page(client, personas):
    sign_in(client, personas["coordinator"])
    supplier = personas["council_supplier"]
    council = Agency.objects.get(name="Wigan Council")
    from sharing.models import AccessProfile

    client.post(f"/governance/users/{supplier.pk}/", {
        "action": "roles", "agency": council.pk, "roles": ["supplier", "analyst"],
    })  # fmt: skip
    profile = AccessProfile.objects.get(name="Partnership analysts")
    client.post(
        f"/governance/users/{supplier.pk}/", {"action": "profiles", "profiles": [profile.pk]}
    )

    from datasets.models import Dataset

    offences = Dataset.objects.get(slug="police_crime_offence")
    assert access_decision(user=supplier, dataset=offences).level == "depersonalised"
    assert AuditEntry.objects.filter(action="access_profile_assigned").exists()


def test_a_dlo_sees_who_took_what_of_their_agencys_data_and_nothing_else(
    client, api_client, personas
):
    from datasets.models import Dataset
    from hub.services import audit_record

    police = Agency.objects.get(name="Greater Manchester Police (Wigan)")
    supply_row(
        dataset=Dataset.objects.get(slug="police_crime_offence"), agency=police,
        uploaded_by=personas["police_supplier"], period_start=datetime.date(2026, 9, 1),
        period_end=datetime.date(2026, 9, 30),
    )  # fmt: skip
    audit_record(actor=personas["analyst"], action="extract_downloaded",
                 dataset_slug="police_crime_offence")  # fmt: skip
    audit_record(actor=personas["analyst"], action="extract_downloaded", dataset_slug="council_asb")

    # Another agency supplying a dataset the police supply too: its upload is not the DLO's.
    council = Agency.objects.get(name="Wigan Council")
    theirs = supply_row(
        dataset=Dataset.objects.get(slug="police_crime_offence"), agency=council,
        uploaded_by=personas["council_supplier"], period_start=datetime.date(2026, 9, 1),
        period_end=datetime.date(2026, 9, 30),
    )  # fmt: skip
    audit_record(actor=personas["council_supplier"], action="supply_uploaded", agency=council,
                 dataset_slug="police_crime_offence", target=theirs)  # fmt: skip

    sign_in(client, personas["dlo_police"])
    page = client.get("/governance/audit/?action=extract").content.decode()
    assert "police_crime_offence" in page and "council_asb" not in page
    uploads = client.get("/governance/audit/?action=supply_uploaded").content.decode()
    assert str(theirs.pk) not in uploads and personas["council_supplier"].username not in uploads
    export = b"".join(client.get("/governance/audit/export.csv").streaming_content).decode()
    assert "police_crime_offence" in export and "council_asb" not in export


def test_the_audit_trail_cannot_be_changed_through_any_page(client, personas):
    sign_in(client, personas["coordinator"])
    entry = AuditEntry.objects.first()
    for url in ["/governance/audit/", "/governance/audit/export.csv"]:
        assert client.post(url, {"id": entry.pk, "action": "edited"}).status_code == 405
        assert client.delete(url).status_code == 405
    entry.refresh_from_db()
    assert entry.action != "edited"


def test_an_exported_cell_cannot_run_as_a_formula(client, personas):
    from hub.services import audit_record

    audit_record(
        actor=personas["analyst"], action="extract_refused", dataset_slug="=cmd|'/C calc'!A0"
    )
    sign_in(client, personas["coordinator"])
    export = b"".join(client.get("/governance/audit/export.csv").streaming_content).decode()
    assert ",'=cmd|'/C calc'!A0," in export
    assert ",=cmd" not in export
