"""The datasets app's access gate: who may supply which dataset for which agency, and who may
see supplies, their reports and their rejected rows, and who may read which entries of the
audit trail (a DLO follows what was done with the data their agency supplies).

The only module of ``datasets`` that asks who holds which role. Suppliers see their own
agency's supplies, a DLO those of their agency, the co-ordinator every supply to their
partnership; nobody else any. A refusal of a supply someone else may see is audited here.
"""

from __future__ import annotations

import operator
from functools import reduce

from django.db.models import Q, QuerySet

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Supply
from hub.access import (
    AccessRefused,
    agencies_with_role,
    agency_standing,
    coordinated_partnership,
    dlo_agencies,
    refuse,
    supplies_or_liaises_for,
    uuid_or_none,
    visible_get,
)
from hub.choices import IspTier, Role
from hub.models import Agency, AuditEntry, User


class SupplyRefused(AccessRefused):
    """The user may not make this supply; the message says why."""


def supplier_agencies(*, user: User) -> QuerySet[Agency]:
    """The agencies the user supplies for."""
    return agencies_with_role(user=user, role=Role.SUPPLIER).select_related("partnership")


def own_agencies(*, user: User) -> QuerySet[Agency]:
    """The agencies whose supplies the user follows as their supplier or DLO."""
    return (supplier_agencies(user=user) | agencies_with_role(user=user, role=Role.DLO)).distinct()


def supplier_datasets(*, user: User) -> QuerySet[Dataset]:
    """The datasets the user's agencies supply (by agency type)."""
    types = supplier_agencies(user=user).values_list("agency_type", flat=True)
    return Dataset.objects.filter(is_active=True, supplier_types__overlap=list(types))


def supply_restrict(*, user: User) -> QuerySet[Supply]:
    """The supplies a user may see: those of agencies where they supply or are the DLO, and,
    for a co-ordinator, every supply to their partnership. Nobody else sees any."""
    if not user.is_authenticated or not user.is_active:
        return Supply.objects.none()
    own = supplier_agencies(user=user) | agencies_with_role(user=user, role=Role.DLO)
    coordinated = agencies_with_role(user=user, role=Role.COORDINATOR).values("partnership")
    return Supply.objects.filter(
        Q(agency__in=own.values("pk")) | Q(agency__partnership__in=coordinated)
    ).select_related("dataset", "agency", "uploaded_by")


def supply_get(
    *, user: User, supply_id, route: str = "supply", ip_address: str | None = None
) -> Supply:
    """The supply, or 404 alike for one that does not exist and one the user may not see;
    the second is audited as a refusal."""
    return visible_get(
        visible=supply_restrict(user=user), key=uuid_or_none(supply_id), user=user, route=route,
        reason="A supply of another agency's.", ip_address=ip_address,
    )  # fmt: skip


def supply_agency(*, user: User, agency: Agency | None) -> Agency:
    """The agency a supply is for: the one named, or the user's only supplier agency."""
    if agency is not None:
        return agency
    agencies = supplier_agencies(user=user)
    if not agencies.exists():
        raise SupplyRefused("You are not a supplier for any agency.")
    if agencies.count() > 1:
        raise SupplyRefused("You supply for several agencies: say which this file is for.")
    return agencies.get()


def supply_check(*, user: User, agency: Agency, dataset: Dataset) -> None:
    """SupplyRefused unless ``user`` may supply ``dataset`` for ``agency``: a supplier of it,
    while it is an ISP signatory, for a dataset agencies of its type supply."""
    if not supplier_agencies(user=user).filter(pk=agency.pk).exists():
        raise SupplyRefused(f"You are not a supplier for {agency}.")
    standing = agency_standing(agency=agency)
    if standing.tier == IspTier.NONE:
        raise SupplyRefused(f"{standing.reason} Supplies can be made once it has signed.")
    if agency.agency_type not in dataset.supplier_types:
        raise SupplyRefused(f"{agency} does not supply {dataset.name}.")


def supply_standing_check(*, user: User, agency: Agency, route: str) -> None:
    """SupplyRefused (audited) once ``agency`` stands outside the ISP: nothing it supplied
    goes through the pipeline again, as nothing new is taken from it."""
    standing = agency_standing(agency=agency)
    if standing.tier == IspTier.NONE:
        reason = f"{standing.reason} Supplies can be made once it has signed."
        refuse(user=user, route=route, reason=reason, agency=agency)
        raise SupplyRefused(reason)


def supply_withdrawable_by(*, user: User, supply: Supply) -> bool:
    """Whether to offer ``user`` the withdrawal of ``supply``: its records count, and the
    user supplies for or is the DLO of its agency (supply_owner_check decides)."""
    return (
        supply.status == SupplyStatus.COMPLETED
        and supply.superseded_by_id is None
        and supplies_or_liaises_for(user=user, agency=supply.agency)
    )


def supply_owner_check(*, user: User, supply: Supply, act: str, route: str) -> None:
    """SupplyRefused (audited) unless ``user`` supplies for or is the DLO of the supply's
    agency: what the agency supplied is the agency's to take back, not the co-ordinator's."""
    if supplies_or_liaises_for(user=user, agency=supply.agency):
        return
    reason = f"Only a supplier or the DLO of {supply.agency} may {act}."
    refuse(
        user=user, route=route, reason=reason, agency=supply.agency,
        dataset_slug=supply.dataset.slug, target=supply,
    )  # fmt: skip
    raise SupplyRefused(reason)


# The kinds of entry that say who took, viewed or asked for a dataset (its data or its
# template): what a DLO follows of the datasets their agency supplies.
TAKING_ACTIONS = (
    "extract", "access_refused", "map_", "workspace_", "explorer_", "data_request",
    "template_download",
)  # fmt: skip


def audit_restrict(*, user: User) -> QuerySet[AuditEntry]:
    """The entries a user may read: the co-ordinator, their partnership's; a DLO, what was
    done with their agency's data or by its staff, within its partnership (§4.3.4 "monitoring
    by ... the DLO"); the hub's staff, the hub-wide entries too; nobody else any."""
    if not user.is_authenticated or not user.is_active:
        return AuditEntry.objects.none()
    seen = []
    partnership = coordinated_partnership(user=user)
    if partnership is not None:
        seen.append(Q(partnership=partnership))
    taking = reduce(operator.or_, (Q(action__startswith=kind) for kind in TAKING_ACTIONS))
    for agency in dlo_agencies(user=user):
        # What others did in the agency's partnership with a dataset it supplies: who took,
        # viewed or asked for it. Another agency's own supplies of the same dataset (uploads,
        # refusals of them, purges, schedules) are that agency's business.
        supplied = Supply.objects.filter(agency=agency).values("dataset__slug")
        handled = Q(dataset_slug__in=supplied) & taking & ~Q(object_type=Supply._meta.label)
        seen.append(Q(partnership=agency.partnership_id) & (Q(agency=agency) | handled))
    if user.is_staff:
        seen.append(Q(partnership__isnull=True))
    if not seen:
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(reduce(operator.or_, seen))
