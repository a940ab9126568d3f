"""Writes to the access profiles that say who may extract what, and the guardian permissions
their holders get from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from datasets.models import Dataset
from datasets.selectors import dataset_list
from hub.access import coordinator_check
from hub.models import Agency, Partnership, User
from hub.services import audit_record, tokens_revoke
from sharing.access import access_decisions, analyst_standing
from sharing.choices import (
    LEVEL_ORDER,
    LEVEL_PERMISSIONS,
    AccessLevel,
)
from sharing.models import (
    AccessGrant,
    AccessProfile,
    SharedDataset,
)
from sharing.services.isp import GovernanceRefused


def access_profile_ensure(
    *,
    partnership: Partnership,
    name: str,
    levels: dict[Dataset, str],
    description: str = "",
    acting_user: User | None,
    system: str = "",
) -> AccessProfile:
    """Create or update a profile to grant exactly ``levels``; its holders' permissions follow.
    For the partnership's co-ordinator (GovernanceRefused, audited, for anyone else).

    Personal level is refused: it comes only from an approved personal-data request. A level
    lowered (or a dataset dropped) revokes the API tokens of every holder.
    """
    coordinator_check(
        acting_user=acting_user, partnership=partnership, service="access_profile_ensure",
        act="change its access profiles", refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    if AccessLevel.PERSONAL in levels.values():
        raise ValueError("Personal-level access is granted by an approved request, not a profile.")
    with transaction.atomic():
        profile, created = AccessProfile.objects.get_or_create(partnership=partnership, name=name)
        wanted = {dataset.pk: level for dataset, level in levels.items()}
        held = dict(profile.grants.values_list("dataset_id", "level"))
        if not created and held == wanted and profile.description == description:
            return profile
        _grants_set(profile, levels=levels, description=description)
        audit_record(
            actor=acting_user,
            action="access_profile_changed",
            target=profile,
            detail={"name": name, "levels": {d.slug: level for d, level in levels.items()}},
            system=system,
        )
        lowered = any(
            LEVEL_ORDER.index(wanted.get(dataset_id, AccessLevel.NONE)) < LEVEL_ORDER.index(level)
            for dataset_id, level in held.items()
        )
        if lowered:
            tokens_revoke(
                users=_profile_holders(profile), reason=f"access profile {name} lowered",
                acting_user=acting_user, system=system,
            )  # fmt: skip
    return profile


def _grants_set(profile: AccessProfile, *, levels: dict[Dataset, str], description: str) -> None:
    """The profile grants exactly ``levels``, and its holders' permissions follow."""
    profile.description = description
    profile.save(update_fields=["description"])
    profile.grants.exclude(dataset__in=list(levels)).delete()
    for dataset, level in levels.items():
        AccessGrant.objects.update_or_create(
            profile=profile, dataset=dataset, defaults={"level": level}
        )
    for holder in [*profile.users.all(), *profile.groups.all()]:
        _sync_permissions(holder)


def _holder_set(profile: AccessProfile, holder: User | Group, *, holds: bool) -> None:
    """The user or group holds the profile (``holds``) or not, and its permissions follow."""
    members = profile.users if isinstance(holder, User) else profile.groups
    if holds:
        members.add(holder)
    else:
        members.remove(holder)
    _sync_permissions(holder)


def _profile_holders(profile: AccessProfile):
    """The users holding the profile, themselves or through a group."""
    return User.objects.filter(
        Q(access_profiles=profile) | Q(groups__access_profiles=profile)
    ).distinct()


