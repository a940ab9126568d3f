"""Access profiles in the co-ordinator's console: made and changed per dataset of the
catalogue, previewed (who gains, who loses what) before they are saved, for the co-ordinator
alone; and the "why" of a user's access naming the profile and the rule."""

from __future__ import annotations

import json
import shutil

import pytest

from datasets.catalogue import SCHEMA_DIR
from datasets.models import Dataset
from datasets.services.catalogue import catalogue_sync
from hub.models import Agency, ApiToken, AuditEntry, User
from hub.services import token_issue
from sharing.access import access_decision, record_scope
from sharing.models import AccessProfile
from sharing.services.isp import GovernanceRefused
from sharing.services.profiles import access_profile_save
from tests.conftest import sign_in
from tests.factories import member, yonder

pytestmark = pytest.mark.django_db

NEW = "/governance/profiles/new/"


def profile_url(name: str) -> str:
    return f"/governance/profiles/{AccessProfile.objects.get(name=name).pk}/"


def shown(client, url: str, **changes) -> dict:
    """The profile's form as its page fills it in, with ``changes`` (``level_<slug>``,
    ``holders``, ``name``, ``description``) made."""
    form = client.get(url).context["form"]
    data = {field.name: field.value() for field in form}
    data["holders"] = [str(pk) for pk in data["holders"] or []]
    return {**{k: v for k, v in data.items() if v is not None}, **changes}


def preview(client, url: str, data: dict):
    response = client.post(url, {**data, "action": "preview"})
    assert response.status_code == 200
    return response


def save(client, url: str, data: dict):
    """Preview, then save what was previewed, as the page's buttons do."""
    previewed = preview(client, url, data).context["previewed"]
    assert previewed
    return client.post(url, {**data, "action": "save", "previewed": previewed})


def changes_of(response) -> set[tuple[str, str, str, str]]:
    return {
        (change.user.username, change.dataset.slug, change.before, change.after)
        for change in response.context["changes"]
    }


@pytest.fixture
def new_dataset(personas, tmp_path):
    """A dataset added as a schema file, and nothing else: no code, no migration."""
    directory = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, directory)
    descriptor = json.loads((directory / "police_detection.json").read_text())
    descriptor["name"] = "police_outcome"
    descriptor["title"] = "Police outcomes"
    (directory / "police_outcome.json").write_text(json.dumps(descriptor))
    catalogue_sync(directory=directory)
    return Dataset.objects.get(slug="police_outcome")


def test_a_profile_for_a_dataset_added_as_a_schema_file_is_made_in_the_console(
    client, personas, new_dataset
):
    analyst, coordinator = personas["analyst"], personas["coordinator"]
    assert access_decision(user=analyst, dataset=new_dataset).level == "none"
    sign_in(client, coordinator)

    page = client.get(NEW)
    assert 'id="level-police_outcome"' in page.content.decode()
    data = shown(client, NEW, name="Outcome readers", description="Police outcomes, records.",
                 level_police_outcome="depersonalised", holders=[str(analyst.pk)])  # fmt: skip
    response = save(client, NEW, data)

    profile = AccessProfile.objects.get(name="Outcome readers")
    assert response.status_code == 302 and response["Location"] == profile_url(profile.name)
    listed = client.get("/governance/profiles/").content.decode()
    assert "Outcome readers" in listed
    assert "Police outcomes: Depersonalised (sanitised) records" in listed
    decision = access_decision(user=analyst, dataset=new_dataset)
    assert decision.level == "depersonalised"
    assert decision.reason.startswith("Outcome readers profile: depersonalised")
    scope = record_scope(user=analyst, dataset=new_dataset, level="depersonalised", route="test")
    assert scope.fields  # the real gate lets the records through
    changed = AuditEntry.objects.get(action="access_profile_changed", actor=coordinator)
    assert changed.detail["levels"] == {"police_outcome": "depersonalised"}
    assert AuditEntry.objects.filter(action="access_profile_assigned", actor=coordinator).exists()


def test_the_preview_lists_exactly_who_gains_and_who_loses_and_changes_nothing(client, personas):
    sign_in(client, personas["coordinator"])
    url = profile_url("Associate partners")
    supplier = personas["council_supplier"]
    data = shown(client, url, level_fire_incident="depersonalised",
                 level_police_crime_offence="aggregate")  # fmt: skip
    # Holders who gain nothing: the analyst has more through another profile, a supplier is
    # no analyst, and the lapsed analyst's agency stands outside the ISP.
    data["holders"] += [str(personas["analyst"].pk), str(supplier.pk)]
    token_issue(user=personas["associate_analyst"], acting_user=personas["associate_analyst"])
    audit_before = AuditEntry.objects.count()

    response = preview(client, url, data)

    assert changes_of(response) == {
        ("associate_analyst", "fire_incident", "aggregate", "depersonalised"),
        ("associate_analyst", "police_crime_offence", "depersonalised", "aggregate"),
    }
    gain = next(c for c in response.context["changes"] if c.dataset.slug == "fire_incident")
    assert gain.gains and gain.agency == personas["associate_analyst"].memberships.get().agency
    assert gain.reason.startswith("Associate partners profile: depersonalised")
    page = response.content.decode()
    assert 'id="preview"' in page and "gains Depersonalised (sanitised) records" in page
    # Nothing of the change stays: no level, holder, audit entry or revoked token.
    profile = AccessProfile.objects.get(name="Associate partners")
    assert profile.grants.get(dataset__slug="police_crime_offence").level == "depersonalised"
    assert not profile.users.filter(pk=supplier.pk).exists()
    assert AuditEntry.objects.count() == audit_before
    assert ApiToken.objects.filter(user=personas["associate_analyst"]).exists()


