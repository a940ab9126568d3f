"""Reads about the ISP, where each agency stands under it, and what each user may extract."""

from __future__ import annotations

import uuid

from django.db.models import Max, Q, QuerySet
from django.http import Http404

from datasets import selectors as dataset_selectors
from datasets.models import Dataset, Supply
from hub.access import (
    agencies_with_role,
    agency_standing,
    coordinated_partnership,
    dlo_agencies,
    uuid_or_none,
    visible_get,
)
from hub.choices import RESPONSIBLE_AUTHORITY_TYPES, IspTier, Role
from hub.models import Agency, AuditEntry, Partnership, User
from sharing.access import AccessDecision, datasets_allowed
from sharing.models import Document, DocumentVersion, FoiRequest


def workspace_datasets(
    *, user: User, partnership: Partnership | None = None
) -> list[tuple[Dataset, AccessDecision]]:
    """The datasets the workspace shows the user, with the access decided for each. The
    navigation offers the workspace only to those who have one, so its link never leads to a
    refusal."""
    return datasets_allowed(
        user=user, datasets=dataset_selectors.dataset_list(), partnership=partnership
    )


def responsible_authorities(*, partnership: Partnership) -> QuerySet[Agency]:
    """The partnership's responsible authorities (guidance §2.2.1)."""
    return partnership.agencies.filter(agency_type__in=RESPONSIBLE_AUTHORITY_TYPES)


def supplying_agencies(*, dataset: Dataset, partnership: Partnership) -> QuerySet[Agency]:
    """Agencies of the partnership that have supplied the dataset."""
    return Agency.objects.filter(
        partnership=partnership, pk__in=Supply.objects.filter(dataset=dataset).values("agency")
    ).distinct()


# -- document library -------------------------------------------------------------------------


def _signatory_agencies(*, user: User) -> list[tuple[Agency, str]]:
    """The user's agencies that are signatories of the current ISP, with their tier."""
    agencies = Agency.objects.filter(memberships__user=user).select_related("partnership")
    standings = ((agency, agency_standing(agency=agency).tier) for agency in agencies.distinct())
    return [(agency, tier) for agency, tier in standings if tier != IspTier.NONE]


def document_restrict(*, user: User) -> QuerySet[Document]:
    """The documents a user may see: all of the partnership they co-ordinate, and those
    addressed to one of their agencies or to a tier one of their agencies holds under the
    current ISP. An agency that is not a current signatory (never signed, withdrew, or lapsed
    at review) gets nothing, even when a document names it: access follows the signatures."""
    if not user.is_authenticated or not user.is_active:
        return Document.objects.none()
    visible = Q()
    partnership = coordinated_partnership(user=user)
    if partnership is not None:
        visible |= Q(partnership=partnership)
    addressees = Document.audience_agencies.through.objects
    for agency, tier in _signatory_agencies(user=user):
        addressed = addressees.filter(agency=agency).values("document_id")
        visible |= Q(partnership_id=agency.partnership_id) & (
            Q(pk__in=addressed) | Q(audience_tiers__contains=[tier])
        )
    if not visible:
        return Document.objects.none()
    return Document.objects.filter(visible)


def document_list(*, user: User) -> QuerySet[Document]:
    """The documents the user may see, each with its current version's number and date."""
    return document_restrict(user=user).annotate(
        current_version=Max("versions__number"), updated_at=Max("versions__created_at")
    )


def document_get(
    *, user: User, document_id, route: str = "document", ip_address: str | None = None
) -> Document:
    """The document, or 404 alike for one that does not exist and one the user may not see;
    the second is audited as a refusal."""
    visible = document_restrict(user=user).select_related("partnership", "created_by")
    return visible_get(
        visible=visible, key=uuid_or_none(document_id), user=user, route=route,
        reason="A document not addressed to the user.", ip_address=ip_address,
    )  # fmt: skip


def document_version_get(*, document: Document, number: int | None = None) -> DocumentVersion:
    """The numbered version of a document the caller may see, or its latest; 404 if none."""
    versions = document.versions.select_related("uploaded_by")
    version = versions.first() if number is None else versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


def document_may_upload(*, user: User, partnership: Partnership) -> bool:
    """Who adds to the library: the partnership's co-ordinator, and analysts at its core-tier
    agencies, who produce the intelligence products (guidance §2.3, §3.1.1.2). Associate
    partners receive depersonalised information only, so they do not publish products."""
    if not user.is_authenticated or not user.is_active:
        return False
    if coordinated_partnership(user=user) == partnership:
        return True
    analyst_at = agencies_with_role(user=user, role=Role.ANALYST).filter(partnership=partnership)
    return any(agency_standing(agency=agency).tier == IspTier.CORE for agency in analyst_at)


def document_upload_partnership(*, user: User) -> Partnership | None:
    """The partnership whose library the user may add to, if any."""
    if not user.is_authenticated or not user.is_active:
        return None
    partnership = coordinated_partnership(user=user)
    if partnership is not None:
        return partnership
    for agency in agencies_with_role(user=user, role=Role.ANALYST).select_related("partnership"):
        if agency_standing(agency=agency).tier == IspTier.CORE:
            return agency.partnership
    return None


def document_audience_agencies(*, partnership: Partnership) -> QuerySet[Agency]:
    """The agencies a document may be addressed to: the current signatories, since no other
    agency would see it."""
    agencies = Agency.objects.filter(partnership=partnership)
    signed = [a.pk for a in agencies if agency_standing(agency=a).tier != IspTier.NONE]
    return agencies.filter(pk__in=signed)


# -- FOI consultation -------------------------------------------------------------------------


def foi_restrict(*, user: User) -> QuerySet[FoiRequest]:
    """The co-ordinator sees every FOI consultation of their partnership; a DLO those about
    information their agency originated, whatever its ISP standing (the originator is
    consulted even after it has left); nobody else sees any."""
    if not user.is_authenticated or not user.is_active:
        return FoiRequest.objects.none()
    visible = Q(originating_agency__in=dlo_agencies(user=user))
    partnership = coordinated_partnership(user=user)
    if partnership is not None:
        visible |= Q(partnership=partnership)
    return FoiRequest.objects.filter(visible).select_related("originating_agency")


def foi_get(*, user: User, foi_id) -> FoiRequest:
    """The FOI request, or 404 alike for one that does not exist and one the user may not see."""
    try:
        return (
            foi_restrict(user=user)
            .select_related("recorded_by", "answered_by", "released_by")
            .get(pk=uuid.UUID(str(foi_id)))
        )
    except (ValueError, FoiRequest.DoesNotExist) as error:
        raise Http404("No such FOI request.") from error


def foi_may_answer(*, user: User, foi: FoiRequest) -> bool:
    """Only a DLO of the agency the information came from answers for it."""
    return dlo_agencies(user=user).filter(pk=foi.originating_agency_id).exists()


def foi_history(*, foi: FoiRequest) -> QuerySet[AuditEntry]:
    """The request's audit entries, oldest first: who recorded, answered and released it."""
    return AuditEntry.objects.filter(
        object_type=FoiRequest._meta.label, object_id=str(foi.pk)
    ).order_by("created_at", "id")
