"""The access gate (sharing/access.py) on the holes an attacker found: personal data held to
exactly what the DLO approved, nobody deciding their own request, partnerships kept apart,
extracts checked again when built and downloaded, refusals audited, and periods bounded."""

from __future__ import annotations

import csv
import datetime
import io
import time
import zipfile

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from datasets.models import Dataset
from hub.choices import AgencyType, Role
from hub.models import Agency, AuditEntry, InformationSharingProtocol
from hub.services import membership_grant
from sharing.access import AccessRefused, access_decision, record_scope
from sharing.models import AccessProfile, Extract, PersonalDataRequest, SharedDataset
from sharing.services.extract_build import extract_run
from sharing.services.extracts import extract_request
from sharing.services.isp import GovernanceRefused, signature_record
from sharing.services.profiles import access_profile_unassign
from sharing.services.requests import request_decide
from tests import factories
from tests.conftest import sign_in
from tests.factories import OCTOBER, ask, member, signed_agency


def personal_extract(client, user, **body):
    client.force_authenticate(user)
    body = {
        "dataset": "prison_release", "period_start": "2026-10-01", "period_end": "2026-10-31",
        "format": "csv", "level": "personal", **body,
    }  # fmt: skip
    return client.post("/api/v1/extracts/", body, format="json")


def finished(client, extract_id) -> dict:
    for _ in range(300):
        state = client.get(f"/api/v1/extracts/{extract_id}/").json()
        if state["status"] not in ("queued", "running"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"Extract {extract_id} did not finish: {state}")


def csv_rows(client, state) -> list[dict]:
    download = client.get(state["download_url"])
    assert download.status_code == 200, download.content
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    name = next(n for n in archive.namelist() if n.endswith(".csv"))
    return list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))


def refusals(route: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="access_refused", detail__route=route))


# -- personal data: exactly what the DLO approved ---------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_personal_extract_holds_exactly_what_the_request_covers(api_client, prisons):
    analyst = prisons["analyst"]
    data_request = ask(analyst, prisons["hindley"])
    request_decide(data_request=data_request, approve=True, reason="Necessary, proportionate",
                   acting_user=prisons["hindley_dlo"])  # fmt: skip

    created = personal_extract(api_client, analyst)

    assert created.status_code == 201, created.content
    rows = csv_rows(api_client, finished(api_client, created.json()["id"]))
    # Hindley's WN4 release only: not Garth's (its DLO never saw the request), not WN1's.
    assert [row["name"] for row in rows] == ["Bella Hindley"]
    assert {"date_of_birth", "gender"}.isdisjoint(rows[0])
    extract = Extract.objects.get(pk=created.json()["id"])
    assert extract.area == {"districts": ["WN4"]}
    assert extract.data_request == data_request


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"period_start": "2026-01-01", "period_end": "2026-12-31"}, "covers 01/10/2026"),
        ({"fields": ["name", "date_of_birth"]}, "date_of_birth"),
        ({"area": {"districts": ["WN1"]}}, "WN4 only"),
        ({"area": {"bbox": [350000, 400000, 370000, 410000]}}, "WN4 only"),
    ],
)
def test_asking_beyond_the_request_is_refused_and_audited(api_client, prisons, body, reason):
    analyst = prisons["analyst"]
    data_request = ask(analyst, prisons["hindley"])
    request_decide(data_request=data_request, approve=True, reason="ok",
                   acting_user=prisons["hindley_dlo"])  # fmt: skip

    response = personal_extract(api_client, analyst, **body)

    assert response.status_code == 403
    assert reason in response.json()["detail"]
    assert not Extract.objects.exists()
    (refusal,) = refusals("extract")
    assert reason in refusal.detail["reason"]