def access_profile_assign(
    *, profile: AccessProfile, holder: User | Group, acting_user: User | None, system: str = ""
) -> None:
    """Give a user or a group the profile's levels. For the co-ordinator of the profile's
    partnership (GovernanceRefused, audited, for anyone else)."""
    coordinator_check(
        acting_user=acting_user, partnership=profile.partnership,
        service="access_profile_assign", act="assign its access profiles",
        refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    with transaction.atomic():
        _holder_set(profile, holder, holds=True)
        audit_record(
            actor=acting_user,
            action="access_profile_assigned",
            target=profile,
            detail={"profile": profile.name, "holder": str(holder)},
            system=system,
        )


def access_profile_unassign(
    *, profile: AccessProfile, holder: User | Group, acting_user: User | None, system: str = ""
) -> None:
    """Take the profile from a user or a group, and revoke the API tokens of the users who
    held it so. For the co-ordinator of the profile's partnership (GovernanceRefused,
    audited, for anyone else)."""
    coordinator_check(
        acting_user=acting_user, partnership=profile.partnership,
        service="access_profile_unassign", act="unassign its access profiles",
        refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    is_user = isinstance(holder, User)
    with transaction.atomic():
        members = profile.users if is_user else profile.groups
        held = members.filter(pk=holder.pk).exists()
        _holder_set(profile, holder, holds=False)
        audit_record(
            actor=acting_user,
            action="access_profile_unassigned",
            target=profile,
            detail={"profile": profile.name, "holder": str(holder)},
            system=system,
        )
        if held:
            tokens_revoke(
                users=[holder] if is_user else holder.user_set.all(),
                reason=f"access profile {profile.name} unassigned",
                acting_user=acting_user, system=system,
            )  # fmt: skip


def _sync_permissions(holder: User | Group) -> None:
    """Make the holder's guardian permissions exactly what its profiles grant, held per
    partnership: on the dataset as shared in the profile's partnership."""
    is_user = isinstance(holder, User)
    grants = AccessGrant.objects.filter(
        **({"profile__users": holder} if is_user else {"profile__groups": holder})
    )
    best: dict[tuple[int, int], str] = {}
    for partnership_id, dataset_id, level in grants.values_list(
        "profile__partnership_id", "dataset_id", "level"
    ):
        key = (partnership_id, dataset_id)
        if LEVEL_ORDER.index(level) > LEVEL_ORDER.index(best.get(key, AccessLevel.NONE)):
            best[key] = level
    held = UserObjectPermission if is_user else GroupObjectPermission
    held.objects.filter(
        **({"user": holder} if is_user else {"group": holder}),
        content_type=ContentType.objects.get_for_model(SharedDataset),
    ).delete()
    for level, permission in LEVEL_PERMISSIONS.items():
        keys = [key for key, held_level in best.items() if held_level == level]
        if keys:
            shared = [
                SharedDataset.objects.get_or_create(partnership_id=p, dataset_id=d)[0].pk
                for p, d in keys
            ]
            assign_perm(permission, holder, SharedDataset.objects.filter(pk__in=shared))


def access_profile_save(
    *,
    partnership: Partnership,
    profile: AccessProfile | None,
    levels: dict[Dataset, str],
    holders: Iterable[User],
    name: str = "",
    description: str = "",
    acting_user: User | None,
    system: str = "",
) -> AccessProfile:
    """Create a profile named ``name`` (``profile`` None) or change ``profile``, as the
    console's form does: it grants exactly ``levels`` and is held by exactly ``holders``
    among users (the groups that hold it keep it). One transaction of ``access_profile_ensure``
    then ``access_profile_assign`` and ``access_profile_unassign`` for each user who gains or
    loses it: each audited, tokens revoked as they do. For the partnership's co-ordinator
    (GovernanceRefused, audited, for anyone else); GovernanceRefused too for a new profile's
    name already taken, a holder from outside the partnership or a profile of another."""
    coordinator_check(
        acting_user=acting_user, partnership=partnership, service="access_profile_save",
        act="change its access profiles", refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    holders = set(holders)
    name = _change_checked(partnership=partnership, profile=profile, name=name, holders=holders)
    with transaction.atomic():
        profile = access_profile_ensure(
            partnership=partnership, name=name, levels=levels, description=description,
            acting_user=acting_user, system=system,
        )  # fmt: skip
        held = set(profile.users.all())
        for user in sorted(holders - held, key=lambda user: user.pk):
            access_profile_assign(profile=profile, holder=user, acting_user=acting_user,
                                  system=system)  # fmt: skip
        for user in sorted(held - holders, key=lambda user: user.pk):
            access_profile_unassign(profile=profile, holder=user, acting_user=acting_user,
                                    system=system)  # fmt: skip
    return profile


def _change_checked(
    *, partnership: Partnership, profile: AccessProfile | None, name: str, holders: set[User]
) -> str:
    """The name of the profile a change saves, or GovernanceRefused for a change that may not
    be made whoever makes it."""
    if profile is None:
        name = name.strip()
        if not name or AccessProfile.objects.filter(partnership=partnership, name=name).exists():
            raise GovernanceRefused(f"A profile named {name!r} exists already: change that one.")
    elif profile.partnership_id != partnership.pk:
        raise GovernanceRefused("That profile belongs to another partnership.")
    else:
        name = profile.name
    members = User.objects.filter(
        memberships__agency__partnership=partnership, pk__in=[user.pk for user in holders]
    )
    outsiders = holders - set(members)
    if outsiders:
        raise GovernanceRefused(
            f"{', '.join(sorted(map(str, outsiders)))} is not of {partnership}: "
            "a profile goes to the partnership's own users."
        )
    return name


@dataclass(frozen=True)
class AccessChange:
    """One user's level on one dataset, as the gate decides it now and would after a change:
    ``reason`` is the gate's "why" after it."""

    user: User
    agency: Agency | None
    dataset: Dataset
    before: str
    after: str
    reason: str

    @property
    def gains(self) -> bool:
        return LEVEL_ORDER.index(self.after) > LEVEL_ORDER.index(self.before)


class _Preview(Exception):
    """Ends the preview's transaction, so that nothing of the change stays."""


def access_profile_preview(
    *,
    partnership: Partnership,
    profile: AccessProfile | None,
    levels: dict[Dataset, str],
    holders: Iterable[User],
    name: str = "",
    description: str = "",
    acting_user: User | None,
    system: str = "",
) -> list[AccessChange]:
    """Who gains and who loses what if ``access_profile_save`` were called with the same
    arguments: for every user holding the profile before or after, each dataset of the
    catalogue whose level rises or falls. The change is made by the writes that saving makes
    (without their audit entries and token revocations), the gate decides
    (``access_decisions``), and the transaction is rolled back: nothing of it stays. Refused
    as ``access_profile_save`` refuses (audited for a caller who is not the co-ordinator)."""
    coordinator_check(
        acting_user=acting_user, partnership=partnership, service="access_profile_preview",
        act="change its access profiles", refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    holders = set(holders)
    name = _change_checked(partnership=partnership, profile=profile, name=name, holders=holders)
    if AccessLevel.PERSONAL in levels.values():
        raise ValueError("Personal-level access is granted by an approved request, not a profile.")
    before_holders = set(_profile_holders(profile)) if profile is not None else set()
    people = sorted(before_holders | holders, key=lambda user: user.get_username())
    datasets = list(dataset_list())
    before = {
        user.pk: access_decisions(user=user, datasets=datasets, partnership=partnership)
        for user in people
    }
    try:
        with transaction.atomic():
            # A copy, so that the caller's profile does not keep the rolled-back change.
            changed = (
                AccessProfile.objects.get(pk=profile.pk)
                if profile is not None
                else AccessProfile.objects.create(partnership=partnership, name=name)
            )
            _grants_set(changed, levels=levels, description=description)
            held = set(changed.users.all())
            for user in holders ^ held:
                _holder_set(changed, user, holds=user in holders)
            after = {
                user.pk: access_decisions(user=user, datasets=datasets, partnership=partnership)
                for user in people
            }
            raise _Preview
    except _Preview:
        pass
    changes = []
    for user in people:
        agency, _ = analyst_standing(user=user, partnership=partnership)
        for dataset in datasets:
            was, will = before[user.pk][dataset.pk], after[user.pk][dataset.pk]
            old, new = _held_level(was), _held_level(will)
            if old != new:
                changes.append(AccessChange(user, agency, dataset, old, new, will.reason))
    return changes


def _held_level(decision) -> str:
    """The level that counts and depersonalised records are decided by (a personal-data
    request's scope aside), as ``AccessDecision.allows`` reads it."""
    return decision.profile_level or decision.level
