"""Writes to the partnership's core records; each is atomic and leaves an audit entry."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import django_otp
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from psycopg2 import sql

from hub.access import (
    coordinator_check,
    partnership_coordinated_for,
    role_change_ends_tokens,
    two_factor_required,
)

# The apps record to the trail through hub.services, as they write everything else.
from hub.audit import audit_digest, audit_record, audit_verify  # noqa: F401
from hub.choices import AuditAction, Role
from hub.models import Agency, ApiToken, Membership, Partnership, User
from hub.selectors import backup_device, totp_device


def every_partnership_lock() -> None:
    """Every partnership's load lock (its id as a PostgreSQL advisory lock, which loads,
    withdrawals and purges of its records take), in id order, to the end of the caller's
    transaction: for a change to every partnership's records, such as new areas. Taken
    before anything else the transaction locks, as loads take theirs before the audit
    trail's."""
    if not connection.in_atomic_block:
        raise RuntimeError("every_partnership_lock is held to the end of a transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT pg_advisory_xact_lock(id) FROM (SELECT id FROM {} ORDER BY id) AS every"
            ).format(sql.Identifier(Partnership._meta.db_table))
        )


@transaction.atomic
def partnership_ensure(
    *, name: str, slug: str, postcode_areas: list[str], local_authorities: list[str] = ()
) -> Partnership:
    partnership, _ = Partnership.objects.update_or_create(
        slug=slug,
        defaults={
            "name": name,
            "postcode_areas": postcode_areas,
            "local_authorities": list(local_authorities),
        },
    )
    return partnership


@transaction.atomic
def agency_ensure(
    *, partnership: Partnership, name: str, agency_type: str, acting_user: User | None, system=""
) -> Agency:
    """Create the agency, or bring its type up to date; audited when anything changed."""
    agency, created = Agency.objects.get_or_create(
        partnership=partnership, name=name, defaults={"agency_type": agency_type}
    )
    if not created and agency.agency_type == agency_type:
        return agency
    agency.agency_type = agency_type
    agency.save(update_fields=["agency_type"])
    audit_record(
        actor=acting_user,
        action="agency_created" if created else "agency_changed",
        agency=agency,
        target=agency,
        detail={"agency_type": agency_type},
        system=system,
    )
    return agency


@transaction.atomic
def membership_grant(
    *, user: User, agency: Agency, roles: list[str], acting_user: User | None, system=""
) -> Membership:
    """Give a user exactly these roles in an agency; a DLO becomes the agency's named DLO."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValueError(f"Unknown roles {sorted(unknown)}; choose from {Role.values}")
    membership, created = Membership.objects.get_or_create(user=user, agency=agency)
    before = [] if created else list(membership.roles)
    if sorted(before) != sorted(roles):
        membership.roles = sorted(roles)
        membership.save(update_fields=["roles"])
        audit_record(
            actor=acting_user,
            action="membership_changed",
            agency=agency,
            target=membership,
            detail={"user": user.get_username(), "roles": membership.roles},
            system=system,
        )
        reason = role_change_ends_tokens(before=before, after=roles)
        if reason:
            tokens_revoke(
                users=[user], reason=f"{reason} at {agency}", acting_user=acting_user, system=system
            )
    if Role.DLO in roles and agency.designated_liaison_officer_id != user.pk:
        agency.designated_liaison_officer = user
        agency.save(update_fields=["designated_liaison_officer"])
    return membership


# Marks a hub key wherever it turns up, e.g. to secret scanners; not a secret itself.
API_TOKEN_PREFIX = "hub_"  # noqa: S105


def api_token_digest(key: str) -> str:
    # The key holds 256 random bits, so a plain SHA-256 cannot be reversed by guessing.
    return hashlib.sha256(key.encode()).hexdigest()


# Said wherever a token is refused for an account that needs a second factor.
TOKENS_NEED_NO_SECOND_FACTOR = (
    "This account needs a second factor, which an API token cannot carry, so it cannot use "
    "API tokens: call the API from a signed-in session that has passed its code step."
)


class TokenRefused(Exception):
    """No token may be issued to this user; the message says why."""


def token_issue(*, user: User, acting_user: User | None, system="") -> str:
    """Replace the user's API token with a new one and return its key, which is not kept:
    only its hash is stored. The old token stops working.

    Refuses (TokenRefused, audited) a user who must use a second factor: a token would
    let them, or whoever holds it, act without one.
    """
    if two_factor_required(user=user):
        audit_record(
            actor=acting_user, action=AuditAction.TOKEN_ISSUE_REFUSED, target=user,
            detail={"user": user.get_username()}, system=system,
        )  # fmt: skip
        raise TokenRefused(TOKENS_NEED_NO_SECOND_FACTOR)
    with transaction.atomic():
        key = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        ApiToken.objects.filter(user=user).delete()
        ApiToken.objects.create(user=user, digest=api_token_digest(key), prefix=key[:10])
        audit_record(
            actor=acting_user,
            action=AuditAction.TOKEN_ISSUED,
            target=user,
            detail={"user": user.get_username()},
            system=system,
        )
    return key


def token_revoke(*, user: User, acting_user: User | None, system="") -> bool:
    """Delete the user's API token, which stops working at once; False if they had none."""
    revoked = tokens_revoke(
        users=[user], reason="revoked on request", acting_user=acting_user, system=system
    )
    return revoked > 0


