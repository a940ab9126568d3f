"""Personal-data requests (guidance §2.4): asked, decided by the supplier's DLO, time-limited,
and ended with the extracts made under them deleted."""

from __future__ import annotations

import csv
import datetime
import io
import time
import zipfile
from pathlib import Path

import pytest
from django.utils import timezone

from datasets.models import Dataset
from hub.choices import AgencyType, Role
from hub.models import Agency, AuditEntry, InformationSharingProtocol, User
from hub.services import agency_ensure, membership_grant
from sharing.access import access_decision
from sharing.models import Extract, PersonalDataRequest
from sharing.services.isp import GovernanceRefused, signature_record
from sharing.services.requests import request_create, request_decide, requests_expire
from tests.conftest import sign_in
from tests.datasets.test_pipeline import csv_bytes, supply, wait_for, wn_postcodes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def signed_agency(name: str, agency_type: str) -> Agency:
    agency = agency_ensure(
        partnership=Agency.objects.first().partnership, name=name, agency_type=agency_type,
        acting_user=None, system="test",
    )  # fmt: skip
    isp = InformationSharingProtocol.objects.get()
    signature_record(isp=isp, agency=agency, tier="core", signed_on=isp.adopted_on,
                     signatory_name="Head", acting_user=None, system="test")  # fmt: skip
    return agency


def member(agency: Agency, username: str, roles: list[str]) -> User:
    user = User.objects.create_user(username, email=f"{username}@example.invalid")
    membership_grant(user=user, agency=agency, roles=roles, acting_user=None, system="test")
    return user


def ask(analyst, dataset, agency, days=30):
    return request_create(
        requester=analyst, dataset=dataset, supplying_agency=agency,
        purpose="Offender management: released prisoners near recent burglaries",
        legal_basis="cda_s115", legal_basis_detail="",
        records_needed="Releases to WN addresses in October",
        period_start=datetime.date(2026, 10, 1), period_end=datetime.date(2026, 10, 31),
        days_needed=days,
    )  # fmt: skip


@pytest.fixture
def prison_world(personas, celery_worker_process, api_client):
    from sanitise.demo import demo_gazetteer_load

    demo_gazetteer_load()
    prison = signed_agency("HMP Hindley", AgencyType.PRISON)
    supplier = member(prison, "prison_supplier", [Role.SUPPLIER])
    dlo = member(prison, "prison_dlo", [Role.DLO])
    postcode = wn_postcodes(1)[0].postcode
    content = csv_bytes(
        ["name", "gender", "date_of_birth", "offence", "release_date", "address", "postcode"],
        [["Barnaby Rudge", "M", "01/02/1990", "burglary", "15/10/2026", "4 Mill Lane", postcode]],
    )
    supply_id = supply(api_client, supplier, content, dataset="prison_release")
    assert wait_for(api_client, supply_id)["status"] == "completed"
    return {**personas, "prison": prison, "prison_dlo": dlo}


