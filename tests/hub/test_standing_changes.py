"""Standing changed outside the usual pages, and the trail's edges: tokens end whenever access
is lowered (a group left, a new ISP version), the admin cannot change what decides access,
no partnership acts on another's people, and the audit trail tells each partnership who read
its entries, shows a DLO no other agency's supplies, and stays verifiable."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Group
from django.db.models import ProtectedError
from django.test import Client

from datasets.access import SupplyRefused
from datasets.models import Dataset
from datasets.services.supplies import supply_create
from hub.audit import audit_verify
from hub.choices import Role
from hub.models import (
    Agency,
    ApiToken,
    AuditEntry,
    InformationSharingProtocol,
    Membership,
    Partnership,
    Signature,
    User,
)
from hub.services import TwoFactorRefused, membership_grant, token_issue, two_factor_remove
from hub.uploads import encrypted_upload
from sharing.models import AccessProfile
from sharing.services.governance import isp_adopt, user_deactivate, user_roles_set
from sharing.services.isp import GovernanceRefused
from sharing.services.profiles import access_profile_assign
from sharing.services.requests import request_decide
from tests.conftest import sign_in, supply_row
from tests.hub import owned

pytestmark = pytest.mark.django_db

DATASETS = "/api/v1/datasets/"
POLICE = "Greater Manchester Police (Wigan)"
COUNCIL = "Wigan Council"


def working_token(api_client, user) -> str:
    key = token_issue(user=user, acting_user=None, system="test")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get(DATASETS).status_code == 200
    return key


def token_ended(api_client, user) -> bool:
    return (
        api_client.get(DATASETS).status_code == 401
        and not ApiToken.objects.filter(user=user).exists()
    )


def staff_client() -> Client:
    admin = User.objects.create_superuser("hub_admin", "admin@example.invalid", "x" * 20)
    client = Client()
    sign_in(client, admin)
    return client


# -- 1. API tokens ----------------------------------------------------------------------------


def test_removing_a_user_from_a_group_that_carries_a_profile_ends_the_token(api_client, personas):
    """A profile held through a group is lost when the user leaves the group (Django admin's
    user form, or ``user.groups.remove``): access is lowered, the token lives on."""
    supplier = personas["council_supplier"]
    group = Group.objects.create(name="Council staff")
    supplier.groups.add(group)
    profile = AccessProfile.objects.get(name="Associate partners")
    access_profile_assign(profile=profile, holder=group, acting_user=personas["coordinator"])
    working_token(api_client, supplier)

    supplier.groups.remove(group)

    assert token_ended(api_client, supplier)


@pytest.mark.parametrize("path", ["change", "delete"])
def test_the_admin_cannot_change_or_delete_a_membership(personas, path):
    """Roles are changed only by the governance services, which check their caller, audit
    the change and end the tokens of those whose access it lowers."""
    analyst = personas["analyst"]
    membership = Membership.objects.get(user=analyst, agency__name=COUNCIL)
    admin = staff_client()

    response = admin.post(
        f"/admin/hub/membership/{membership.pk}/{path}/",
        {"user": analyst.pk, "agency": membership.agency_id, "roles": "supplier", "post": "yes"},
    )

    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.roles == [Role.ANALYST]


def test_the_admin_cannot_change_a_signature(personas):
    signature = Signature.objects.get(
        agency__name=COUNCIL, isp=InformationSharingProtocol.objects.get()
    )
    admin = staff_client()

    response = admin.post(
        f"/admin/hub/signature/{signature.pk}/change/",
        {
            "isp": signature.isp_id, "agency": signature.agency_id, "tier": "associate",
            "signed_on": signature.signed_on.isoformat(),
            "signatory_name": signature.signatory_name,
            "withdrawn_on": datetime.date.today().isoformat(),
        },
    )  # fmt: skip

    assert response.status_code == 403
    signature.refresh_from_db()
    assert (signature.tier, signature.withdrawn_on) == ("core", None)


def test_adopting_a_new_isp_version_ends_the_tokens_of_agencies_that_must_sign_again(
    api_client, personas
):
    """A new ISP version drops every agency to no standing until it signs again (isp_adopt's
    own docstring): the widest lowering of access there is, and no token is revoked."""
    analyst = personas["analyst"]
    working_token(api_client, analyst)

    isp_adopt(
        partnership=Partnership.objects.get(slug="wigan-leigh"), version="99",
        adopted_on=datetime.date.today(), review_due=datetime.date.today().replace(year=2099),
        acting_user=personas["coordinator"],
    )  # fmt: skip

    assert token_ended(api_client, analyst)


# -- 2. governance services' callers ----------------------------------------------------------


def test_another_partnerships_coordinator_cannot_lock_out_a_user_of_ours(personas):
    """user_roles_set lets Elsewhere's co-ordinator put any account of the hub into one of
    Elsewhere's agencies, no consent asked; user_deactivate then lets them deactivate it
    hub-wide: Wigan's own co-ordinator is locked out of Wigan."""
    elsewhere = owned.other_partnership()
    attacker = elsewhere["coordinator"]
    victim = personas["coordinator"]

    try:
        user_roles_set(
            user=victim, agency=elsewhere["police"], roles=[Role.ANALYST], acting_user=attacker
        )
        user_deactivate(user=victim, acting_user=attacker)
    except GovernanceRefused:
        pass

    victim.refresh_from_db()
    assert victim.is_active


