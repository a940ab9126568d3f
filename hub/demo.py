"""The demo partnership: Wigan and Leigh, as in the case study of the GMAC warehouse.

Loading is idempotent. In demo mode each persona gets a password derived from the hub's secret
key, so it stays the same across reloads of this hub and is different on every other hub; the
personas who must sign in with a second factor get an authenticator key derived the same way,
whose current code the sign-in page shows.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from datasets.choices import DatasetKind
from datasets.demo import demo_schedules_set
from datasets.models import Dataset
from datasets.services.catalogue import catalogue_sync
from hub.access import two_factor_required
from hub.choices import AgencyType, AuditAction, Role, SignatureTier
from hub.models import User
from hub.services import (
    agency_ensure,
    audit_record,
    every_partnership_lock,
    membership_grant,
    partnership_ensure,
)
from sanitise.demo import demo_gazetteer_load
from sharing.choices import AccessLevel
from sharing.services.isp import isp_ensure, signature_record, signature_withdraw
from sharing.services.profiles import access_profile_assign, access_profile_ensure

SYSTEM = "load_demo"

# (name, agency type, tier it signed the ISP in, or None for an agency that has not signed)
DEMO_AGENCIES = [
    ("Greater Manchester Police (Wigan)", AgencyType.POLICE_FORCE, SignatureTier.CORE),
    ("Wigan Council", AgencyType.LOCAL_AUTHORITY, SignatureTier.CORE),
    ("Greater Manchester Fire and Rescue Service", AgencyType.FIRE_RESCUE, SignatureTier.CORE),
    (
        "Wrightington, Wigan and Leigh NHS Foundation Trust",
        AgencyType.NHS_TRUST,
        SignatureTier.CORE,
    ),
    ("Greater Manchester Probation Trust", AgencyType.PROBATION, SignatureTier.CORE),
    ("Wigan Youth Offending Service", AgencyType.YOUTH_OFFENDING, SignatureTier.CORE),
    ("Wigan Drug and Alcohol Action Team", AgencyType.DRUG_ALCOHOL_TEAM, SignatureTier.CORE),
    ("North West Ambulance Service", AgencyType.AMBULANCE, SignatureTier.CORE),
    ("Wigan and Leigh Housing", AgencyType.SOCIAL_LANDLORD, SignatureTier.CORE),
    (
        "Wigan Town Centre Business Crime Partnership",
        AgencyType.BUSINESS_COMMUNITY,
        SignatureTier.ASSOCIATE,
    ),
    ("Leigh Neighbourhood Watch", AgencyType.VOLUNTARY_GROUP, SignatureTier.ASSOCIATE),
    ("Environment Agency (North West)", AgencyType.ENVIRONMENT_AGENCY, None),
]
# Leigh Neighbourhood Watch signed and later withdrew: its users show what a lapsed signatory sees.
WITHDRAWN = "Leigh Neighbourhood Watch"

# (username, first name, last name, agency or None, roles)
DEMO_PERSONAS = [
    ("police_supplier", "Priya", "Shah", "Greater Manchester Police (Wigan)", [Role.SUPPLIER]),
    ("council_supplier", "Colin", "Baxter", "Wigan Council", [Role.SUPPLIER]),
    (
        "health_supplier",
        "Helen",
        "Okafor",
        "Wrightington, Wigan and Leigh NHS Foundation Trust",
        [Role.SUPPLIER],
    ),
    ("analyst", "Amir", "Hussain", "Wigan Council", [Role.ANALYST]),
    (
        "associate_analyst",
        "Anne",
        "Lowe",
        "Wigan Town Centre Business Crime Partnership",
        [Role.ANALYST],
    ),
    ("dlo_police", "David", "Lee", "Greater Manchester Police (Wigan)", [Role.DLO]),
    ("coordinator", "Clare", "Ormerod", "Wigan Council", [Role.COORDINATOR]),
    ("lapsed_analyst", "Lewis", "Pike", WITHDRAWN, [Role.ANALYST]),
    ("outsider", "Oliver", "Stone", None, []),
]


@dataclass(frozen=True)
class DemoPersona:
    username: str
    password: str
    summary: str


@dataclass(frozen=True)
class DemoSignIn:
    username: str
    summary: str
    code: str  # the authenticator's code now, for the personas who need one


def _derived(purpose: str, username: str) -> bytes:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{purpose}:{username}".encode(), hashlib.sha256
    ).digest()


def demo_password(username: str) -> str:
    return base64.urlsafe_b64encode(_derived("demo-password", username)).decode()[:18]


def demo_totp_key(username: str) -> str:
    """The hex key of a demo persona's authenticator (20 bytes, as TOTP apps expect)."""
    return _derived("demo-totp", username)[:20].hex()


def _summary(roles, agency_name: str | None) -> str:
    return f"{', '.join(roles) or 'no role'} at {agency_name or 'no agency'}"


def demo_sign_in_list() -> list[DemoSignIn]:
    """The personas for the demo sign-in page, with the current code of each demo
    authenticator. Only for demo mode: a real hub never shows a code."""
    if not settings.DEMO:
        return []
    devices = {
        device.user.username: device
        for device in TOTPDevice.objects.filter(
            confirmed=True, user__username__in=[persona[0] for persona in DEMO_PERSONAS]
        ).select_related("user")
        if device.key == demo_totp_key(device.user.username)
    }
    listed = []
    for username, _, _, agency_name, roles in DEMO_PERSONAS:
        device = devices.get(username)
        code = ""
        if device is not None:
            totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
            code = f"{totp.token():0{device.digits}d}"
        listed.append(DemoSignIn(username, _summary(roles, agency_name), code))
    return listed


