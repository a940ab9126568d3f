"""The hub's access gate: who holds which role where (co-ordinator, DLO, Caldicott
Guardian, supplier, analyst), the roles that need a second factor, where each agency stands
under its partnership's ISP, and the one way a refusal is audited. The only module that
reads ``Membership.roles`` and ISP signatures for the hub.

Pages and endpoints for these roles answer 404, as for a page that does not exist, to
everyone else. Services check their caller here too, so that a caller other than a view
(a task, a command, another service) cannot act for a partnership that is not theirs; such a
refusal is audited here, once.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.module_loading import import_string

from hub.audit import DERIVE, audit_record
from hub.choices import IspTier, Role
from hub.models import (
    Agency,
    InformationSharingProtocol,
    Membership,
    Partnership,
    Signature,
    User,
)

# Roles whose holders decide who sees what, or see much: their accounts need a second factor.
TWO_FACTOR_ROLES = (Role.COORDINATOR, Role.DLO, Role.CALDICOTT)


def _acting(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


class AccessRefused(Exception):
    """An access gate said no; the message says why, to the user. Audited when made."""


def refuse(
    *,
    user: User,
    route: str,
    reason: str,
    dataset_slug: str = "",
    agency: Agency | None = None,
    partnership: Partnership | None = None,
    target=None,
    detail: dict | None = None,
    ip_address: str | None = None,
    system: str = "",
) -> AccessRefused:
    """Audit a refusal on ``route`` and return the exception for the caller to raise.
    The entry belongs to the agency's partnership, else to ``partnership`` (the one the user
    asked of), else to what the target or the user belongs to. ``system`` names the process
    refused when no user acts."""
    signed_in = user is not None and user.is_authenticated
    audit_record(
        actor=user if signed_in else None,
        action="access_refused",
        agency=agency,
        partnership=partnership if agency is None and partnership is not None else DERIVE,
        dataset_slug=dataset_slug,
        target=target,
        detail={"route": route, "reason": reason, **(detail or {})},
        ip_address=ip_address,
        system=system or ("" if signed_in else "anonymous"),
    )
    return AccessRefused(reason)


def uuid_or_none(value) -> uuid.UUID | None:
    """The UUID ``value`` names, or None for a malformed one (a missing object, then)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def visible_get(
    *,
    visible: QuerySet,
    key,
    user: User,
    route: str,
    reason: str,
    ip_address: str | None = None,
):
    """The object with primary key ``key`` among those ``visible`` to the user, or Http404
    alike for one that does not exist and one that is hidden; the second is audited as a
    refusal. ``key`` None (a malformed id) is a missing object."""
    found = visible.filter(pk=key).first() if key is not None else None
    if found is not None:
        return found
    hidden = visible.model.objects.filter(pk=key).first() if key is not None else None
    if hidden is not None:
        dataset = getattr(hidden, "dataset", None)
        # The refusal is the business of the agency the object belongs to (its DLO reads it).
        owner = getattr(hidden, "agency", None)
        refuse(
            user=user, route=route, reason=reason, dataset_slug=dataset.slug if dataset else "",
            agency=owner if isinstance(owner, Agency) else None, target=hidden,
            ip_address=ip_address,
        )  # fmt: skip
    raise Http404(f"No such {visible.model._meta.verbose_name}.")


def coordinated_partnership(*, user: User) -> Partnership | None:
    """The partnership the user co-ordinates, if any."""
    coordinated = agencies_with_role(user=user, role=Role.COORDINATOR).values("partnership")
    return Partnership.objects.filter(pk__in=coordinated).first()


def require_coordinator(
    *, user: User, page: str = "", ip_address: str | None = None
) -> Partnership:
    """The partnership the user co-ordinates, or 404 as for a page that does not exist; the
    refusal is audited when the caller names its ``page``."""
    partnership = coordinated_partnership(user=user)
    if partnership is None:
        if page:
            refusal = "Only a partnership's co-ordinator opens this page."
            refuse(user=user, route=page, reason=refusal, ip_address=ip_address)
        raise Http404("No such page.")
    return partnership