# -- who decides ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nobody_decides_their_own_request(client, personas):
    hindley = signed_agency("HMP Hindley", AgencyType.PRISON)
    member(hindley, "hindley_supplier", [Role.SUPPLIER])
    # An analyst at the council who is also the prison's DLO.
    both = member(Agency.objects.get(name="Wigan Council"), "analyst_and_dlo", [Role.ANALYST])
    member(hindley, "analyst_and_dlo", [Role.DLO])
    data_request = ask(both, hindley)

    with pytest.raises(GovernanceRefused, match="their own request"):
        request_decide(data_request=data_request, approve=True, reason="mine",
                       acting_user=both)  # fmt: skip

    assert PersonalDataRequest.objects.get(pk=data_request.pk).status == "pending"
    refusal = AuditEntry.objects.get(action="data_request_decision_refused")
    assert "own request" in refusal.detail["reason"]
    sign_in(client, both)
    page = client.get(f"/requests/{data_request.pk}/")
    assert page.status_code == 200
    assert b"Your decision" not in page.content
    client.post(f"/requests/{data_request.pk}/", {"decision": "approve", "reason": "mine"})
    assert PersonalDataRequest.objects.get(pk=data_request.pk).status == "pending"


# -- when an approval stops granting ----------------------------------------------------------


@pytest.mark.django_db
def test_an_approval_stops_granting_once_the_analysts_agency_is_associate(approved):
    council = Agency.objects.get(name="Wigan Council")
    isp = InformationSharingProtocol.objects.get(partnership=council.partnership)
    signature_record(isp=isp, agency=council, tier="associate", signed_on=isp.adopted_on,
                     signatory_name="Chief Executive", acting_user=None, system="test")  # fmt: skip

    decision = access_decision(user=approved["analyst"], dataset=approved["releases"])

    assert decision.level == "none"  # associate partners hold no profile for it either
    assert PersonalDataRequest.objects.get(pk=approved["request"].pk).status == "approved"


@pytest.mark.django_db
def test_an_approval_stops_granting_once_the_agency_it_was_asked_from_is_associate(approved):
    # The analyst is also an analyst at the fire service, which stays core: the request was
    # made from the council, and the council's standing is what the approval rested on.
    fire = Agency.objects.get(name="Greater Manchester Fire and Rescue Service")
    membership_grant(user=approved["analyst"], agency=fire, roles=[Role.ANALYST],
                     acting_user=None, system="test")  # fmt: skip
    council = Agency.objects.get(name="Wigan Council")
    isp = InformationSharingProtocol.objects.get(partnership=council.partnership)
    signature_record(isp=isp, agency=council, tier="associate", signed_on=isp.adopted_on,
                     signatory_name="Chief Executive", acting_user=None, system="test")  # fmt: skip

    decision = access_decision(user=approved["analyst"], dataset=approved["releases"])

    assert decision.level != "personal"


