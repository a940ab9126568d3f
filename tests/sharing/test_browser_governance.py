"""The co-ordinator and a DLO at work, in a real browser."""

import datetime

import pytest

from datasets.models import Dataset
from hub.choices import AgencyType, Role
from hub.models import Agency, User
from sharing.services.requests import request_create
from tests.conftest import PERSONA_PASSWORD, browser_sign_in
from tests.sharing.test_requests import member, signed_agency

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username, password=PERSONA_PASSWORD):
    browser_sign_in(page, live_server, username, password)
    page.get_by_role("heading", name="Welcome").wait_for()


def test_the_coordinator_admits_an_agency_and_invites_a_user(page, live_server, personas, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sign_in(page, live_server, "coordinator")
    page.get_by_role("link", name="Governance").click()
    page.get_by_role("link", name="Admit a partner agency").click()
    page.get_by_label("Name").fill("Wigan Street Pastors")
    page.get_by_label("Kind of agency").select_option("voluntary_group")
    for authority in page.locator("#id_consenting input[type=checkbox]").all():
        authority.check()
    page.get_by_role("button", name="Admit the agency").click()
    page.get_by_text("Wigan Street Pastors is a partner.").wait_for()

    page.get_by_label("Agency").select_option(label="Wigan Street Pastors")
    page.get_by_label("Tier").select_option("associate")
    page.get_by_label("Signed on").fill("2026-11-01")
    page.get_by_label("Signed by").fill("Revd. A. Smith")
    page.get_by_role("button", name="Record the signature").click()
    page.get_by_text("Signature recorded.").wait_for()

    page.goto(f"{live_server.url}/governance/users/")
    page.get_by_label("Agency").select_option(label="Wigan Street Pastors")
    page.get_by_label("Email").fill("coordinator@pastors.example")
    page.get_by_label("First name").fill("Ruth")
    page.get_by_label("Last name").fill("Ashton")
    page.get_by_label("Analyst").check()
    page.get_by_role("button", name="Invite").click()
    page.get_by_text("is invited").wait_for()
    assert "Ruth Ashton" in page.get_by_role("heading", level=1).inner_text()
    assert "Wigan Street Pastors: Analyst" in page.locator("dl.facts").inner_text()
    user = User.objects.get(email="coordinator@pastors.example")
    assert Agency.objects.get(name="Wigan Street Pastors").partner_consent["authorities"]
    assert user.memberships.get().roles == ["analyst"]


def test_a_dlo_approves_a_personal_data_request(page, live_server, personas):
    prison = signed_agency("HMP Hindley", AgencyType.PRISON)
    dlo = member(prison, "prison_dlo", [Role.DLO])
    dlo.set_password(PERSONA_PASSWORD)
    dlo.save(update_fields=["password"])
    data_request = request_create(
        requester=personas["analyst"], dataset=Dataset.objects.get(slug="prison_release"),
        supplying_agency=prison, purpose="Burglary problem profile", legal_basis="cda_s115",
        legal_basis_detail="", records_needed="October releases",
        period_start=datetime.date(2026, 10, 1), period_end=datetime.date(2026, 10, 31),
        days_needed=14,
    )  # fmt: skip

    sign_in(page, live_server, "prison_dlo")
    page.get_by_role("link", name="Requests").click()
    page.get_by_role("link", name=data_request.created_at.strftime("%d/%m/%Y")).first.click()
    assert "Burglary problem profile" in page.locator("dl.facts").inner_text()
    page.get_by_label("Approve").check()
    page.get_by_label("Reasons").fill("Proportionate; 14 days is enough.")
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("Your decision is recorded.").wait_for()
    assert page.locator("#request-status").inner_text().startswith("Approved until")
