"""API tokens and the standing they were issued under: an account that needs a second factor
cannot use one, and a token ends when its holder's sign-in changes or their access is lowered."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from datasets.models import Dataset
from hub.choices import Role
from hub.models import Agency, ApiToken, AuditEntry, InformationSharingProtocol, Signature
from hub.services import api_token_digest, membership_grant, token_issue
from sharing.choices import AccessLevel
from sharing.models import AccessProfile, PersonalDataRequest
from sharing.services.profiles import access_profile_assign
from tests.conftest import authenticator, sign_in

pytestmark = pytest.mark.django_db

DATASETS = "/api/v1/datasets/"
COUNCIL = "Wigan Council"
POLICE = "Greater Manchester Police (Wigan)"


def working_token(api_client, user) -> str:
    key = token_issue(user=user, acting_user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get(DATASETS).status_code == 200
    return key


def token_from_before(user) -> str:
    """A token such as one issued before its holder needed a second factor."""
    key = "hub_" + "k" * 43
    ApiToken.objects.create(user=user, digest=api_token_digest(key), prefix=key[:10])
    return key


def personal_access(analyst) -> PersonalDataRequest:
    return PersonalDataRequest.objects.create(
        requester=analyst,
        requester_agency=Agency.objects.get(name=COUNCIL),
        supplying_agency=Agency.objects.get(name=POLICE),
        dataset=Dataset.objects.get(slug="police_crime_offender"),
        purpose="Problem profile",
        legal_basis="cda_s115",
        records_needed="October",
        period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31),
        days_needed=30,
        status="approved",
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )


def revoked_for(user) -> list[str]:
    """The reasons recorded for revoking the user's tokens."""
    entries = AuditEntry.objects.filter(action="token_revoked", object_id=str(user.pk))
    return [entry.detail["reason"] for entry in entries]


def assert_ended(api_client, user, reason):
    assert api_client.get(DATASETS).status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()
    assert any(reason in recorded for recorded in revoked_for(user)), revoked_for(user)


# -- no token for an account that needs a second factor ---------------------------------------


@pytest.mark.parametrize("username", ["coordinator", "dlo_police"])
def test_a_token_of_a_coordinator_or_dlo_is_refused_and_the_refusal_audited(
    api_client, personas, username
):
    user = personas[username]
    key = token_from_before(user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api_client.get(DATASETS)

    assert response.status_code == 403
    assert "signed-in session that has passed its code step" in response.json()["detail"]
    refusal = AuditEntry.objects.get(action="token_refused")
    assert refusal.actor == user and refusal.detail["prefix"] == key[:10]
    assert key not in str(refusal.detail)
    assert ApiToken.objects.get(user=user).last_used_at is None


def test_a_token_stops_working_when_its_holder_is_approved_personal_data(api_client, personas):
    analyst = personas["analyst"]
    key = working_token(api_client, analyst)

    personal_access(analyst)

    response = api_client.get(DATASETS)
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]
    assert AuditEntry.objects.filter(action="token_refused", actor=analyst).count() == 1
    assert key[:10] == AuditEntry.objects.get(action="token_refused").detail["prefix"]


def test_no_token_is_issued_to_a_user_with_personal_data_access(client, personas):
    analyst = personas["analyst"]
    personal_access(analyst)
    sign_in(client, analyst)

    response = client.post("/account/token/", follow=True)

    assert "which an API token cannot carry" in response.content.decode()
    assert not ApiToken.objects.filter(user=analyst).exists()


# -- a token ends with the standing it was issued under ---------------------------------------


def test_a_password_set_from_an_emailed_link_ends_the_token(client, api_client, personas):
    analyst = personas["analyst"]
    working_token(api_client, analyst)
    uid = urlsafe_base64_encode(force_bytes(analyst.pk))
    link = f"/password/set/{uid}/{default_token_generator.make_token(analyst)}/"

    form = client.get(link, follow=True)
    new = "a-new-long-pass-phrase-2026"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})

    assert AuditEntry.objects.filter(action="password_set", actor=analyst).exists()
    assert_ended(api_client, analyst, "password")


def test_a_password_change_ends_the_token(api_client, personas):
    analyst = personas["analyst"]
    working_token(api_client, analyst)

    analyst.set_password("another-long-pass-phrase")
    analyst.save()

    assert_ended(api_client, analyst, "password changed")


def test_a_second_factor_reset_by_the_coordinator_ends_the_token(client, api_client, personas):
    analyst = personas["analyst"]
    authenticator(analyst)
    working_token(api_client, analyst)
    sign_in(client, personas["coordinator"])

    client.post(f"/governance/users/{analyst.pk}/", {"action": "reset_two_factor"})

    assert_ended(api_client, analyst, "second factor reset")
    assert AuditEntry.objects.get(action="token_revoked").actor == personas["coordinator"]


def test_removing_ones_own_second_factor_ends_the_token(client, api_client, personas):
    supplier = personas["police_supplier"]
    authenticator(supplier)
    working_token(api_client, supplier)
    sign_in(client, supplier)

    client.post("/account/two-factor/remove/")

    assert_ended(api_client, supplier, "second factor removed")


