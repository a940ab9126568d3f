"""Who may extract what: the matrix of every persona × dataset kind × level, and refusals."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group

from datasets.models import Dataset
from hub.models import AuditEntry, InformationSharingProtocol
from sharing.models import AccessProfile, Extract
from sharing.services.profiles import access_profile_assign, access_profile_ensure
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

OFFENCE, PRISON, PPO = "police_crime_offence", "prison_release", "ppo"
AGG, DEP, PERSONAL = "aggregate", "depersonalised", "personal"

# (persona, dataset, level) → allowed. Written out, not computed: this is the policy.
ALLOWED = {
    ("analyst", OFFENCE, AGG): True,
    ("analyst", OFFENCE, DEP): True,
    ("associate_analyst", OFFENCE, AGG): True,
    ("associate_analyst", OFFENCE, DEP): True,
}
PERSONAS = [
    "analyst", "associate_analyst", "lapsed_analyst", "police_supplier", "council_supplier",
    "health_supplier", "dlo_police", "coordinator", "outsider",
]  # fmt: skip
MATRIX = [
    (persona, dataset, level)
    for persona in PERSONAS
    for dataset in (OFFENCE, PRISON, PPO)
    for level in (AGG, DEP, PERSONAL)
]


def request_extract(client, user, dataset, level, **extra):
    client.force_authenticate(user)
    body = {
        "dataset": dataset,
        "period_start": "2026-01-01",
        "period_end": "2026-10-31",
        "format": "csv",
        "level": level,
        **extra,
    }
    return client.post("/api/v1/extracts/", body, format="json")


@pytest.mark.parametrize(("persona", "dataset", "level"), MATRIX)
def test_the_extract_permission_matrix(api_client, client, personas, persona, dataset, level):
    allowed = ALLOWED.get((persona, dataset, level), False)

    response = request_extract(api_client, personas[persona], dataset, level)

    assert response.status_code == (201 if allowed else 403), response.content
    sign_in(client, personas[persona])
    page = client.get(f"/extracts/new/{dataset}/")
    may_open = any(ALLOWED.get((persona, dataset, lvl)) for lvl in (AGG, DEP))
    assert page.status_code == (200 if may_open else 404)
    if allowed:
        assert Extract.objects.get(pk=response.json()["id"]).level == level
        assert AuditEntry.objects.filter(action="extract_requested").count() == 1
    else:
        assert not Extract.objects.exists()
        # The access gate audits the refusal, once.
        refusal = AuditEntry.objects.get(action="access_refused", detail__route="extract")
        assert refusal.detail["reason"]


@pytest.mark.parametrize(
    ("persona", "reason"),
    [
        ("lapsed_analyst", "withdrew from ISP"),
        ("police_supplier", "Only analysts extract data"),
        ("outsider", "Only analysts extract data"),
    ],
)
def test_a_refusal_says_why(api_client, personas, persona, reason):
    response = request_extract(api_client, personas[persona], OFFENCE, AGG)
    assert reason in response.json()["detail"]


def test_an_analyst_asking_for_more_than_the_profile_grants_is_told_the_limit(api_client, personas):
    response = request_extract(api_client, personas["associate_analyst"], "fire_incident", DEP)
    assert response.status_code == 403
    assert "at aggregate level only" in response.json()["detail"]


def test_an_associate_asking_for_an_identifying_field_is_refused(api_client, personas):
    response = request_extract(
        api_client, personas["associate_analyst"], OFFENCE, DEP,
        fields=["crime_ref", "easting"],
    )  # fmt: skip
    assert response.status_code == 403
    assert "easting is an identifying field" in response.json()["detail"]
    refusal = AuditEntry.objects.get(action="extract_refused")
    assert refusal.detail["fields"] == ["crime_ref", "easting"]


def test_a_victims_date_of_birth_is_never_extractable(api_client, personas):
    response = request_extract(
        api_client, personas["analyst"], "police_crime_victim", DEP, fields=["date_of_birth"]
    )
    assert response.status_code == 403
    assert "date_of_birth is an identifying field" in response.json()["detail"]


def test_a_linked_dataset_needs_access_of_its_own(api_client, personas):
    response = request_extract(
        api_client, personas["associate_analyst"], OFFENCE, DEP,
        linked_dataset="police_crime_victim",
    )  # fmt: skip
    assert response.status_code == 403
    assert "Police recorded crime: the victim" in response.json()["detail"]
    granted = request_extract(
        api_client, personas["analyst"], OFFENCE, DEP, linked_dataset="police_crime_victim"
    )
    assert granted.status_code == 201


def test_only_linked_datasets_can_be_joined(api_client, personas):
    response = request_extract(
        api_client, personas["analyst"], OFFENCE, DEP, linked_dataset="council_asb"
    )
    assert response.status_code == 403
    assert "does not link to" in response.json()["detail"]


def test_counts_have_no_points_to_map(api_client, personas):
    response = request_extract(api_client, personas["analyst"], OFFENCE, AGG, format="geojson")
    assert response.status_code == 403
    assert "choose csv or xlsx" in response.json()["detail"]


def test_every_signature_lapses_at_review_and_access_with_it(api_client, personas):
    InformationSharingProtocol.objects.update(review_due=datetime.date(2020, 1, 1))
    InformationSharingProtocol.objects.update(adopted_on=datetime.date(2019, 1, 1))
    response = request_extract(api_client, personas["analyst"], OFFENCE, AGG)
    assert response.status_code == 403
    assert "every signature has lapsed" in response.json()["detail"]


def test_a_profile_assigned_to_a_group_grants_its_members(api_client, personas):
    user = personas["council_supplier"]
    from hub.models import Membership

    Membership.objects.filter(user=user).update(roles=["supplier", "analyst"])
    group = Group.objects.create(name="Council analysts")
    user.groups.add(group)
    profile = AccessProfile.objects.get(name="Associate partners")
    assert request_extract(api_client, user, OFFENCE, DEP).status_code == 403

    access_profile_assign(profile=profile, holder=group, acting_user=None, system="test")

    assert request_extract(api_client, user, OFFENCE, DEP).status_code == 201


def test_a_profile_cannot_grant_personal_data(personas):
    from hub.models import Partnership

    with pytest.raises(ValueError, match="approved request"):
        access_profile_ensure(
            partnership=Partnership.objects.get(),
            name="Too much",
            levels={Dataset.objects.get(slug=PRISON): PERSONAL},
            acting_user=None,
            system="test",
        )


def test_someone_elses_extract_is_a_404_like_a_missing_one(api_client, personas):
    extract_id = request_extract(api_client, personas["analyst"], OFFENCE, DEP).json()["id"]
    for persona in ("associate_analyst", "coordinator", "dlo_police", "outsider"):
        api_client.force_authenticate(personas[persona])
        assert api_client.get(f"/api/v1/extracts/{extract_id}/").status_code == 404
        assert api_client.get(f"/api/v1/extracts/{extract_id}/download").status_code == 404
    api_client.force_authenticate(personas["analyst"])
    assert api_client.get(f"/api/v1/extracts/{extract_id}/").json()["status"] == "queued"
    assert api_client.get("/api/v1/extracts/not-an-id/").status_code == 404