@pytest.mark.django_db
def test_an_approval_stops_granting_when_its_time_is_up_before_the_expiry_task_runs(approved):
    PersonalDataRequest.objects.filter(pk=approved["request"].pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    decision = access_decision(user=approved["analyst"], dataset=approved["releases"])

    assert decision.level == "none"
    with pytest.raises(AccessRefused, match="None of your access profiles"):
        record_scope(user=approved["analyst"], dataset=approved["releases"], level="personal",
                     route="test")  # fmt: skip


@pytest.mark.django_db
def test_a_personal_permission_given_directly_is_still_only_depersonalised(personas):
    analyst = personas["analyst"]
    releases = Dataset.objects.get(slug="prison_release")
    shared, _ = SharedDataset.objects.get_or_create(
        partnership=Agency.objects.get(name="Wigan Council").partnership, dataset=releases
    )
    assign_perm("extract_personal", analyst, shared)

    assert access_decision(user=analyst, dataset=releases).level == "depersonalised"


@pytest.mark.django_db
def test_an_approved_personal_extract_is_built_in_the_web_extract_builder(client, approved):
    analyst = approved["analyst"]
    sign_in(client, analyst)

    form = client.get("/extracts/new/prison_release/")
    assert form.status_code == 200
    assert [value for value, _ in form.context["form"].fields["level"].choices] == ["personal"]

    response = client.post("/extracts/new/prison_release/", {
        "level": "personal", "period_start": "2026-10-01", "period_end": "2026-10-31",
        "fields": ["name", "offence"], "districts": "WN4", "file_format": "csv",
        "data_request": approved["request"].pk,
    })  # fmt: skip

    assert response.status_code == 302, response.context["form"].errors
    extract = Extract.objects.get()
    assert (extract.level, extract.data_request, extract.fields) == (
        "personal", approved["request"], ["name", "offence"],
    )  # fmt: skip
    wider = client.post("/extracts/new/prison_release/", {
        "level": "personal", "period_start": "2026-10-01", "period_end": "2026-10-31",
        "fields": ["name", "date_of_birth"], "districts": "WN4", "file_format": "csv",
        "data_request": approved["request"].pk,
    })  # fmt: skip
    assert "date_of_birth" in str(wider.context["form"].non_field_errors())
    assert Extract.objects.count() == 1


# -- partnerships apart -----------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_profile_in_one_partnership_reaches_none_of_anothers_records(
    api_client, client, supplied
):
    user = factories.two_places_analyst()
    victims = Dataset.objects.get(slug="police_crime_victim")
    demo = factories.demo_partnership()
    assert access_decision(user=user, dataset=victims, partnership=demo).level == "none"
    assert access_decision(user=user, dataset=victims).level == "depersonalised"

    api_client.force_authenticate(user)
    period = {"period_start": "2026-01-01", "period_end": "2026-12-31", "format": "csv"}
    refused = api_client.post("/api/v1/extracts/", {
        "dataset": "police_crime_victim", "partnership": "wigan-leigh", **period,
    }, format="json")  # fmt: skip
    assert refused.status_code == 403
    assert refusals("extract")

    made = api_client.post(
        "/api/v1/extracts/", {"dataset": "police_crime_victim", **period}, format="json"
    )
    assert made.status_code == 201, made.content
    state = finished(api_client, made.json()["id"])
    assert state["status"] == "completed"
    assert state["row_count"] == 0  # Yonder has supplied nothing; Wigan's victims stay Wigan's
    assert Extract.objects.get(pk=made.json()["id"]).agency.partnership.slug == "yonder"

    sign_in(client, user)
    counts = client.get("/workspace/counts/", {"dataset": "police_crime_victim",
                                               "partnership": "wigan-leigh"})  # fmt: skip
    assert counts.status_code == 404
    assert refusals("counts")


# -- extracts checked again -------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_extract_no_longer_covered_by_access_is_not_downloaded(
    api_client, personas, celery_worker_process
):
    analyst = personas["analyst"]
    api_client.force_authenticate(analyst)
    made = api_client.post("/api/v1/extracts/", {
        "dataset": "police_crime_offence", "period_start": "2026-10-01",
        "period_end": "2026-10-31", "format": "csv",
    }, format="json")  # fmt: skip
    state = finished(api_client, made.json()["id"])
    assert state["status"] == "completed", Extract.objects.get(pk=made.json()["id"]).failure
    profile = AccessProfile.objects.get(name="Partnership analysts")

    access_profile_unassign(profile=profile, holder=analyst, acting_user=None, system="test")

    download = api_client.get(state["download_url"])
    assert download.status_code == 403
    assert "None of your access profiles" in download.json()["detail"]
    extract = Extract.objects.get(pk=made.json()["id"])
    assert extract.status == "expired"
    assert extract.file_path == ""
    assert refusals("extract download")
    assert not AuditEntry.objects.filter(action="extract_downloaded").exists()


