"""Who holds the partnership-wide roles: the co-ordinator, and each agency's DLO.

Pages and endpoints for these roles answer 404, as for a page that does not exist, to
everyone else.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from hub.choices import Role
from hub.models import Agency, Partnership, User


def coordinated_partnership(*, user: User) -> Partnership | None:
    """The partnership the user co-ordinates, if any."""
    if not user.is_authenticated or not user.is_active:
        return None
    return (
        Partnership.objects.filter(
            agencies__memberships__user=user,
            agencies__memberships__roles__contains=[Role.COORDINATOR],
        )
        .distinct()
        .first()
    )


def require_coordinator(*, user: User) -> Partnership:
    partnership = coordinated_partnership(user=user)
    if partnership is None:
        raise Http404("No such page.")
    return partnership


def dlo_agencies(*, user: User) -> QuerySet[Agency]:
    """The agencies for which the user is the Designated Liaison Officer."""
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    return Agency.objects.filter(
        memberships__user=user, memberships__roles__contains=[Role.DLO]
    ).distinct()


def agencies_with_role(*, user: User, role: str) -> QuerySet[Agency]:
    """The agencies where the user holds ``role``."""
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    return Agency.objects.filter(
        memberships__user=user, memberships__roles__contains=[role]
    ).distinct()


def holds_role(*, user: User, agency: Agency, role: str) -> bool:
    return agencies_with_role(user=user, role=role).filter(pk=agency.pk).exists()