def test_fewer_roles_end_the_token(client, api_client, personas):
    analyst = personas["analyst"]
    council = Agency.objects.get(name=COUNCIL)
    membership_grant(
        user=analyst, agency=council, roles=[Role.ANALYST, Role.SUPPLIER], acting_user=None,
        system="test",
    )  # fmt: skip
    working_token(api_client, analyst)
    sign_in(client, personas["coordinator"])

    client.post(
        f"/governance/users/{analyst.pk}/",
        {"action": "roles", "agency": council.pk, "roles": [Role.ANALYST]},
    )

    assert_ended(api_client, analyst, "roles removed: supplier")


def test_leaving_an_agency_ends_the_token(api_client, personas):
    from sharing.services.governance import user_roles_set

    analyst = personas["analyst"]
    working_token(api_client, analyst)

    user_roles_set(
        user=analyst, agency=Agency.objects.get(name=COUNCIL), roles=[],
        acting_user=personas["coordinator"],
    )  # fmt: skip

    assert_ended(api_client, analyst, f"left {COUNCIL}")


def test_a_new_role_that_needs_a_second_factor_ends_the_token(api_client, personas):
    supplier = personas["police_supplier"]
    working_token(api_client, supplier)

    membership_grant(
        user=supplier, agency=Agency.objects.get(name=POLICE), roles=[Role.SUPPLIER, Role.DLO],
        acting_user=personas["coordinator"],
    )  # fmt: skip

    assert_ended(api_client, supplier, "a new role needs a second factor: dlo")


def test_a_new_role_that_needs_no_second_factor_keeps_the_token(client, api_client, personas):
    analyst = personas["analyst"]
    council = Agency.objects.get(name=COUNCIL)
    working_token(api_client, analyst)
    sign_in(client, personas["coordinator"])

    client.post(
        f"/governance/users/{analyst.pk}/",
        {"action": "roles", "agency": council.pk, "roles": [Role.ANALYST, Role.SUPPLIER]},
    )

    assert sorted(analyst.memberships.get().roles) == [Role.ANALYST, Role.SUPPLIER]
    assert api_client.get(DATASETS).status_code == 200
    assert revoked_for(analyst) == []


def test_unassigning_a_profile_ends_the_token(client, api_client, personas):
    analyst = personas["analyst"]
    working_token(api_client, analyst)
    sign_in(client, personas["coordinator"])

    client.post(f"/governance/users/{analyst.pk}/", {"action": "profiles", "profiles": []})

    assert not analyst.access_profiles.exists()
    assert_ended(api_client, analyst, "access profile Partnership analysts unassigned")


def test_unassigning_a_profile_from_a_group_ends_its_members_tokens(api_client, personas):
    from sharing.services.profiles import access_profile_unassign

    supplier = personas["council_supplier"]
    group = Group.objects.create(name="Council staff")
    supplier.groups.add(group)
    profile = AccessProfile.objects.get(name="Associate partners")
    access_profile_assign(profile=profile, holder=group, acting_user=personas["coordinator"])
    working_token(api_client, supplier)

    access_profile_unassign(profile=profile, holder=group, acting_user=personas["coordinator"])

    assert_ended(api_client, supplier, "access profile Associate partners unassigned")


def test_lowering_a_profile_ends_its_holders_tokens_and_raising_it_does_not(api_client, personas):
    from sharing.services.profiles import access_profile_ensure

    analyst = personas["analyst"]
    coordinator = personas["coordinator"]
    profile = AccessProfile.objects.get(name="Partnership analysts")
    levels = {grant.dataset: grant.level for grant in profile.grants.select_related("dataset")}
    working_token(api_client, analyst)

    releases = Dataset.objects.get(slug="prison_release")  # not in the profile yet
    raised = {**levels, releases: AccessLevel.AGGREGATE}
    access_profile_ensure(
        partnership=profile.partnership, name=profile.name, levels=raised,
        acting_user=coordinator,
    )  # fmt: skip
    assert api_client.get(DATASETS).status_code == 200
    assert revoked_for(analyst) == []

    fire = Dataset.objects.get(slug="fire_incident")
    access_profile_ensure(
        partnership=profile.partnership, name=profile.name,
        levels={**raised, fire: AccessLevel.AGGREGATE}, acting_user=coordinator,
    )  # fmt: skip

    assert_ended(api_client, analyst, "access profile Partnership analysts lowered")


def test_a_withdrawal_from_the_isp_ends_the_agencys_tokens(client, api_client, personas):
    analyst = personas["analyst"]
    working_token(api_client, analyst)
    signature = Signature.objects.get(
        agency__name=COUNCIL, isp=InformationSharingProtocol.objects.get()
    )
    sign_in(client, personas["coordinator"])

    client.post("/governance/isp/", {"action": "withdraw", "signature": signature.pk})

    assert_ended(api_client, analyst, f"{COUNCIL} withdrew from the ISP")


def test_a_signature_lowered_to_associate_ends_the_agencys_tokens(client, api_client, personas):
    analyst = personas["analyst"]
    police_key = token_issue(user=personas["police_supplier"], acting_user=None, system="test")
    working_token(api_client, analyst)
    sign_in(client, personas["coordinator"])

    client.post("/governance/isp/", {
        "action": "sign", "agency": Agency.objects.get(name=COUNCIL).pk, "tier": "associate",
        "signed_on": InformationSharingProtocol.objects.get().adopted_on.isoformat(),
        "signatory_name": "Chief Executive",
    })  # fmt: skip

    assert_ended(api_client, analyst, f"{COUNCIL}'s ISP signature lowered")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {police_key}")
    assert api_client.get(DATASETS).status_code == 200  # another agency's staff keep theirs