def test_personal_data_flow_from_request_to_destruction(api_client, client, prison_world):
    analyst, dlo = prison_world["analyst"], prison_world["prison_dlo"]
    releases = Dataset.objects.get(slug="prison_release")
    assert access_decision(user=analyst, dataset=releases).level == "none"

    data_request = ask(analyst, releases, prison_world["prison"])

    sign_in(client, prison_world["dlo_police"])  # another agency's DLO
    assert client.get(f"/requests/{data_request.pk}/").status_code == 404
    with pytest.raises(GovernanceRefused):
        request_decide(data_request=data_request, approve=True, reason="ok",
                       acting_user=prison_world["dlo_police"])  # fmt: skip
    sign_in(client, dlo)
    response = client.post(f"/requests/{data_request.pk}/", {
        "decision": "approve", "reason": "Necessary and proportionate for s115 purposes.",
    })  # fmt: skip
    assert response.status_code == 302
    data_request.refresh_from_db()
    assert data_request.status == "approved"
    assert data_request.expires_at > timezone.now() + datetime.timedelta(days=29)
    assert access_decision(user=analyst, dataset=releases).level == "personal"

    api_client.force_authenticate(analyst)
    created = api_client.post("/api/v1/extracts/", {
        "dataset": "prison_release", "period_start": "2026-10-01", "period_end": "2026-10-31",
        "format": "csv", "level": "personal",
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    extract_id = created.json()["id"]
    for _ in range(100):
        state = api_client.get(f"/api/v1/extracts/{extract_id}/").json()
        if state["status"] != "queued" and state["status"] != "running":
            break
        time.sleep(0.2)
    assert state["status"] == "completed", Extract.objects.get(pk=extract_id).failure
    download = api_client.get(state["download_url"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    name = next(n for n in archive.namelist() if n.endswith(".csv"))
    (row,) = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    assert row["name"] == "Barnaby Rudge"
    assert row["date_of_birth"] == "1990-02-01"
    assert row["address"] == "4 Mill Lane"
    extract = Extract.objects.get(pk=extract_id)
    assert extract.data_request_id == data_request.pk
    path = Path(extract.file_path)

    sign_in(client, analyst)
    client.post(f"/requests/{data_request.pk}/", {"action": "end"})

    data_request.refresh_from_db()
    assert data_request.status == "ended"
    assert not path.exists()
    assert Extract.objects.get(pk=extract_id).status == "expired"
    assert access_decision(user=analyst, dataset=releases).level == "none"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"data_request_made", "data_request_approved", "data_request_ended",
            "extract_deleted"} <= actions  # fmt: skip


def test_an_expired_request_ends_access_and_deletes_its_extracts(prison_world):
    analyst = prison_world["analyst"]
    releases = Dataset.objects.get(slug="prison_release")
    data_request = ask(analyst, releases, prison_world["prison"], days=7)
    request_decide(data_request=data_request, approve=True, reason="ok",
                   acting_user=prison_world["prison_dlo"])  # fmt: skip
    assert access_decision(user=analyst, dataset=releases).level == "personal"

    assert requests_expire(now=timezone.now() + datetime.timedelta(days=8)) == 1

    assert PersonalDataRequest.objects.get(pk=data_request.pk).status == "ended"


def test_who_may_ask_and_for_what(prison_world):
    releases = Dataset.objects.get(slug="prison_release")
    offences = Dataset.objects.get(slug="police_crime_offence")
    with pytest.raises(GovernanceRefused, match="core-tier"):
        ask(prison_world["associate_analyst"], releases, prison_world["prison"])
    with pytest.raises(GovernanceRefused, match="depersonalised"):
        ask(
            prison_world["analyst"],
            offences,
            Agency.objects.get(name__startswith="Greater Manchester Police"),
        )
    police = Agency.objects.get(name="Greater Manchester Police (Wigan)")
    with pytest.raises(GovernanceRefused, match="does not supply"):
        ask(prison_world["analyst"], releases, police)
    assert AuditEntry.objects.filter(action="data_request_refused").count() == 3


def test_health_data_need_the_caldicott_guardian_as_well(prison_world):
    trust = Agency.objects.get(name="Wrightington, Wigan and Leigh NHS Foundation Trust")
    dlo = member(trust, "trust_dlo", [Role.DLO])
    guardian = member(trust, "trust_caldicott", [Role.CALDICOTT])
    ppo = Dataset.objects.get(slug="ppo")
    ppo.supplier_types = [*ppo.supplier_types, AgencyType.NHS_TRUST]
    ppo.save()

    data_request = ask(prison_world["analyst"], ppo, trust)
    assert data_request.caldicott_needed

    request_decide(data_request=data_request, approve=True, reason="ok", acting_user=dlo)
    assert PersonalDataRequest.objects.get(pk=data_request.pk).status == "pending"
    request_decide(data_request=data_request, approve=True, reason="ok", acting_user=guardian)
    assert PersonalDataRequest.objects.get(pk=data_request.pk).status == "approved"
