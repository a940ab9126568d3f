"""Reads of the catalogue and of supplies."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.http import Http404

from datasets.models import Dataset, Supply
from hub.choices import Role
from hub.models import Agency, Membership, User


def dataset_list() -> QuerySet[Dataset]:
    """The datasets in the current catalogue. Field names are not personal data: any signed-in
    user may read them; access to records is decided per dataset elsewhere."""
    return Dataset.objects.filter(is_active=True)


def dataset_get(*, slug: str) -> Dataset:
    try:
        return dataset_list().get(slug=slug)
    except Dataset.DoesNotExist as error:
        raise Http404("No such dataset.") from error


def template_header(*, dataset: Dataset) -> list[str]:
    """The header row of the dataset's CSV template: its field names, in schema order."""
    return dataset.schema.field_names


def supply_restrict(*, user: User) -> QuerySet[Supply]:
    """The supplies a user may see: those of agencies where they supply or are the DLO, and,
    for a co-ordinator, every supply to their partnership. Nobody else sees any."""
    if not user.is_authenticated:
        return Supply.objects.none()
    memberships = Membership.objects.filter(user=user)
    own_agencies = memberships.filter(roles__overlap=[Role.SUPPLIER, Role.DLO]).values("agency")
    coordinated = memberships.filter(roles__contains=[Role.COORDINATOR]).values(
        "agency__partnership"
    )
    return Supply.objects.filter(
        Q(agency__in=own_agencies) | Q(agency__partnership__in=coordinated)
    ).select_related("dataset", "agency", "uploaded_by")


def supply_get(*, user: User, supply_id) -> Supply:
    """The supply, or 404 alike for one that does not exist and one the user may not see."""
    try:
        return supply_restrict(user=user).get(pk=uuid.UUID(str(supply_id)))
    except (ValueError, Supply.DoesNotExist) as error:
        raise Http404("No such supply.") from error


def supplier_agencies(*, user: User) -> QuerySet[Agency]:
    return Agency.objects.filter(
        memberships__user=user, memberships__roles__contains=[Role.SUPPLIER]
    ).select_related("partnership")


def supplier_datasets(*, user: User) -> QuerySet[Dataset]:
    """The datasets the user's agencies supply (by agency type)."""
    types = supplier_agencies(user=user).values_list("agency_type", flat=True)
    return dataset_list().filter(supplier_types__overlap=list(types))
