"""The audit trail: entries chained by hash, each belonging to one partnership (or to the hub),
and anchored by signed checkpoints kept outside the database (hub/anchor.py)."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from hub import anchor
from hub.choices import AuditAction
from hub.models import Agency, AuditEntry, Membership, Partnership, User

AUDIT_CHAIN_LOCK = 7_246_001  # an arbitrary key for the advisory lock that orders the chain


class _Derive(enum.Enum):
    FROM_CONTEXT = "derive"


# ``partnership=`` left out: found from the agency, the target or the actor (see below).
DERIVE = _Derive.FROM_CONTEXT
# ``partnership=HUB_WIDE``: the entry concerns the whole hub; only Django staff read it.
HUB_WIDE = None


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
    partnership: Partnership | None | _Derive = DERIVE,
) -> AuditEntry:
    """Append one entry to the audit trail, chained to the one before it, and once committed
    sign a checkpoint of it outside the database, so that cutting it off is found too.

    ``system`` names the process acting without a user. The entry belongs to ``partnership``
    (``HUB_WIDE`` for none); left out, to the agency's, else the target's, else that of the
    user the event is about (the target user, else the actor). Such a user may belong to
    several partnerships: then each gets an entry of its own, and the first is returned.
    """
    if partnership is DERIVE:
        partnership_ids = _derived_partnerships(agency=agency, target=target, actor=actor)
    else:
        partnership_ids = [partnership.pk if partnership is not None else None]
    with transaction.atomic(), connection.cursor() as cursor:
        # One writer at a time, so that the chain has no forks.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        previous = (
            AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first() or ""
        )
        entries = []
        for partnership_id in partnership_ids:
            entry = AuditEntry(
                created_at=timezone.now(),
                actor=actor if actor is not None and actor.pk else None,
                actor_username=actor.get_username() if actor is not None else f"system:{system}",
                action=action,
                agency=agency,
                partnership_id=partnership_id,
                dataset_slug=dataset_slug,
                object_type=target._meta.label if target is not None else "",
                object_id=str(target.pk) if target is not None else "",
                detail=detail or {},
                ip_address=ip_address,
                previous_hash=previous,
            )
            entry.entry_hash = audit_digest(entry)
            entry.save()
            entries.append(entry)
            previous = entry.entry_hash
        # The last entry's hash pins every one before it. robust: the action is committed by
        # then, so a checkpoint that cannot be written is logged, not raised to the caller;
        # the periodic checkpoint covers it.
        last = entries[-1]
        transaction.on_commit(
            partial(anchor.checkpoint_append, entry_id=last.pk, entry_hash=last.entry_hash),
            robust=True,
        )
    return entries[0]


def _derived_partnerships(*, agency, target, actor) -> list[int | None]:
    if agency is not None:
        return [agency.partnership_id]
    if target is not None:
        if isinstance(target, User):
            return _user_partnerships(target)
        found = _target_partnership(target)
        if found is not None:
            return [found]
    if actor is not None and actor.pk:
        return _user_partnerships(actor)
    return [HUB_WIDE]


def _target_partnership(target) -> int | None:
    if isinstance(target, Partnership):
        return target.pk
    if getattr(target, "partnership_id", None) is not None:
        return target.partnership_id
    agency_id = getattr(target, "agency_id", None)
    if agency_id is None:
        return None
    if target._meta.get_field("agency").is_cached(target):
        return target.agency.partnership_id
    return Agency.objects.filter(pk=agency_id).values_list("partnership_id", flat=True).first()


def _user_partnerships(user: User) -> list[int | None]:
    # An event about a user in several partnerships (a token, a second factor, a sign-in)
    # is each of their co-ordinators' business: their data is open to that user, so each
    # partnership gets its own entry rather than one that only the hub's staff could read.
    found = sorted(
        set(Membership.objects.filter(user=user).values_list("agency__partnership_id", flat=True))
    )
    return found or [HUB_WIDE]


def audit_digest(entry: AuditEntry) -> str:
    """The SHA-256 of an entry's content and the hash of the entry before it.

    The partnership is covered only when set, so that a hub-wide entry hashes as every entry
    did before entries had partnerships (migration 0005 re-chained those it gave one).
    """
    content = [
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
    ]
    # getattr: migration 0003 hashes entries of a model state that had no partnership yet.
    partnership_id = getattr(entry, "partnership_id", None)
    if partnership_id is not None:
        content.append(partnership_id)
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AuditProblem:
    """Something found wrong: the entry it concerns and, where one found it, the checkpoint."""

    entry_id: int | None
    message: str
    checkpoint: str = ""


@dataclass
class AuditCheck:
    """What ``audit_verify`` found: every problem, earliest entry first, and what it read."""

    problems: list[AuditProblem] = field(default_factory=list)
    entries: int = 0
    checkpoints: int = 0
    newest: anchor.Checkpoint | None = None
    head_id: int | None = None

    @property
    def whole(self) -> bool:
        return not self.problems


def audit_verify() -> AuditCheck:
    """Check every entry against its hash and the one before it, and every signed checkpoint
    against the entries: each checkpoint's signature, that the entry it names is still there
    with the hash it had, and so that the trail was not cut after the newest one."""
    check = AuditCheck()
    pinned: dict[int, list[anchor.Checkpoint]] = {}
    for found in anchor.checkpoints_read():
        if isinstance(found, anchor.BadLine):
            check.problems.append(AuditProblem(None, found.reason, found.where))
            continue
        check.checkpoints += 1
        pinned.setdefault(found.entry_id, []).append(found)
        if check.newest is None or found.entry_id > check.newest.entry_id:
            check.newest = found
    previous = ""
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=5000):
        check.entries += 1
        check.head_id = entry.pk
        check.problems.extend(_entry_problems(entry, previous))
        for checkpoint in pinned.pop(entry.pk, []):
            check.problems.extend(_checkpoint_problems(entry, checkpoint))
        previous = entry.entry_hash
    for entry_id, checkpoints in sorted(pinned.items()):
        for checkpoint in checkpoints:
            check.problems.append(_gone(entry_id, checkpoint, check))
    check.problems.sort(key=lambda problem: (problem.entry_id or 0, problem.checkpoint))
    return check


def _entry_problems(entry: AuditEntry, previous: str) -> list[AuditProblem]:
    problems = []
    if entry.previous_hash != previous:
        message = (
            f"{_name(entry)} does not follow the entry before it: an entry before it was "
            "removed or inserted, or the chain was re-linked."
        )
        problems.append(AuditProblem(entry.pk, message))
    if entry.entry_hash != audit_digest(entry):
        message = f"{_name(entry)} no longer matches its hash: it was changed in the database."
        problems.append(AuditProblem(entry.pk, message))
    return problems


def _checkpoint_problems(entry: AuditEntry, checkpoint) -> list[AuditProblem]:
    # The entry's hash pins every entry before it, so a matching hash is all there is to check.
    if checkpoint.entry_hash == entry.entry_hash:
        return []
    message = (
        f"{_name(entry)} has hash {entry.entry_hash[:12]}… but checkpoint {checkpoint.where} "
        f"(signed {checkpoint.signed_at}) recorded {checkpoint.entry_hash[:12]}…: the entry or "
        "one before it was rewritten and the chain re-hashed after it."
    )
    return [AuditProblem(entry.pk, message, checkpoint.where)]


def _gone(entry_id: int, checkpoint, check: AuditCheck) -> AuditProblem:
    said = (
        f"Entry {entry_id}, named by checkpoint {checkpoint.where} (signed {checkpoint.signed_at})"
    )
    if check.head_id is None or entry_id > check.head_id:
        now = f"the trail now ends at entry {check.head_id}" if check.head_id else "it is empty"
        message = f"{said}, is gone: {now}, so its last entries were cut off"
        if checkpoint.count is not None:
            message += f" (it counted {checkpoint.count} entries, there are {check.entries} now)"
        message += "."
    else:
        message = f"{said}, is gone: it was removed from the trail."
    return AuditProblem(entry_id, message, checkpoint.where)


def _name(entry: AuditEntry) -> str:
    return f"Entry {entry.pk} ({entry.created_at:%Y-%m-%d %H:%M:%S}, {entry.action})"


def audit_checkpoint() -> anchor.Checkpoint | None:
    """Sign a checkpoint of the trail's head as committed now (the periodic anchor: it also
    covers an entry whose own checkpoint was lost with its process); None while it is empty."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Under the writers' lock, so that the head and the count describe the same trail.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        head = AuditEntry.objects.order_by("-id").values_list("pk", "entry_hash").first()
        if head is None:
            return None
        count = AuditEntry.objects.count()
    return anchor.checkpoint_append(entry_id=head[0], entry_hash=head[1], count=count)


# -- reading the trail -------------------------------------------------------------------------


def audit_trail_read(
    *,
    user: User,
    partnership: Partnership | None,
    read: dict[int | None, int],
    filters: dict,
    exported: bool,
    ip_address: str | None = None,
) -> None:
    """Record that the user read the audit trail, on the page or as an export, with the
    filters they used: in their own partnership's trail (None: the hub-wide one) and in that
    of every other partnership whose entries they got (``read``: entries by partnership id),
    so that each co-ordinator sees who read their partnership's entries."""
    whose = set(read) | {partnership.pk if partnership is not None else None}
    named = Partnership.objects.in_bulk([pk for pk in whose if pk is not None])
    for pk in sorted(whose, key=lambda pk: (pk is None, pk)):
        audit_record(
            actor=user,
            action=AuditAction.AUDIT_EXPORTED if exported else AuditAction.AUDIT_VIEWED,
            partnership=named[pk] if pk is not None else HUB_WIDE,
            detail={"filters": filters, "rows": read.get(pk, 0)},
            ip_address=ip_address,
        )


def audit_head_id() -> int:
    """The newest entry's id (0 for none): an export stops there, so that its count holds."""
    return AuditEntry.objects.aggregate(head=Max("id"))["head"] or 0
