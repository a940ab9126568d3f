"""Reads of the partnership's users and of their second factor."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.access import two_factor_required
from hub.models import ApiToken, Membership, User


def partnership_users(*, partnership) -> QuerySet[User]:
    """The partnership's people, each with their memberships of its agencies only (as
    ``memberships_here``): what they do for another partnership is that one's business."""
    here = Membership.objects.filter(agency__partnership=partnership).select_related("agency")
    return (
        User.objects.filter(memberships__agency__partnership=partnership)
        .distinct()
        .prefetch_related(Prefetch("memberships", queryset=here, to_attr="memberships_here"))
    )


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
