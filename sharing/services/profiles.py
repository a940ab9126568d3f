"""Writes to the access profiles that say who may extract what, and the guardian permissions
their holders get from them."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from datasets.models import Dataset
from hub.access import coordinator_check
from hub.models import Partnership, User
from hub.services import audit_record, tokens_revoke
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
        profile.description = description
        profile.save(update_fields=["description"])
        profile.grants.exclude(dataset__in=list(levels)).delete()
        for dataset, level in levels.items():
            AccessGrant.objects.update_or_create(
                profile=profile, dataset=dataset, defaults={"level": level}
            )
        for holder in [*profile.users.all(), *profile.groups.all()]:
            _sync_permissions(holder)
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
        members = profile.users if isinstance(holder, User) else profile.groups
        members.add(holder)
        _sync_permissions(holder)
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
        members.remove(holder)
        _sync_permissions(holder)
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
