"""Who holds the partnership-wide roles: the co-ordinator, and each agency's DLO.

Pages and endpoints for these roles answer 404, as for a page that does not exist, to
everyone else.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from hub.audit import audit_trail_refused
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


def require_audit_reader(
    *, user: User, page: str, ip_address: str | None = None
) -> Partnership | None:
    """Let the co-ordinator, DLOs and the hub's staff read the audit trail, and say whose
    trail they read (their reading is that partnership's business; None for the hub's staff).
    Anyone else is audited as refused and answered 404."""
    partnership = coordinated_partnership(user=user)
    if partnership is not None:
        return partnership
    agency = dlo_agencies(user=user).select_related("partnership").first()
    if agency is not None:
        return agency.partnership
    if user.is_active and user.is_staff:
        return None
    audit_trail_refused(user=user, page=page, ip_address=ip_address)
    raise Http404("No such page.")
