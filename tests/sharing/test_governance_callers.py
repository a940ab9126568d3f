"""Governance services check their caller themselves, whoever calls them (a page, a task, a
command): the co-ordinator of that partnership, or for a supply's retry its agency's supplier
or DLO too. Anyone else is refused, and the refusal audited once."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from datasets.access import SupplyRefused
from datasets.models import Dataset, Supply, SupplySchedule
from datasets.services.schedule import ScheduleRefused, schedule_set
from datasets.services.supplies import supply_retry
from hub.choices import Role
from hub.models import (
    Agency,
    AuditEntry,
    InformationSharingProtocol,
    Membership,
    Partnership,
    Signature,
    User,
)
from hub.services import agency_ensure, membership_grant, partnership_ensure
from sharing.models import AccessProfile
from sharing.selectors import responsible_authorities
from sharing.services.governance import (
    agency_admit,
    isp_adopt,
    user_deactivate,
    user_invite,
    user_roles_set,
)
from sharing.services.isp import GovernanceRefused, signature_record, signature_withdraw
from sharing.services.profiles import (
    access_profile_assign,
    access_profile_ensure,
    access_profile_unassign,
)
from tests.conftest import supply_row

pytestmark = pytest.mark.django_db

POLICE = "Greater Manchester Police (Wigan)"
COUNCIL = "Wigan Council"


@pytest.fixture
def callers(personas):
    """The demo's personas, and the co-ordinator of another partnership."""
    partnership = partnership_ensure(
        name="Bolton Community Safety Partnership", slug="bolton", postcode_areas=["BL"]
    )
    council = agency_ensure(
        partnership=partnership, name="Bolton Council", agency_type="local_authority",
        acting_user=None, system="test",
    )  # fmt: skip
    other = User.objects.create_user("bolton_coordinator", email="co@bolton.example")
    membership_grant(
        user=other, agency=council, roles=[Role.COORDINATOR], acting_user=None, system="test"
    )
    return {**personas, "bolton_coordinator": other}


def wigan() -> Partnership:
    return Partnership.objects.get(slug="wigan-leigh")


def failed_supply() -> Supply:
    return supply_row(
        dataset=Dataset.objects.get(slug="police_crime_offence"),
        agency=Agency.objects.get(name=POLICE),
        uploaded_by=User.objects.get(username="police_supplier"),
        period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31),
        status="failed",
        report={"failed_stage": "loading"},
    )


@dataclass
class Act:
    """One service call as ``acting_user``, and whether it took effect."""

    call: Callable[[User], object]
    done: Callable[[], bool]
    refusal: type[Exception] = GovernanceRefused


def today() -> datetime.date:
    return timezone.localdate()