def test_two_factor_remove_checks_its_caller(personas):
    """two_factor_remove (a co-ordinator's reset) has no caller check of its own: anyone, a
    co-ordinator of another partnership included, resets anyone's second factor, audited as
    an ordinary reset."""
    elsewhere = owned.other_partnership()
    victim = personas["dlo_police"]
    sign_in(Client(), victim)  # gives the DLO an authenticator

    with pytest.raises(TwoFactorRefused):
        two_factor_remove(user=victim, acting_user=elsewhere["coordinator"])
    assert AuditEntry.objects.filter(action="access_refused",
                                     detail__route="two_factor_remove").exists()  # fmt: skip


# -- 3. the audit trail -----------------------------------------------------------------------


def export(reader: User, **filters) -> list[dict]:
    client = Client()
    sign_in(client, reader)
    response = client.get("/governance/audit/export.csv", filters)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_a_dlo_reads_no_other_agencys_refused_supply(personas):
    """audit_restrict shows a DLO every entry of a dataset their agency supplies, leaving out
    only those whose object is a Supply or SupplySchedule: another agency's refused supply
    (no object) of the same dataset, with its file name and reason, is shown."""
    police = Agency.objects.get(name=POLICE)
    council = Agency.objects.get(name=COUNCIL)
    survey = Dataset.objects.get(slug="community_survey")
    supply_row(
        dataset=survey, agency=police, uploaded_by=personas["police_supplier"],
        period_start=owned.LAST_MONTH[0], period_end=owned.LAST_MONTH[1], status="completed",
    )  # fmt: skip
    membership_grant(
        user=personas["council_supplier"], agency=council, roles=[Role.SUPPLIER],
        acting_user=None, system="test",
    )  # fmt: skip
    with pytest.raises(SupplyRefused):
        supply_create(
            acting_user=personas["council_supplier"], agency=council, dataset=survey,
            upload=encrypted_upload(name="council-secret-marker.csv", data=b"a,b\n1,2\n"),
            period_start=datetime.date(2099, 1, 1), period_end=datetime.date(2099, 1, 31),
            supplier_name="Council", supplier_contact="c@example.invalid",
        )  # fmt: skip
    assert AuditEntry.objects.filter(action="supply_refused", agency=council).exists()

    rows = export(personas["dlo_police"])

    assert not [row for row in rows if "council-secret-marker" in row["detail"]]


def test_reading_another_partnerships_entries_is_audited_in_that_partnership(personas):
    """Elsewhere's co-ordinator who is also a DLO in Wigan reads Wigan's entries, but the
    reading is recorded for Elsewhere only (require_audit_reader returns one partnership):
    Wigan's co-ordinator never learns that its trail was read."""
    elsewhere = owned.other_partnership()
    reader = elsewhere["coordinator"]
    membership_grant(
        user=reader, agency=Agency.objects.get(name=POLICE), roles=[Role.DLO],
        acting_user=None, system="test",
    )  # fmt: skip
    AuditEntry.objects.filter(action__in=["audit_exported", "audit_viewed"]).delete()

    rows = export(reader)

    assert any(row["agency"] == POLICE for row in rows)  # Wigan's entries were read
    wigan = Partnership.objects.get(slug="wigan-leigh")
    assert AuditEntry.objects.filter(
        action="audit_exported", actor=reader, partnership=wigan
    ).exists()


def test_a_refused_end_of_a_personal_data_request_is_audited(personas):
    """request_end refuses anyone but the requester and the deciding DLO, but records no
    refusal: another DLO of the agency (who may see the request) is refused unseen."""
    police = Agency.objects.get(name=POLICE)
    data_request = owned.data_request(
        analyst=personas["analyst"], supplying_agency=police, marker="end-marker"
    )
    request_decide(
        data_request=data_request, approve=True, reason="Problem profile",
        acting_user=personas["dlo_police"],
    )  # fmt: skip
    other_dlo = owned.member(username="second_police_dlo", agency=police, roles=[Role.DLO])
    client = Client()
    sign_in(client, other_dlo)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    client.post(f"/requests/{data_request.pk}/", {"action": "end"})

    data_request.refresh_from_db()
    assert data_request.status == "approved"
    assert AuditEntry.objects.filter(pk__gt=before, actor=other_dlo).exists()


def test_removing_a_user_leaves_the_audit_chain_verifiable(personas):
    """Deleting a user the trail names would have the database rewrite their entries, and a
    real rewrite could no longer be told from it: people are deactivated, not deleted."""
    leaver = personas["associate_analyst"]
    token_issue(user=leaver, acting_user=leaver)  # an entry they made
    assert audit_verify().whole

    with pytest.raises(ProtectedError):
        leaver.delete()

    check = audit_verify()
    assert check.whole, check.problems[:3]
