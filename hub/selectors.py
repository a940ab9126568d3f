"""Reads of the audit trail and the partnership's users."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from datasets.models import Supply
from hub.access import coordinated_partnership, dlo_agencies
from hub.models import Agency, AuditEntry, User


def audit_restrict(*, user: User) -> QuerySet[AuditEntry]:
    """The entries a user may read: the co-ordinator, the partnership's; a DLO, what was done
    with their agency's data or by its staff (§4.3.4 "monitoring by ... the DLO"); nobody
    else any."""
    partnership = coordinated_partnership(user=user)
    if partnership is not None:
        return AuditEntry.objects.filter(
            Q(agency__partnership=partnership)
            | Q(actor__memberships__agency__partnership=partnership)
            | Q(agency__isnull=True, actor__isnull=True)
        ).distinct()
    agencies = dlo_agencies(user=user)
    if not agencies.exists():
        return AuditEntry.objects.none()
    supplied = Supply.objects.filter(agency__in=agencies).values("dataset__slug")
    return AuditEntry.objects.filter(
        Q(agency__in=agencies) | Q(dataset_slug__in=supplied)
    ).distinct()


def role_holders(*, agency: Agency, role: str) -> QuerySet[User]:
    """The active users holding ``role`` at the agency: whom to tell, or who may decide."""
    return User.objects.filter(
        is_active=True, memberships__agency=agency, memberships__roles__contains=[role]
    ).distinct()


def partnership_users(*, partnership) -> QuerySet[User]:
    return (
        User.objects.filter(memberships__agency__partnership=partnership)
        .distinct()
        .prefetch_related("memberships__agency")
    )
