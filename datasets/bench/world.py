"""The bench partnership ("bench", SYNTHETIC data only, users who cannot sign in), made
idempotently, and the clearing up of what a benchmark made in it, so that a hub's real or demo
data are never touched."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.utils import timezone

from datasets.choices import DatasetKind
from datasets.models import Dataset, Supply
from datasets.services.catalogue import catalogue_sync
from hub.choices import AgencyType, Role
from hub.models import Agency, Partnership, User
from hub.services import agency_ensure, audit_record, membership_grant, partnership_ensure

SYSTEM = "bench"
DATASET = "police_crime_offence"
PARTNERSHIP_SLUG = "bench"
SUPPLIER, ANALYST = "bench_supplier", "bench_analyst"
AGENCIES = [
    ("Benchmark Police", AgencyType.POLICE_FORCE),
    ("Benchmark Council", AgencyType.LOCAL_AUTHORITY),
    ("Benchmark NHS Trust", AgencyType.NHS_TRUST),
    ("Benchmark Ambulance", AgencyType.AMBULANCE),
    ("Benchmark Fire", AgencyType.FIRE_RESCUE),
]


class BenchFailed(RuntimeError):
    """The benchmark could not produce its figures; the message says why."""


# -- the bench partnership --------------------------------------------------------------------


@dataclass(frozen=True)
class BenchWorld:
    partnership: Partnership
    agencies: dict[str, Agency]
    supplier: User
    analyst: User


def bench_world() -> BenchWorld:
    """The bench partnership (WN, like the demo), its ISP, agencies and two users; idempotent.

    Loads the catalogue, and the demo's WN gazetteer when no postcode centroids are loaded
    (a hub with real reference data keeps it).
    """
    from hub.choices import SignatureTier
    from sanitise.choices import GazetteerKind
    from sanitise.demo import demo_gazetteer_load
    from sanitise.models import GazetteerVersion
    from sharing.choices import AccessLevel
    from sharing.services.isp import isp_ensure, signature_record
    from sharing.services.profiles import access_profile_assign, access_profile_ensure

    catalogue_sync(system=SYSTEM)
    if not GazetteerVersion.objects.filter(kind=GazetteerKind.CODEPOINT).exists():
        demo_gazetteer_load()
    partnership = partnership_ensure(
        name="Benchmark partnership (SYNTHETIC)", slug=PARTNERSHIP_SLUG, postcode_areas=["WN"]
    )
    year = timezone.localdate().year
    isp = isp_ensure(
        partnership=partnership,
        version=f"{year}.bench",
        adopted_on=datetime.date(year, 1, 1),
        review_due=datetime.date(year + 2, 1, 1),
        acting_user=None,
        system=SYSTEM,
    )
    agencies = {}
    for name, agency_type in AGENCIES:
        agency = agency_ensure(
            partnership=partnership, name=name, agency_type=agency_type, acting_user=None,
            system=SYSTEM,
        )  # fmt: skip
        if not agency.signatures.filter(isp=isp).exists():
            signature_record(
                isp=isp, agency=agency, tier=SignatureTier.CORE, signed_on=isp.adopted_on,
                signatory_name="Benchmark signatory", acting_user=None, system=SYSTEM,
            )  # fmt: skip
        agencies[name] = agency
    users = {}
    for username, agency_name, role in [
        (SUPPLIER, "Benchmark Police", Role.SUPPLIER),
        (ANALYST, "Benchmark Council", Role.ANALYST),
    ]:
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": "Benchmark", "last_name": role.title()}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        membership_grant(
            user=user, agency=agencies[agency_name], roles=[role], acting_user=None,
            system=SYSTEM,
        )  # fmt: skip
        users[username] = user
    profile = access_profile_ensure(
        partnership=partnership,
        name="Benchmark analysts",
        description="Depersonalised records of every depersonalised dataset.",
        levels={
            dataset: AccessLevel.DEPERSONALISED
            for dataset in Dataset.objects.filter(is_active=True, kind=DatasetKind.DEPERSONALISED)
        },
        acting_user=None,
        system=SYSTEM,
    )
    if not profile.users.filter(pk=users[ANALYST].pk).exists():
        access_profile_assign(
            profile=profile, holder=users[ANALYST], acting_user=None, system=SYSTEM
        )
    return BenchWorld(partnership, agencies, users[SUPPLIER], users[ANALYST])


# -- clearing up ------------------------------------------------------------------------------


def bench_clear(*, supplies: list[Supply], extracts: list = ()) -> None:
    """Delete what a benchmark made: extracts and their files, supplies with their records,
    raw files and rejected rows; audited."""
    from datasets.pipeline.load import records_delete
    from datasets.rejected_rows import rejected_rows_path

    for extract in extracts:
        if extract.file_path:
            Path(extract.file_path).unlink(missing_ok=True)
        extract.delete()
    ids = [str(supply.pk) for supply in supplies]
    with connection.cursor() as cursor:
        records_delete(cursor, ids)
    for supply in supplies:
        if supply.raw_path:
            Path(supply.raw_path).unlink(missing_ok=True)
        rejected_rows_path(supply).unlink(missing_ok=True)
    Supply.objects.filter(pk__in=ids).delete()
    if ids:
        audit_record(
            actor=None, action="bench_cleared", detail={"supplies": len(ids),
            "extracts": len(extracts)}, system=SYSTEM,
        )  # fmt: skip