def is_coordinator_of(*, user: User | None, partnership: Partnership | None) -> bool:
    """Whether the user co-ordinates this partnership (a co-ordinator of another does not)."""
    if not _acting(user) or partnership is None:
        return False
    return (
        agencies_with_role(user=user, role=Role.COORDINATOR)
        .filter(partnership=partnership)
        .exists()
    )


def partnership_coordinated_for(*, coordinator: User | None, member: User) -> Partnership | None:
    """A partnership that ``coordinator`` co-ordinates and ``member`` belongs to, if any."""
    if not _acting(coordinator):
        return None
    coordinated = agencies_with_role(user=coordinator, role=Role.COORDINATOR).values("partnership")
    return (
        Partnership.objects.filter(pk__in=coordinated, agencies__memberships__user=member)
        .distinct()
        .first()
    )


def dlo_agencies(*, user: User) -> QuerySet[Agency]:
    """The agencies for which the user is the Designated Liaison Officer."""
    return agencies_with_role(user=user, role=Role.DLO)


def agencies_with_role(*, user: User | None, role: str) -> QuerySet[Agency]:
    """The agencies where the user holds ``role``: the one query every role check rests on."""
    if not _acting(user):
        return Agency.objects.none()
    return Agency.objects.filter(
        memberships__user=user, memberships__roles__contains=[role]
    ).distinct()


def holds_role(*, user: User, agency: Agency, role: str) -> bool:
    return agencies_with_role(user=user, role=role).filter(pk=agency.pk).exists()


def governance_reader(*, user: User | None) -> bool:
    """Whether the user opens Governance and the FOI consultations: the co-ordinator, and DLOs
    for the parts that concern their agency. The navigation asks this too."""
    return coordinated_partnership(user=user) is not None or dlo_agencies(user=user).exists()


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


def supplies_or_liaises_for(*, user: User | None, agency: Agency) -> bool:
    """Whether the user is a supplier or the DLO of the agency."""
    if not _acting(user):
        return False
    return Membership.objects.filter(
        user=user, agency=agency, roles__overlap=[Role.SUPPLIER, Role.DLO]
    ).exists()


def holds_two_factor_role(*, user: User) -> bool:
    """Whether the user holds, at any agency, a role whose account needs a second factor."""
    return user.memberships.filter(roles__overlap=list(TWO_FACTOR_ROLES)).exists()


def two_factor_required(*, user: User) -> bool:
    """Whether the user must sign in with a second factor: co-ordinators, DLOs and Caldicott
    Guardians at any agency, and anyone holding access that the apps above name in
    ``HUB_SECOND_FACTOR_HOLDINGS`` (personal-level access, which ``sharing`` decides). The one
    place this is decided."""
    if not user.is_authenticated:
        return False
    if holds_two_factor_role(user=user):
        return True
    return any(import_string(holds)(user=user) for holds in settings.HUB_SECOND_FACTOR_HOLDINGS)


def role_change_ends_tokens(*, before: Iterable[str], after: Iterable[str]) -> str:
    """Why a change of a user's roles at an agency must end their API tokens, or "" if it
    need not. A role taken away lowers their access; a role that needs a second factor makes
    a token, which carries none, a way round it."""
    removed = set(before) - set(after)
    if removed:
        return f"roles removed: {', '.join(sorted(removed))}"
    secured = (set(after) - set(before)) & set(TWO_FACTOR_ROLES)
    if secured:
        return f"a new role needs a second factor: {', '.join(sorted(secured))}"
    return ""


# -- callers of services -----------------------------------------------------------------------


# -- ISP standing -------------------------------------------------------------------


@dataclass(frozen=True)
class IspStanding:
    """An agency's tier under the current ISP, and in words why it is that."""

    tier: str
    reason: str
    isp: InformationSharingProtocol | None


def isp_current(*, partnership: Partnership) -> InformationSharingProtocol | None:
    """The most recently adopted ISP version, whether or not its review is overdue."""
    return (
        InformationSharingProtocol.objects.filter(partnership=partnership)
        .order_by("-adopted_on", "-id")
        .first()
    )


