"""Builders of the partnerships and people that access tests need beyond the demo's personas:
a second partnership, and the users who belong to two places at once."""

from __future__ import annotations

import datetime

from datasets.models import Dataset
from hub.models import Agency, InformationSharingProtocol, Partnership, User
from hub.services import agency_ensure, membership_grant, partnership_ensure
from sanitise.models import PostcodeCentroid, PostcodeHouseholds
from sharing.models import AccessProfile
from sharing.services.isp import isp_ensure, signature_record
from sharing.services.profiles import access_profile_assign, access_profile_ensure
from sharing.services.requests import request_create

COUNCIL = "Wigan Council"
POLICE = "Greater Manchester Police (Wigan)"


def member(agency: Agency, username: str, roles: list[str]) -> User:
    """The user (made if new) with exactly these roles at the agency."""
    user, _ = User.objects.get_or_create(username=username, email=f"{username}@example.invalid")
    membership_grant(user=user, agency=agency, roles=roles, acting_user=None, system="test")
    return user


def yonder() -> dict:
    """A second partnership, signed up, whose police agency sorts after the demo's agencies
    (so that "the first analyst agency by name" is never it), with a profile granting its
    analysts the victims' depersonalised records."""
    partnership = partnership_ensure(name="Yonder CSP", slug="yonder", postcode_areas=["YO"])
    isp = isp_ensure(
        partnership=partnership, version="1", adopted_on=datetime.date(2026, 1, 1),
        review_due=datetime.date(2099, 1, 1), acting_user=None, system="test",
    )  # fmt: skip
    police = agency_ensure(
        partnership=partnership, name="Yonder Police", agency_type="police_force",
        acting_user=None, system="test",
    )  # fmt: skip
    signature_record(
        isp=isp, agency=police, tier="core", signed_on=isp.adopted_on,
        signatory_name="Chief Constable", acting_user=None, system="test",
    )  # fmt: skip
    profile = access_profile_ensure(
        partnership=partnership, name="Yonder analysts",
        levels={Dataset.objects.get(slug="police_crime_victim"): "depersonalised"},
        acting_user=None, system="test",
    )  # fmt: skip
    return {"partnership": partnership, "police": police, "profile": profile}


def demo_partnership() -> Partnership:
    return Agency.objects.get(name=COUNCIL).partnership


def two_places_analyst() -> User:
    """An analyst in the demo partnership with no access profile there, and in Yonder with
    Yonder's profile: nothing of the demo partnership's may reach them."""
    other = yonder()
    user = member(Agency.objects.get(name=COUNCIL), "two_places", ["analyst"])
    member(other["police"], "two_places", ["analyst"])
    access_profile_assign(profile=other["profile"], holder=user, acting_user=None, system="test")
    return user


def analyst_and_dlo() -> User:
    """An analyst at the council, holding the partnership analysts' profile, who is also the
    police's DLO: deciding for one agency gives them no more data as an analyst."""
    user = member(Agency.objects.get(name=COUNCIL), "analyst_and_dlo", ["analyst"])
    member(Agency.objects.get(name=POLICE), "analyst_and_dlo", ["dlo"])
    profile = AccessProfile.objects.get(name="Partnership analysts")
    access_profile_assign(profile=profile, holder=user, acting_user=None, system="test")
    return user


# -- personal data: prisons and their releases ---------------------------------------------

OCTOBER = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
RELEASE_HEADER = [
    "name", "gender", "date_of_birth", "offence", "release_date", "address", "postcode",
]  # fmt: skip


def signed_agency(name: str, agency_type: str, tier: str = "core") -> Agency:
    agency = agency_ensure(
        partnership=Agency.objects.first().partnership, name=name, agency_type=agency_type,
        acting_user=None, system="test",
    )  # fmt: skip
    isp = InformationSharingProtocol.objects.get(partnership=agency.partnership)
    signature_record(isp=isp, agency=agency, tier=tier, signed_on=isp.adopted_on,
                     signatory_name="Governor", acting_user=None, system="test")  # fmt: skip
    return agency


def postcode_in(district: str) -> str:
    """A postcode of the district with enough households that sanitising keeps it."""
    enough = PostcodeHouseholds.objects.filter(households__gte=4).values("postcode")
    return (
        PostcodeCentroid.objects.filter(postcode__startswith=f"{district} ", postcode__in=enough)
        .order_by("postcode")
        .first()
        .postcode
    )


def ask(analyst, agency, *, fields=("name", "offence", "release_date"), districts=("WN4",)):
    return request_create(
        requester=analyst, dataset=Dataset.objects.get(slug="prison_release"),
        supplying_agency=agency, purpose="Released prisoners near recent burglaries in WN4",
        legal_basis="cda_s115", legal_basis_detail="", records_needed="Hindley's WN4 releases",
        period_start=OCTOBER[0], period_end=OCTOBER[1], days_needed=30,
        fields=list(fields), districts=list(districts),
    )  # fmt: skip


def profile_level(slug: str, level: str, profile: str = "Associate partners") -> None:
    """A demo profile with ``level`` on one dataset, the rest as it is: e.g. counts only of
    police offences for associate partners, whom the demo gives them as records."""
    profile = AccessProfile.objects.get(name=profile)
    levels = {grant.dataset: grant.level for grant in profile.grants.select_related("dataset")}
    access_profile_ensure(
        partnership=profile.partnership, name=profile.name, acting_user=None, system="test",
        levels={**levels, Dataset.objects.get(slug=slug): level},
    )  # fmt: skip