@transaction.atomic
def tokens_revoke(
    *,
    users: Iterable[User] | QuerySet[User],
    reason: str,
    acting_user: User | None,
    system: str = "",
) -> int:
    """Delete every API token of ``users``, which stop working at once; one audit entry, with
    ``reason`` and the token's prefix, per user who had one. Returns how many were revoked.

    Called wherever a user's access is lowered or their sign-in changes (password, second
    factor, roles, profiles, their agency's signature, deactivation), so that a token never
    outlives the standing it was issued under.
    """
    user_ids = users.values("pk") if isinstance(users, QuerySet) else [user.pk for user in users]
    tokens = list(ApiToken.objects.filter(user__in=user_ids).select_related("user"))
    if not tokens:
        return 0
    ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).delete()
    for token in tokens:
        audit_record(
            actor=acting_user,
            action=AuditAction.TOKEN_REVOKED,
            target=token.user,
            detail={"user": token.user.get_username(), "prefix": token.prefix, "reason": reason},
            system=system,
        )
    return len(tokens)


def token_use_refused(*, token: ApiToken, ip_address: str | None = None) -> None:
    """Record a call refused because the token's holder must use a second factor; the key
    itself is never recorded, only the prefix its holder can recognise."""
    audit_record(
        actor=token.user, action=AuditAction.TOKEN_REFUSED, target=token.user,
        detail={"prefix": token.prefix, "reason": "second factor required"},
        ip_address=ip_address,
    )  # fmt: skip


# -- two-factor authentication ----------------------------------------------------------------

BACKUP_CODE_COUNT = 10


def two_factor_enrolment_start(*, user: User) -> TOTPDevice:
    """The authenticator the user is setting up: unconfirmed until they type a code from it,
    and the same one until then, so that reloading the page does not change the QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def two_factor_enrol(
    *, user: User, device: TOTPDevice, code: str, ip_address: str | None = None
) -> list[str] | None:
    """Confirm the authenticator with a code from it; return the new backup codes, or None
    if the code was wrong (audited and throttled like any wrong code)."""
    code = "".join(code.split())
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is None:
        audit_record(
            actor=user, action=AuditAction.TWO_FACTOR_FAILED, target=user,
            detail={"step": "enrolment"}, ip_address=ip_address,
        )  # fmt: skip
        return None
    verified.confirmed = True
    verified.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=verified.pk).delete()
    audit_record(
        actor=user, action=AuditAction.TWO_FACTOR_ENROLLED, target=user,
        detail={"user": user.get_username()}, ip_address=ip_address,
    )  # fmt: skip
    return backup_codes_issue(user=user, ip_address=ip_address)


@transaction.atomic
def backup_codes_issue(*, user: User, ip_address: str | None = None) -> list[str]:
    """New one-time backup codes for a lost phone; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": "Backup codes", "confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit_record(
        actor=user, action=AuditAction.BACKUP_CODES_ISSUED, target=user,
        detail={"count": len(codes)}, ip_address=ip_address,
    )  # fmt: skip
    return codes


@dataclass(frozen=True)
class CodeCheck:
    """What came of a code: the device that accepted it, or when to try again if wrong
    codes have paused attempts."""

    device: Device | None
    retry_after: datetime.datetime | None = None


@transaction.atomic
def two_factor_verify(*, user: User, code: str, ip_address: str | None = None) -> CodeCheck:
    """Check a code from the user's authenticator (six digits) or one of their backup codes.

    A wrong code is audited and doubles the wait before the next attempt (django-otp's
    throttling); a backup code works once.
    """
    code = "".join(code.split()).lower()
    from_app = len(code) == 6 and code.isdigit()
    device = totp_device(user=user) if from_app else backup_device(user=user)
    kind = "app" if from_app else "backup code"
    if device is not None:
        allowed, paused = device.verify_is_allowed()
        if not allowed:
            _code_refused(user, kind, ip_address, throttled=True)
            return CodeCheck(None, paused.get("locked_until"))
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            if not from_app:
                audit_record(
                    actor=user, action=AuditAction.BACKUP_CODE_USED, target=user,
                    detail={"left": verified.token_set.count()}, ip_address=ip_address,
                )  # fmt: skip
            return CodeCheck(verified)
    _code_refused(user, kind, ip_address, throttled=False)
    return CodeCheck(None)