def agency_standing(*, agency: Agency, on: datetime.date | None = None) -> IspStanding:
    """The agency's tier under the current ISP: none if it has not signed that version, has
    withdrawn, or the ISP has passed its review date (every signature lapses then)."""
    on = on or timezone.localdate()
    isp = isp_current(partnership=agency.partnership)
    if isp is None:
        return IspStanding(IspTier.NONE, "The partnership has not adopted an ISP yet.", None)
    if isp.review_due < on:
        reason = f"ISP v{isp.version} was due for review on {isp.review_due:%d %B %Y}; "
        return IspStanding(IspTier.NONE, reason + "every signature has lapsed.", isp)
    signature = Signature.objects.filter(isp=isp, agency=agency, signed_on__lte=on).first()
    if signature is None:
        return IspStanding(IspTier.NONE, f"{agency} has not signed ISP v{isp.version}.", isp)
    if signature.withdrawn_on is not None and signature.withdrawn_on <= on:
        reason = f"{agency} withdrew from ISP v{isp.version} on {signature.withdrawn_on:%d %B %Y}."
        return IspStanding(IspTier.NONE, reason, isp)
    tier = IspTier(signature.tier)
    return IspStanding(tier, f"Signed ISP v{isp.version} as a {tier.label.lower()} partner.", isp)


def agency_tier(*, agency: Agency, on: datetime.date | None = None) -> str:
    return agency_standing(agency=agency, on=on).tier


def coordinator_check(
    *,
    acting_user: User | None,
    partnership: Partnership | None,
    service: str,
    act: str,
    refusal: type[Exception],
    agency: Agency | None = None,
    system: str = "",
) -> None:
    """Raise ``refusal`` (audited) unless ``acting_user`` co-ordinates ``partnership``, or
    no user acts and ``system`` names the process that does (the demo loader, a command).

    Call it outside the service's transaction, so that the refusal stays on record.
    """
    if acting_user is None and system:
        return
    if is_coordinator_of(user=acting_user, partnership=partnership):
        return
    whose = (
        f"the co-ordinator of {partnership}" if partnership else "their partnership's co-ordinator"
    )
    reason = f"Only {whose} may {act}."
    refuse(user=acting_user, route=service, reason=reason, agency=agency,
           system=system or "unnamed")  # fmt: skip
    raise refusal(reason)


def supply_handler_check(
    *,
    acting_user: User | None,
    agency: Agency,
    service: str,
    act: str,
    refusal: type[Exception],
    system: str = "",
) -> None:
    """Raise ``refusal`` (audited) unless ``acting_user`` supplies for or is the DLO of
    ``agency``, or co-ordinates its partnership; or no user acts and ``system`` names the
    process that does."""
    if acting_user is None and system:
        return
    if supplies_or_liaises_for(user=acting_user, agency=agency) or is_coordinator_of(
        user=acting_user, partnership=agency.partnership
    ):
        return
    reason = (
        f"Only a supplier or the DLO of {agency}, or the partnership's co-ordinator, may {act}."
    )
    refuse(user=acting_user, route=service, reason=reason, agency=agency,
           system=system or "unnamed")  # fmt: skip
    raise refusal(reason)


def role_holders(*, agency: Agency, role: str) -> QuerySet[User]:
    """The active users holding ``role`` at the agency: whom to tell, or who may decide."""
    return User.objects.filter(
        is_active=True, memberships__agency=agency, memberships__roles__contains=[role]
    ).distinct()


def partnership_coordinators(*, partnership: Partnership) -> QuerySet[User]:
    """The active users who co-ordinate the partnership: whom to tell of what changes in it."""
    return User.objects.filter(
        is_active=True,
        memberships__agency__partnership=partnership,
        memberships__roles__contains=[Role.COORDINATOR],
    ).distinct()


def roles_held(*, user: User) -> set[str]:
    """Every role the user holds at any agency: what the navigation offers them. Pages still
    ask the gates for what each role may do."""
    if not _acting(user):
        return set()
    held = set()
    for roles in Membership.objects.filter(user=user).values_list("roles", flat=True):
        held.update(roles)
    return held