@pytest.mark.django_db
def test_an_extract_whose_access_went_before_it_was_built_fails(personas):
    analyst = personas["analyst"]
    extract = extract_request(
        acting_user=analyst, dataset=Dataset.objects.get(slug="police_crime_offence"),
        period_start=OCTOBER[0], period_end=OCTOBER[1], file_format="csv",
    )  # fmt: skip
    council = Agency.objects.get(name="Wigan Council")
    isp = InformationSharingProtocol.objects.get(partnership=council.partnership)
    isp.signatures.filter(agency=council).update(withdrawn_on=datetime.date(2026, 1, 2))

    extract_run(extract.pk)

    extract.refresh_from_db()
    assert extract.status == "failed"
    assert "withdrew" in extract.failure
    assert refusals("extract build")


# -- refusals on every route are audited ------------------------------------------------------


@pytest.mark.django_db
def test_someone_elses_extract_is_refused_on_page_download_and_api(client, api_client, personas):
    from tests.hub.owned import extract as owned_extract

    council = Agency.objects.get(name="Wigan Council")
    theirs = owned_extract(user=personas["analyst"], agency=council, marker="theirs")
    other = member(council, "other_analyst", [Role.ANALYST])
    sign_in(client, other)
    api_client.force_authenticate(other)

    assert client.get(f"/extracts/{theirs.pk}/").status_code == 404
    assert client.get(f"/extracts/{theirs.pk}/download").status_code == 404
    assert api_client.get(f"/api/v1/extracts/{theirs.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/extracts/{theirs.pk}/download").status_code == 404

    routes = AuditEntry.objects.filter(action="access_refused").values_list(
        "detail__route", flat=True
    )
    assert sorted(routes) == sorted(
        ["extract page", "extract download", "extract API", "extract download API"]
    )


@pytest.mark.django_db
def test_a_lapsed_analysts_counts_and_explorer_are_refused_and_audited(client, personas):
    sign_in(client, personas["lapsed_analyst"])

    assert client.get("/workspace/counts/").status_code == 404
    assert client.get("/workspace/datasets/police_crime_offence/").status_code == 404

    assert refusals("counts")
    (explorer,) = refusals("explorer")
    assert "withdrew" in explorer.detail["reason"]


@pytest.mark.django_db
def test_opening_the_explorer_is_audited(client, personas):
    sign_in(client, personas["analyst"])

    assert client.get("/workspace/datasets/police_crime_offence/").status_code == 200

    viewed = AuditEntry.objects.get(action="explorer_viewed")
    assert (viewed.dataset_slug, viewed.actor) == ("police_crime_offence", personas["analyst"])


@pytest.mark.django_db
def test_a_document_the_user_may_not_see_is_refused_and_audited(client, personas):
    from tests.hub.owned import document

    council = Agency.objects.get(name="Wigan Council")
    hidden = document(owner=personas["coordinator"], partnership=council.partnership,
                      marker="hidden", agencies=[council])  # fmt: skip
    sign_in(client, personas["associate_analyst"])

    assert client.get(f"/documents/{hidden.pk}/").status_code == 404

    (refusal,) = refusals("document")
    assert refusal.object_id == str(hidden.pk)


# -- bounded periods --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/workspace/counts/", {"period_end": "9999-12-31"}, "lies between"),
        ("/workspace/compare/", {"period_start": "0001-01-01", "period_end": "9999-12-31"},
         "lies between"),
        ("/workspace/counts/", {"period_start": "2000-01-01", "period_end": "2026-12-31"},
         "at most 10 years"),
    ],
)  # fmt: skip
def test_a_period_out_of_bounds_is_a_clear_400(client, personas, path, params, message):
    sign_in(client, personas["analyst"])

    response = client.get(path, params)

    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.django_db
def test_an_extract_period_out_of_bounds_is_refused(api_client, personas):
    api_client.force_authenticate(personas["analyst"])
    response = api_client.post("/api/v1/extracts/", {
        "dataset": "police_crime_offence", "period_start": "0001-01-01",
        "period_end": "9999-12-31", "format": "csv",
    }, format="json")  # fmt: skip
    assert response.status_code == 403
    assert "lies between" in response.json()["detail"]