def _code_refused(user: User, kind: str, ip_address: str | None, *, throttled: bool) -> None:
    audit_record(
        actor=user, action=AuditAction.TWO_FACTOR_FAILED, target=user,
        detail={"step": "sign-in", "kind": kind, "throttled": throttled}, ip_address=ip_address,
    )  # fmt: skip


class TwoFactorRefused(Exception):
    """The acting user may not remove this user's second factor; the message says why."""


def two_factor_remove(*, user: User, acting_user: User, ip_address: str | None = None) -> None:
    """Remove the user's authenticator and backup codes, and revoke their API token: by
    themselves, or a reset by the co-ordinator of a partnership they belong to, for someone
    who lost their phone (TwoFactorRefused, audited, for anyone else). Where a second factor
    is required, the user is sent to set up a new one at their next request."""
    if acting_user != user:
        coordinator_check(
            acting_user=acting_user,
            partnership=partnership_coordinated_for(coordinator=acting_user, member=user),
            service="two_factor_remove", act="reset this user's second factor",
            refusal=TwoFactorRefused,
        )  # fmt: skip
    with transaction.atomic():
        _two_factor_remove(user=user, acting_user=acting_user, ip_address=ip_address)


def _two_factor_remove(*, user: User, acting_user: User, ip_address: str | None) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    by_themselves = acting_user == user
    audit_record(
        actor=acting_user,
        action=AuditAction.TWO_FACTOR_REMOVED if by_themselves else AuditAction.TWO_FACTOR_RESET,
        target=user, detail={"user": user.get_username()}, ip_address=ip_address,
    )  # fmt: skip
    # Whoever now sets up the new authenticator may not be whoever held a token before.
    tokens_revoke(
        users=[user],
        reason="second factor removed" if by_themselves else "second factor reset",
        acting_user=acting_user,
    )


# -- passwords ---------------------------------------------------------------------------------


def password_reset_requested(*, email: str, known: bool, ip_address: str | None = None) -> bool:
    """Record a request for a password-reset e-mail, whether or not the address is known, and
    say whether the e-mail may go: at most HUB_PASSWORD_RESETS_PER_HOUR for one address in the
    hour, and ten times as many from one network address. A refused one is audited as
    throttled; the person asking is told nothing different either way."""
    from django.conf import settings
    from django.core.cache import cache

    limit = settings.HUB_PASSWORD_RESETS_PER_HOUR
    hour = int(timezone.now().timestamp() // 3600)
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    counters = {f"password-reset:{hour}:address:{address}": limit}
    if ip_address:
        counters[f"password-reset:{hour}:ip:{ip_address}"] = limit * 10
    allowed = True
    for key, most in counters.items():
        cache.add(key, 0, timeout=3600)
        allowed = cache.incr(key) <= most and allowed
    audit_record(
        actor=None, action=AuditAction.PASSWORD_RESET_REQUESTED,
        detail={"email": email[:254], "known": known, **({} if allowed else {"throttled": True})},
        ip_address=ip_address, system="password_reset",
    )  # fmt: skip
    return allowed


def password_set(*, user: User, ip_address: str | None = None) -> None:
    """Record that a user chose a password through an e-mailed link (invitation or reset),
    and revoke their API token: whoever reset the password may not be whoever held it."""
    audit_record(
        actor=user, action=AuditAction.PASSWORD_SET, target=user,
        detail={"user": user.get_username()}, ip_address=ip_address,
    )  # fmt: skip
    tokens_revoke(users=[user], reason="password set from an e-mailed link", acting_user=user)


def system_health(*, worker_timeout: float = 3.0) -> dict[str, bool]:
    """Whether the database, Redis and at least one Celery worker answer right now.

    The worker check sends a real task through the broker and waits for its result, so a
    worker that is connected but cannot run tasks counts as down.
    """
    from django.conf import settings
    from django.db import connection
    from redis import Redis
    from redis.exceptions import RedisError

    from hub.tasks import probe

    checks = {"database": False, "redis": False, "worker": False}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = True
    except Exception:  # noqa: BLE001 - any failure means "down" here
        checks["database"] = False
    try:
        checks["redis"] = bool(Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except RedisError:
        checks["redis"] = False
    if checks["redis"]:
        nonce = secrets.token_hex(8)
        try:
            checks["worker"] = probe.delay(nonce).get(timeout=worker_timeout) == nonce
        except Exception:  # noqa: BLE001 - a timeout or a broker error both mean "down"
            checks["worker"] = False
    return checks
