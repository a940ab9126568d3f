"""Where one partnership's, one agency's and one tier's business ends: the co-ordinator's
console, the audit trail, refusals of a user of two partnerships, a download after its maker
moved to an associate partner, and what an agency that left the ISP may still do."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Supply
from hub.access import agency_standing
from hub.choices import AgencyType, Role
from hub.models import Agency, AuditEntry, Partnership, Signature
from hub.services import agency_ensure, membership_grant
from sharing.access import access_decision
from sharing.models import AccessProfile, Extract
from sharing.services.isp import GovernanceRefused, signature_record, signature_withdraw
from sharing.services.profiles import access_profile_assign
from sharing.services.requests import request_decide
from tests.conftest import sign_in, supply_row
from tests.factories import ask, member, signed_agency, two_places_analyst, yonder
from tests.hub import owned
from tests.hub.test_standing_changes import export

pytestmark = pytest.mark.django_db

POLICE = "Greater Manchester Police (Wigan)"
COUNCIL = "Wigan Council"
BUSINESS = "Wigan Town Centre Business Crime Partnership"


# -- the co-ordinator's console ---------------------------------------------------------------


def test_a_coordinator_sees_nothing_of_a_shared_users_other_partnership(client, personas):
    """Wigan's co-ordinator opens Users and a user who is also an analyst in Yonder: the pages
    list every membership of the user, Yonder's agency and roles included, though Yonder's
    people and agencies are Yonder's business (SECURITY.md: "One partnership seeing another's
    business")."""
    shared = two_places_analyst()
    sign_in(client, personas["coordinator"])

    listing = client.get("/governance/users/")
    detail = client.get(f"/governance/users/{shared.pk}/")

    assert listing.status_code == 200 and detail.status_code == 200
    assert "Yonder Police" not in listing.content.decode(), "Yonder's agency on Wigan's list"
    assert "Yonder Police" not in detail.content.decode(), "Yonder's agency on Wigan's page"


# -- the audit trail --------------------------------------------------------------------------


def test_a_dlo_in_two_partnerships_reads_no_taking_of_a_dataset_their_agency_there_does_not_supply(
    personas,
):
    """The police DLO of Wigan is also the DLO of Yonder Council, which supplies nothing. A
    Yonder analyst opens Yonder's victims in the explorer (an entry of Yonder Police's). The DLO's
    scope mixes the datasets every one of their agencies supplies with every partnership they
    are DLO in, so they read Yonder Police's business because *Wigan's* police supplies victims."""
    dlo = personas["dlo_police"]
    other = yonder()
    yonder_council = agency_ensure(
        partnership=other["partnership"], name="Yonder Council", agency_type="local_authority",
        acting_user=None, system="test",
    )  # fmt: skip
    membership_grant(user=dlo, agency=yonder_council, roles=[Role.DLO], acting_user=None,
                     system="test")  # fmt: skip
    victims = Dataset.objects.get(slug="police_crime_victim")
    supply_row(
        dataset=victims, agency=Agency.objects.get(name=POLICE),
        uploaded_by=personas["police_supplier"], period_start=owned.LAST_MONTH[0],
        period_end=owned.LAST_MONTH[1], status="completed",
    )  # fmt: skip
    yonder_analyst = member(other["police"], "yonder_marker_analyst", [Role.ANALYST])
    access_profile_assign(profile=other["profile"], holder=yonder_analyst, acting_user=None,
                          system="test")  # fmt: skip
    client = Client()
    sign_in(client, yonder_analyst)
    assert client.get("/workspace/datasets/police_crime_victim/").status_code == 200
    assert AuditEntry.objects.filter(
        action="explorer_viewed", actor=yonder_analyst, partnership=other["partnership"]
    ).exists()

    rows = export(dlo)

    seen = [row for row in rows if row["who"] == "yonder_marker_analyst"]
    assert not seen, f"Yonder Police's business shown to Yonder Council's DLO: {seen}"


