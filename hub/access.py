"""The hub's access gate: who holds which role where (co-ordinator, DLO, Caldicott
Guardian, supplier, analyst), and the one way a refusal is audited.

Pages and endpoints for these roles answer 404, as for a page that does not exist, to
everyone else.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from hub.audit import audit_record
from hub.choices import Role
from hub.models import Agency, Partnership, User


class AccessRefused(Exception):
    """An access gate said no; the message says why, to the user. Audited when made."""


def refuse(
    *,
    user: User,
    route: str,
    reason: str,
    dataset_slug: str = "",
    agency: Agency | None = None,
    target=None,
    detail: dict | None = None,
    ip_address: str | None = None,
) -> AccessRefused:
    """Audit a refusal on ``route`` and return the exception for the caller to raise."""
    signed_in = user is not None and user.is_authenticated
    audit_record(
        actor=user if signed_in else None,
        action="access_refused",
        agency=agency,
        dataset_slug=dataset_slug,
        target=target,
        detail={"route": route, "reason": reason, **(detail or {})},
        ip_address=ip_address,
        system="" if signed_in else "anonymous",
    )
    return AccessRefused(reason)


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
    refusal = "Only the co-ordinator, DLOs and the hub's staff read the audit trail."
    refuse(user=user, route=page, reason=refusal, ip_address=ip_address)
    raise Http404("No such page.")