def test_saving_a_lowered_level_revokes_the_holders_tokens(client, personas):
    associate = personas["associate_analyst"]
    token_issue(user=associate, acting_user=associate)
    sign_in(client, personas["coordinator"])
    url = profile_url("Associate partners")

    save(client, url, shown(client, url, level_police_crime_offence="aggregate"))

    offences = Dataset.objects.get(slug="police_crime_offence")
    assert access_decision(user=associate, dataset=offences).level == "aggregate"
    assert not ApiToken.objects.filter(user=associate).exists()
    revoked = AuditEntry.objects.get(action="token_revoked", object_id=str(associate.pk))
    assert revoked.detail["reason"] == "access profile Associate partners lowered"


def test_a_save_that_differs_from_its_preview_is_previewed_again(client, personas):
    sign_in(client, personas["coordinator"])
    url = profile_url("Associate partners")
    data = shown(client, url, level_fire_incident="depersonalised")
    previewed = preview(client, url, data).context["previewed"]

    changed = {**data, "level_council_asb": "aggregate"}
    response = client.post(url, {**changed, "action": "save", "previewed": previewed})

    assert response.status_code == 200
    assert ("associate_analyst", "council_asb", "depersonalised", "aggregate") in changes_of(
        response
    )
    profile = AccessProfile.objects.get(name="Associate partners")
    assert profile.grants.get(dataset__slug="fire_incident").level == "aggregate"


def test_holders_are_given_and_taken_on_the_profile_page(client, personas):
    sign_in(client, personas["coordinator"])
    url = profile_url("Associate partners")
    supplier, associate = personas["council_supplier"], personas["associate_analyst"]
    data = shown(client, url)
    data["holders"] = [pk for pk in data["holders"] if pk != str(associate.pk)] + [str(supplier.pk)]

    response = preview(client, url, data)
    changes = response.context["changes"]
    assert changes and all(change.user == associate and not change.gains for change in changes)
    save(client, url, data)

    profile = AccessProfile.objects.get(name="Associate partners")
    assert set(profile.users.all()) == {supplier, personas["lapsed_analyst"]}
    offences = Dataset.objects.get(slug="police_crime_offence")
    assert access_decision(user=associate, dataset=offences).level == "none"
    assert AuditEntry.objects.filter(action="access_profile_unassigned").exists()


def test_personal_level_cannot_be_chosen(client, personas):
    sign_in(client, personas["coordinator"])
    url = profile_url("Partnership analysts")
    form = client.get(url).context["form"]
    offered = {value for value, _ in form.fields["level_police_crime_offender"].choices}
    assert offered == {"none", "aggregate", "depersonalised"}

    data = shown(client, url, level_police_crime_offender="personal")
    for action in ("preview", "save"):
        response = client.post(url, {**data, "action": action, "previewed": "x"})
        assert response.status_code == 200 and response.context["changes"] is None
        assert "level_police_crime_offender" in response.context["form"].errors
    profile = AccessProfile.objects.get(name="Partnership analysts")
    assert not profile.grants.filter(level="personal").exists()


@pytest.mark.parametrize(
    ("tampered", "error"),
    [
        ({"level_not_in_the_catalogue": "aggregate"}, "No dataset not_in_the_catalogue"),
        ({"level_fire_incident": "everything"}, "Select a valid choice"),
    ],
)
def test_a_tampered_form_is_refused(client, personas, tampered, error):
    sign_in(client, personas["coordinator"])
    url = profile_url("Associate partners")
    data = {**shown(client, url), **tampered}
    before = sorted(AccessProfile.objects.get(name="Associate partners").grants.values_list(
        "dataset__slug", "level"))  # fmt: skip

    for action in ("preview", "save"):
        response = client.post(url, {**data, "action": action, "previewed": "x"})
        assert response.status_code == 200 and error in response.content.decode()
        assert response.context["changes"] is None
    after = sorted(AccessProfile.objects.get(name="Associate partners").grants.values_list(
        "dataset__slug", "level"))  # fmt: skip
    assert after == before


def test_a_holder_from_another_partnership_is_refused(client, personas):
    stranger = member(yonder()["police"], "yonder_analyst", ["analyst"])
    sign_in(client, personas["coordinator"])
    url = profile_url("Associate partners")
    data = shown(client, url)
    data["holders"] += [str(stranger.pk)]

    response = client.post(url, {**data, "action": "preview"})

    assert "holders" in response.context["form"].errors
    assert not AccessProfile.objects.filter(users=stranger, name="Associate partners").exists()


