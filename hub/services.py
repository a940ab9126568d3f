"""Writes to the partnership's core records; each is atomic and leaves an audit entry."""

from __future__ import annotations

import hashlib
import json
import secrets

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from hub.choices import AuditAction, Role
from hub.models import Agency, AuditEntry, Membership, Partnership, User


def audit_record(
    *,
    actor: User | None,
    action: str,
    agency: Agency | None = None,
    dataset_slug: str = "",
    target=None,
    detail: dict | None = None,
    ip_address: str | None = None,
    system: str = "",
) -> AuditEntry:
    """Append one entry to the audit trail, chained to the one before it.

    ``system`` names the process acting without a user.
    """
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_username=actor.get_username() if actor is not None else f"system:{system}",
        action=action,
        agency=agency,
        dataset_slug=dataset_slug,
        object_type=target._meta.label if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        detail=detail or {},
        ip_address=ip_address,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # One writer at a time, so that the chain has no forks.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        entry.previous_hash = (
            AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first() or ""
        )
        entry.entry_hash = audit_digest(entry)
        entry.save()
    return entry


AUDIT_CHAIN_LOCK = 7_246_001  # an arbitrary key for the advisory lock that orders the chain


def audit_digest(entry: AuditEntry) -> str:
    """The SHA-256 of an entry's content and the hash of the entry before it."""
    content = json.dumps(
        [
            entry.previous_hash,
            entry.created_at.isoformat(),
            entry.actor_id,
            entry.actor_username,
            entry.action,
            entry.agency_id,
            entry.dataset_slug,
            entry.object_type,
            entry.object_id,
            entry.detail,
            entry.ip_address,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def audit_verify() -> AuditEntry | None:
    """The first entry whose content or link does not match the chain, or None if whole."""
    previous = ""
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=5000):
        if entry.previous_hash != previous or entry.entry_hash != audit_digest(entry):
            return entry
        previous = entry.entry_hash
    return None


@transaction.atomic
def partnership_ensure(*, name: str, slug: str, postcode_areas: list[str]) -> Partnership:
    partnership, _ = Partnership.objects.update_or_create(
        slug=slug, defaults={"name": name, "postcode_areas": postcode_areas}
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
    membership, _ = Membership.objects.get_or_create(user=user, agency=agency)
    if sorted(membership.roles) != sorted(roles):
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
    if Role.DLO in roles and agency.designated_liaison_officer_id != user.pk:
        agency.designated_liaison_officer = user
        agency.save(update_fields=["designated_liaison_officer"])
    return membership


@transaction.atomic
def token_issue(*, user: User, acting_user: User | None, system="") -> str:
    """Replace the user's API token with a new one and return it; the old one stops working."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit_record(
        actor=acting_user,
        action=AuditAction.TOKEN_ISSUED,
        target=user,
        detail={"user": user.get_username()},
        system=system,
    )
    return token.key


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