def acts(users: dict[str, User]) -> dict[str, Act]:
    police = Agency.objects.get(name=POLICE)
    council = Agency.objects.get(name=COUNCIL)
    isp = InformationSharingProtocol.objects.get(partnership=wigan())
    supplier = users["police_supplier"]
    supply = failed_supply()
    return {
        "user_invite": Act(
            lambda user: user_invite(
                agency=council,
                email="new@wigan.example",
                first_name="New",
                last_name="Analyst",
                roles=[Role.ANALYST],
                acting_user=user,
            ),
            lambda: User.objects.filter(email="new@wigan.example").exists(),
        ),  # fmt: skip
        "user_deactivate": Act(
            lambda user: user_deactivate(user=supplier, acting_user=user),
            lambda: not User.objects.get(pk=supplier.pk).is_active,
        ),
        "user_roles_set": Act(
            lambda user: user_roles_set(
                user=supplier, agency=police, roles=[Role.SUPPLIER, Role.ANALYST], acting_user=user
            ),
            lambda: Role.ANALYST in Membership.objects.get(user=supplier, agency=police).roles,
        ),
        "isp_adopt": Act(
            lambda user: isp_adopt(
                partnership=wigan(),
                version="2099.1",
                adopted_on=today(),
                review_due=today() + datetime.timedelta(days=365),
                acting_user=user,
            ),
            lambda: InformationSharingProtocol.objects.filter(version="2099.1").exists(),
        ),  # fmt: skip
        "agency_admit": Act(
            lambda user: agency_admit(
                partnership=wigan(),
                name="Hindley Residents",
                agency_type="voluntary_group",
                consenting=list(responsible_authorities(partnership=wigan())),
                acting_user=user,
            ),
            lambda: Agency.objects.filter(name="Hindley Residents").exists(),
        ),  # fmt: skip
        "signature_record": Act(
            lambda user: signature_record(
                isp=isp,
                agency=council,
                tier="core",
                signed_on=isp.adopted_on,
                signatory_name="A New Chief Executive",
                acting_user=user,
            ),
            lambda: Signature.objects.filter(signatory_name="A New Chief Executive").exists(),
        ),  # fmt: skip
        "signature_withdraw": Act(
            lambda user: signature_withdraw(
                signature=Signature.objects.get(isp=isp, agency=council),
                withdrawn_on=today(),
                acting_user=user,
            ),
            lambda: Signature.objects.get(isp=isp, agency=council).withdrawn_on is not None,
        ),  # fmt: skip
        "access_profile_ensure": Act(
            lambda user: access_profile_ensure(
                partnership=wigan(),
                name="Fire counts",
                acting_user=user,
                levels={Dataset.objects.get(slug="fire_incident"): "aggregate"},
            ),
            lambda: AccessProfile.objects.filter(name="Fire counts").exists(),
        ),  # fmt: skip
        "access_profile_assign": Act(
            lambda user: access_profile_assign(
                profile=AccessProfile.objects.get(name="Associate partners"),
                holder=supplier,
                acting_user=user,
            ),
            lambda: supplier.access_profiles.filter(name="Associate partners").exists(),
        ),  # fmt: skip
        "access_profile_unassign": Act(
            lambda user: access_profile_unassign(
                profile=AccessProfile.objects.get(name="Partnership analysts"),
                holder=users["analyst"],
                acting_user=user,
            ),
            lambda: not users["analyst"].access_profiles.exists(),
        ),  # fmt: skip
        "schedule_set": Act(
            lambda user: schedule_set(
                agency=police,
                dataset=Dataset.objects.get(slug="police_crime_offence"),
                frequency="quarterly",
                due_day=12,
                acting_user=user,
            ),
            lambda: SupplySchedule.objects.filter(frequency="quarterly", due_day=12).exists(),
            ScheduleRefused,
        ),  # fmt: skip
        "supply_retry": Act(
            lambda user: supply_retry(supply=supply, acting_user=user),
            lambda: Supply.objects.get(pk=supply.pk).status == "loading",
            SupplyRefused,
        ),
    }


SERVICES = [
    "user_invite", "user_deactivate", "user_roles_set", "isp_adopt", "agency_admit",
    "signature_record", "signature_withdraw", "access_profile_ensure", "access_profile_assign",
    "access_profile_unassign", "schedule_set", "supply_retry",
]  # fmt: skip
# Who may do each; the co-ordinator of the partnership may do all.
ALSO_ALLOWED = {"supply_retry": ["police_supplier", "dlo_police"]}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("caller", ["bolton_coordinator", "analyst", "council_supplier"])
def test_anyone_but_the_partnerships_coordinator_is_refused_and_audited(callers, service, caller):
    act = acts(callers)[service]
    user = callers[caller]

    with pytest.raises(act.refusal, match="Only"):
        act.call(user)

    assert not act.done()
    refusal = AuditEntry.objects.get(action="access_refused")
    assert refusal.actor == user
    assert refusal.detail["route"] == service and refusal.detail["reason"].startswith("Only")


@pytest.mark.parametrize("service", SERVICES)
def test_the_partnerships_coordinator_may(callers, service):
    act = acts(callers)[service]

    act.call(callers["coordinator"])

    assert act.done()
    assert not AuditEntry.objects.filter(action="access_refused").exists()


@pytest.mark.parametrize("caller", ALSO_ALLOWED["supply_retry"])
def test_the_agencys_supplier_and_dlo_may_retry_its_supply(callers, caller):
    act = acts(callers)["supply_retry"]

    act.call(callers[caller])

    assert act.done()


def test_a_coordinator_deactivates_only_users_of_their_own_partnership(callers):
    bolton = callers["bolton_coordinator"]

    with pytest.raises(GovernanceRefused, match="Only"):
        user_deactivate(user=bolton, acting_user=callers["coordinator"])

    assert User.objects.get(pk=bolton.pk).is_active


def test_a_system_process_acts_only_when_it_names_itself(callers):
    police = Agency.objects.get(name=POLICE)
    offences = Dataset.objects.get(slug="police_crime_offence")

    with pytest.raises(ScheduleRefused):
        schedule_set(agency=police, dataset=offences, frequency="quarterly", due_day=9,
                     acting_user=None)  # fmt: skip
    refusal = AuditEntry.objects.get(action="access_refused")
    assert refusal.actor is None and refusal.actor_username == "system:unnamed"

    schedule_set(agency=police, dataset=offences, frequency="quarterly", due_day=9,
                 acting_user=None, system="test")  # fmt: skip
    assert SupplySchedule.objects.get(agency=police, dataset=offences).due_day == 9