def test_a_new_profile_may_not_take_an_existing_name(client, personas):
    sign_in(client, personas["coordinator"])
    data = shown(client, NEW, name="Partnership analysts", level_ppo="aggregate")

    response = client.post(NEW, {**data, "action": "preview"})

    assert "exists already" in response.content.decode()
    profile = AccessProfile.objects.get(name="Partnership analysts")
    assert not profile.grants.filter(dataset__slug="ppo").exists()


REFUSED = ["dlo_police", "analyst", "associate_analyst", "police_supplier", "outsider"]


@pytest.mark.parametrize("persona", REFUSED)
def test_the_profile_pages_are_the_coordinators_alone_and_refusals_are_audited(
    client, personas, persona
):
    user = personas[persona]
    sign_in(client, user)
    url = profile_url("Associate partners")
    data = {"level_fire_incident": "depersonalised", "action": "save", "description": ""}

    for method, address in [("get", "/governance/profiles/"), ("get", NEW), ("get", url),
                            ("post", NEW), ("post", url)]:  # fmt: skip
        response = getattr(client, method)(address, data if method == "post" else None)
        assert response.status_code == 404, (method, address)
    refusals = AuditEntry.objects.filter(action="access_refused", actor=user)
    assert {entry.detail["route"] for entry in refusals} == {
        "access profiles", "new access profile", "access profile",
    }  # fmt: skip
    profile = AccessProfile.objects.get(name="Associate partners")
    assert profile.grants.get(dataset__slug="fire_incident").level == "aggregate"


def test_another_partnerships_coordinator_sees_only_their_own_profiles(client, personas):
    other = yonder()
    coordinator = member(other["police"], "yonder_coordinator", ["coordinator"])
    sign_in(client, coordinator)

    listed = client.get("/governance/profiles/").content.decode()
    assert "Yonder analysts" in listed and "Associate partners" not in listed
    url = profile_url("Associate partners")
    assert client.get(url).status_code == 404
    data = {"level_fire_incident": "depersonalised", "action": "save", "description": ""}
    assert client.post(url, data).status_code == 404
    refusals = AuditEntry.objects.filter(action="access_refused", actor=coordinator)
    assert refusals.count() == 2  # the page and the change, each the demo partnership's business
    for refusal in refusals:
        assert refusal.detail["reason"] == "Another partnership's access profile."
        assert refusal.partnership == Agency.objects.get(name="Wigan Council").partnership
    profile = AccessProfile.objects.get(name="Associate partners")
    assert profile.grants.get(dataset__slug="fire_incident").level == "aggregate"


@pytest.mark.parametrize("persona", ["dlo_police", "analyst", "yonder_coordinator"])
def test_the_services_refuse_anyone_but_the_coordinator_and_audit_it(personas, persona):
    from sharing.services.profiles import access_profile_preview

    if persona == "yonder_coordinator":
        member(yonder()["police"], persona, ["coordinator"])
    user = User.objects.get(username=persona)
    profile = AccessProfile.objects.get(name="Associate partners")
    arguments = {
        "partnership": profile.partnership, "profile": profile, "holders": [],
        "levels": {Dataset.objects.get(slug="ppo"): "depersonalised"}, "acting_user": user,
    }  # fmt: skip

    for service in (access_profile_save, access_profile_preview):
        with pytest.raises(GovernanceRefused):
            service(**arguments)

    routes = set(
        AuditEntry.objects.filter(action="access_refused", actor=user).values_list(
            "detail__route", flat=True
        )
    )
    assert routes == {"access_profile_save", "access_profile_preview"}
    assert profile.users.exists() and not profile.grants.filter(dataset__slug="ppo").exists()


def test_the_why_names_the_profile_and_the_tier_rule(client, personas):
    offences = Dataset.objects.get(slug="police_crime_offence")
    offenders = Dataset.objects.get(slug="police_crime_offender")
    associate = access_decision(user=personas["associate_analyst"], dataset=offences)
    assert associate.reason == (
        "Associate partners profile: depersonalised (sanitised) records; the associate ISP tier "
        "allows at most depersonalised records, k-anonymised, and never personal data."
    )
    core = access_decision(user=personas["analyst"], dataset=offences)
    assert core.reason == (
        "Partnership analysts profile: depersonalised (sanitised) records; the core ISP tier "
        "allows it."
    )
    sign_in(client, personas["coordinator"])
    page = client.get(f"/governance/users/{personas['associate_analyst'].pk}/").content.decode()
    assert associate.reason in page

    url = profile_url("Associate partners")
    save(client, url, shown(client, url, level_police_crime_offender="aggregate"))
    both = AccessProfile.objects.get(name="Partnership analysts")
    save(client, profile_url(both.name), shown(
        client, profile_url(both.name), level_police_crime_offender="aggregate",
        holders=[str(personas["analyst"].pk), str(personas["associate_analyst"].pk)],
    ))  # fmt: skip
    told = access_decision(user=personas["associate_analyst"], dataset=offenders).reason
    assert told.startswith("Associate partners and Partnership analysts profiles: aggregate")
