"""Reads of the audit trail and the partnership's users."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from datasets.models import Supply
from hub.access import coordinated_partnership, dlo_agencies, holds_two_factor_role
from hub.models import ApiToken, AuditEntry, User
from sharing.choices import RequestStatus
from sharing.models import PersonalDataRequest

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
    agencies = dlo_agencies(user=user)
    if agencies.exists():
        supplied = Supply.objects.filter(agency__in=agencies).values("dataset__slug")
        # What others did with a dataset the agency supplies: who took, viewed or asked for
        # it. Another agency's own supplies of the same dataset (uploads, refusals, purges,
        # schedules) are that agency's business.
        taking = reduce(operator.or_, (Q(action__startswith=kind) for kind in TAKING_ACTIONS))
        handled = Q(dataset_slug__in=supplied) & taking
        seen.append(
            Q(partnership__in=agencies.values("partnership")) & (Q(agency__in=agencies) | handled)
        )
    if user.is_staff:
        seen.append(Q(partnership__isnull=True))
    if not seen:
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(reduce(operator.or_, seen))


def partnership_users(*, partnership) -> QuerySet[User]:
    return (
        User.objects.filter(memberships__agency__partnership=partnership)
        .distinct()
        .prefetch_related("memberships__agency")
    )


def two_factor_required(*, user: User) -> bool:
    """Whether the user must sign in with a second factor: co-ordinators, DLOs and Caldicott
    Guardians at any agency, and anyone holding personal-level access (an approved,
    unexpired personal-data request). The one place this is decided."""
    if not user.is_authenticated:
        return False
    if holds_two_factor_role(user=user):
        return True
    return PersonalDataRequest.objects.filter(
        requester=user, status=RequestStatus.APPROVED, expires_at__gt=timezone.now()
    ).exists()


def totp_device(*, user: User) -> TOTPDevice | None:
    """The user's authenticator app, once its set-up was confirmed with a code."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def backup_device(*, user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).first()


@dataclass(frozen=True)
class TwoFactorStatus:
    required: bool
    enrolled: bool
    backup_codes_left: int


def two_factor_status(*, user: User) -> TwoFactorStatus:
    backup = backup_device(user=user)
    return TwoFactorStatus(
        required=two_factor_required(user=user),
        enrolled=totp_device(user=user) is not None,
        backup_codes_left=backup.token_set.count() if backup is not None else 0,
    )


def api_token_of(*, user: User) -> ApiToken | None:
    """The user's API token (its record: the key itself is never kept)."""
    return ApiToken.objects.filter(user=user).first()


def second_factor_owed(*, user) -> bool:
    """Whether this signed-in session must pass a code step before anything else: it has not
    been verified by a device (django-otp's middleware sets ``is_verified``), and the user
    has set up an authenticator or must have one."""
    if not user.is_authenticated:
        return False
    # A request that never passed through the middleware counts as unverified.
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    return totp_device(user=user) is not None or two_factor_required(user=user)