def test_a_dlo_reads_no_refusal_about_another_agencys_supply_of_a_shared_dataset(personas):
    """Police and council both supply the community survey. Someone is refused the council's
    supply page: the refusal (access_refused, its object the council's supply) is the
    council's business, yet the police DLO reads it because "access_refused" counts as taking
    of a dataset the police supply (README: another agency's own supplies of the same dataset,
    refusals included, are that agency's business)."""
    police, council = Agency.objects.get(name=POLICE), Agency.objects.get(name=COUNCIL)
    owned.supply(agency=police, user=personas["police_supplier"], dataset="community_survey",
                 marker="police-survey")  # fmt: skip
    theirs = owned.supply(agency=council, user=personas["council_supplier"],
                          dataset="community_survey", marker="council-survey")  # fmt: skip
    client = Client()
    sign_in(client, personas["analyst"])
    assert client.get(f"/supplies/{theirs.pk}/rejected.csv").status_code == 404
    assert AuditEntry.objects.filter(action="access_refused", object_id=str(theirs.pk)).exists()

    rows = export(personas["dlo_police"])

    seen = [row for row in rows if str(theirs.pk) in row["object"]]
    assert not seen, f"the council's supply's refusals shown to the police DLO: {seen}"


def test_an_extract_refused_in_one_partnership_is_not_the_others_business(api_client, personas):
    """A user of Wigan and Yonder asks Yonder for an extract that is refused as ill-formed.
    The refusal is written with no agency, so it goes to every partnership of the user's:
    Wigan's co-ordinator reads what was asked of Yonder's data (dataset, fields, reason)."""
    shared = two_places_analyst()
    api_client.force_authenticate(shared)
    response = api_client.post("/api/v1/extracts/", {
        "dataset": "police_crime_victim", "partnership": "yonder", "format": "csv",
        "period_start": "2026-10-01", "period_end": "2026-10-31",
        "fields": ["yonder_marker_field"],
    }, format="json")  # fmt: skip
    assert response.status_code == 403, response.content

    wigan = Partnership.objects.get(slug="wigan-leigh")
    in_wigan = AuditEntry.objects.filter(actor=shared, action="extract_refused", partnership=wigan)
    rows = export(personas["coordinator"])
    assert not in_wigan.exists(), "Yonder's refused extract is recorded as Wigan's"
    assert not [row for row in rows if "yonder_marker_field" in row["detail"]]


# -- extracts ---------------------------------------------------------------------------------


def test_a_core_extract_is_not_downloaded_once_its_maker_acts_for_an_associate_agency(
    client, personas
):
    """The analyst made a depersonalised extract at the council (core: no k-anonymity). They
    move to the Business Crime Partnership (associate). The download's check compares the
    tier the extract was made for with the standing of the *extract's* agency (still core),
    not of the agency the maker now acts for, so an associate partner takes a core-tier file
    (README: deleted once "a tier lowered below the one it was made for")."""
    analyst = personas["analyst"]
    council, business = Agency.objects.get(name=COUNCIL), Agency.objects.get(name=BUSINESS)
    made = owned.extract(user=analyst, agency=council, marker="core-tier-file")
    Extract.objects.filter(pk=made.pk).update(level="depersonalised", metadata={"tier": "core"})
    membership_grant(user=analyst, agency=business, roles=[Role.ANALYST], acting_user=None,
                     system="test")  # fmt: skip
    membership_grant(user=analyst, agency=council, roles=[], acting_user=None, system="test")
    offences = Dataset.objects.get(slug="police_crime_offence")
    decision = access_decision(user=analyst, dataset=offences)
    assert decision.level == "depersonalised", decision  # now as an associate partner
    sign_in(client, analyst)

    response = client.get(f"/extracts/{made.pk}/download")

    assert response.status_code == 403, "a core-tier extract went to an associate partner"


# -- supplies ---------------------------------------------------------------------------------