# The ONS code of Wigan, the local authority of the demo partnership.
WIGAN = "E08000010"


@transaction.atomic
def demo_load(*, reference_data: bool = True) -> list[DemoPersona]:
    """Load the catalogue, the Wigan and Leigh partnership, its ISP, agencies and personas,
    and (unless told not to) the WN postcode gazetteer its supplies are geocoded against and
    Wigan's areas (wards, LSOAs, MSOAs, with synthetic statistics)."""
    # New areas re-derive every partnership's records: their locks first (hub.services).
    every_partnership_lock()
    catalogue_sync(system=SYSTEM)
    if reference_data:
        from sanitise.demo_areas import demo_areas_load

        demo_gazetteer_load()
        demo_areas_load()
    partnership = partnership_ensure(
        name="Wigan and Leigh Community Safety Partnership (demo)",
        slug="wigan-leigh",
        postcode_areas=["WN"],
        local_authorities=[WIGAN],
    )
    year = timezone.localdate().year
    isp = isp_ensure(
        partnership=partnership,
        version=f"{year}.1",
        adopted_on=datetime.date(year, 1, 1),
        review_due=datetime.date(year + 2, 1, 1),
        acting_user=None,
        system=SYSTEM,
    )
    agencies = {}
    for name, agency_type, tier in DEMO_AGENCIES:
        agency = agency_ensure(
            partnership=partnership,
            name=name,
            agency_type=agency_type,
            acting_user=None,
            system=SYSTEM,
        )
        agencies[name] = agency
        if tier is not None and not agency.signatures.filter(isp=isp).exists():
            signature = signature_record(
                isp=isp,
                agency=agency,
                tier=tier,
                signed_on=isp.adopted_on,
                signatory_name=f"Chief Officer, {name}",
                acting_user=None,
                system=SYSTEM,
            )
            if name == WITHDRAWN:
                signature_withdraw(
                    signature=signature,
                    withdrawn_on=isp.adopted_on + datetime.timedelta(days=1),
                    acting_user=None,
                    system=SYSTEM,
                )

    personas = []
    for username, first_name, last_name, agency_name, roles in DEMO_PERSONAS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@demo.invalid",
            },
        )
        if settings.DEMO:
            password = demo_password(username)
            if not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
        else:
            password = ""
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
        if agency_name is not None:
            membership_grant(
                user=user,
                agency=agencies[agency_name],
                roles=list(roles),
                acting_user=None,
                system=SYSTEM,
            )
        summary = _summary(roles, agency_name)
        personas.append(DemoPersona(username=username, password=password, summary=summary))
        if settings.DEMO and two_factor_required(user=user):
            _demo_authenticator(user)
    _demo_access_profiles(partnership)
    demo_schedules_set(partnership=partnership, system=SYSTEM)
    audit_record(actor=None, action=AuditAction.DEMO_LOADED, system=SYSTEM)
    return personas


def _demo_authenticator(user: User) -> None:
    """Give a persona who must use a second factor an authenticator with the derived key."""
    key = demo_totp_key(user.username)
    if TOTPDevice.objects.filter(user=user, confirmed=True, key=key).exists():
        return
    TOTPDevice.objects.filter(user=user).delete()
    TOTPDevice.objects.create(user=user, name="Demo authenticator", key=key, confirmed=True)
    audit_record(
        actor=None, action=AuditAction.TWO_FACTOR_ENROLLED, target=user,
        detail={"user": user.username}, system=SYSTEM,
    )  # fmt: skip


def _demo_access_profiles(partnership) -> None:
    """The analyst may extract every depersonalised dataset's records; the associate partners
    a few datasets' records and others' counts (their tier caps them anyway)."""
    depersonalised = Dataset.objects.filter(is_active=True, kind=DatasetKind.DEPERSONALISED)
    analysts = access_profile_ensure(
        partnership=partnership,
        name="Partnership analysts",
        description="Depersonalised records of every depersonalised dataset.",
        levels={dataset: AccessLevel.DEPERSONALISED for dataset in depersonalised},
        acting_user=None,
        system=SYSTEM,
    )
    associate_records = {"police_crime_offence", "police_incident", "council_asb"}
    associates = access_profile_ensure(
        partnership=partnership,
        name="Associate partners",
        description="Records of crime, incidents and ASB; counts of other depersonalised data.",
        levels={
            dataset: AccessLevel.DEPERSONALISED
            if dataset.slug in associate_records
            else AccessLevel.AGGREGATE
            for dataset in depersonalised
        },
        acting_user=None,
        system=SYSTEM,
    )
    for profile, username in [
        (analysts, "analyst"),
        (associates, "associate_analyst"),
        (associates, "lapsed_analyst"),
    ]:
        user = User.objects.get(username=username)
        if not profile.users.filter(pk=user.pk).exists():
            access_profile_assign(profile=profile, holder=user, acting_user=None, system=SYSTEM)