def test_a_withdrawn_agencys_supplier_cannot_put_a_failed_supply_through_again(client, personas):
    """The police withdraw from the ISP: uploads are refused (supply_check asks the ISP
    standing), but a retry of a supply that failed before is not: the supplier puts it through
    the pipeline again and its records load into the warehouse for every analyst, from an
    agency that has left the ISP (README: an agency that withdrew gets nothing)."""
    police = Agency.objects.get(name=POLICE)
    failed = owned.supply(agency=police, user=personas["police_supplier"],
                          dataset="police_crime_offence", marker="after-withdrawal",
                          status=SupplyStatus.FAILED)  # fmt: skip
    signature = Signature.objects.get(agency=police)
    signature_withdraw(signature=signature, withdrawn_on=timezone.localdate(), acting_user=None,
                       system="test")  # fmt: skip
    sign_in(client, personas["police_supplier"])

    client.post(f"/supplies/{failed.pk}/retry/")

    status = Supply.objects.get(pk=failed.pk).status
    assert status == SupplyStatus.FAILED, f"a withdrawn agency's supply was queued again: {status}"
    assert not AuditEntry.objects.filter(action="supply_retried", object_id=str(failed.pk)).exists()


# -- standing under the ISP -------------------------------------------------------------------


def test_signing_again_after_a_withdrawal_restores_the_agencys_standing(personas):
    police = Agency.objects.get(name=POLICE)
    signature = Signature.objects.get(agency=police)
    signature_withdraw(signature=signature, withdrawn_on=timezone.localdate(), acting_user=None,
                       system="test")  # fmt: skip
    assert agency_standing(agency=police).tier == "none"

    signature_record(
        isp=signature.isp, agency=police, tier="core", signed_on=timezone.localdate(),
        signatory_name="Chief Constable", acting_user=personas["coordinator"],
    )  # fmt: skip

    assert agency_standing(agency=police).tier == "core"


def test_a_withdrawn_agencys_dlo_cannot_approve_a_request_for_its_data(personas):
    """An approval given while the agency is outside the ISP would take effect, unseen, the day
    it signs again; refusing stays possible."""
    hindley = signed_agency("HMP Hindley", AgencyType.PRISON)
    dlo = member(hindley, "hindley_dlo", [Role.DLO])
    data_request = ask(personas["analyst"], hindley)
    signature = Signature.objects.get(agency=hindley)
    signature_withdraw(signature=signature, withdrawn_on=timezone.localdate(), acting_user=None,
                       system="test")  # fmt: skip

    with pytest.raises(GovernanceRefused, match="withdrew"):
        request_decide(data_request=data_request, approve=True, reason="Fine.", acting_user=dlo)

    data_request.refresh_from_db()
    assert data_request.status == "pending"
    assert AuditEntry.objects.filter(action="data_request_decision_refused", actor=dlo).exists()
    request_decide(data_request=data_request, approve=False, reason="Not outside the ISP.",
                   acting_user=dlo)  # fmt: skip
    data_request.refresh_from_db()
    assert data_request.status == "refused"


def test_the_console_sets_a_shared_users_profiles_here_and_leaves_the_others(client, personas):
    shared = two_places_analyst()
    theirs = set(shared.access_profiles.exclude(partnership__slug="wigan-leigh"))
    assert theirs, "the user holds a profile in the other partnership"
    ours = AccessProfile.objects.filter(partnership__slug="wigan-leigh").first()
    sign_in(client, personas["coordinator"])

    response = client.post(
        f"/governance/users/{shared.pk}/", {"action": "profiles", "profiles": [ours.pk]},
        follow=True,
    )  # fmt: skip

    assert "Access profiles changed." in response.content.decode()
    assert set(shared.access_profiles.all()) == theirs | {ours}


def test_a_refusal_belongs_to_the_partnership_asked_of(client, personas):
    """Asking another partnership's counts is refused there: the entry is that partnership's,
    not the asker's own partnership's too."""
    other = yonder()
    sign_in(client, personas["analyst"])

    response = client.get("/workspace/counts/", {"partnership": "yonder"})

    assert response.status_code == 404
    refused = AuditEntry.objects.filter(actor=personas["analyst"], action="access_refused")
    assert set(refused.values_list("partnership", flat=True)) == {other["partnership"].pk}
