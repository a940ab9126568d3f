"""The level each user may have of each dataset in the partnership they act in: where the
analyst stands under the ISP, what their access profiles grant (capped by that standing), and
personal data only under an approved personal-data request."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from datasets.choices import DatasetKind
from datasets.models import Dataset
from hub.access import (
    IspStanding,
    agencies_with_role,
    agency_standing,
    partnership_coordinators,
)
from hub.choices import IspTier, Role
from hub.models import Agency, Partnership, User
from sharing.choices import LEVEL_ORDER, LEVEL_PERMISSIONS, AccessLevel, RequestStatus
from sharing.models import (
    AccessGrant,
    AccessProfile,
    PersonalDataRequest,
    SharedDataset,
)

TIER_RANK = {IspTier.CORE: 2, IspTier.ASSOCIATE: 1, IspTier.NONE: 0}


def _profiles_of(user: User) -> QuerySet[AccessProfile]:
    return AccessProfile.objects.filter(Q(users=user) | Q(groups__user=user))


def analyst_standing(
    *, user: User, partnership: Partnership | None = None
) -> tuple[Agency | None, IspStanding | None]:
    """The agency the user acts for as an analyst, and its ISP standing: in ``partnership``
    if given; else where they stand best (core before associate, then a partnership where
    an access profile covers them), so that a user of two partnerships gets one answer."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None, None
    agencies = agencies_with_role(user=user, role=Role.ANALYST).select_related("partnership")
    if partnership is not None:
        agencies = agencies.filter(partnership=partnership)
    profiled = set(_profiles_of(user).values_list("partnership_id", flat=True))
    best: tuple[Agency | None, IspStanding | None] = (None, None)
    best_rank: tuple = ()
    for agency in agencies.order_by("pk"):
        standing = agency_standing(agency=agency)
        rank = (TIER_RANK[standing.tier], agency.partnership_id in profiled)
        if best[0] is None or rank > best_rank:
            best, best_rank = (agency, standing), rank
    return best


def acting_partnership(*, user: User, partnership: Partnership | None = None) -> Partnership | None:
    """The partnership the user acts in as an analyst: ``partnership`` if they named one, else
    where ``analyst_standing`` places them; None if they are no analyst. What they are refused
    there is that partnership's business only."""
    if partnership is not None:
        return partnership
    agency, _ = analyst_standing(user=user)
    return agency.partnership if agency is not None else None


# -- the level per dataset --------------------------------------------------------------------


@dataclass(frozen=True)
class AccessDecision:
    """The most a user may have of a dataset in one partnership, and in words why.

    ``level`` is personal under an approved request; ``profile_level`` is what the access
    profiles grant, which alone decides counts and depersonalised records: a request for one
    agency's records of one period and area opens nothing else of the dataset."""

    level: str
    reason: str
    profile_level: str = ""

    def allows(self, level: str) -> bool:
        if level == AccessLevel.PERSONAL:
            return self.level == AccessLevel.PERSONAL
        held = self.profile_level or self.level
        return LEVEL_ORDER.index(held) >= LEVEL_ORDER.index(level)


def active_requests(
    *, user: User, partnership: Partnership, now: datetime.datetime | None = None
) -> QuerySet[PersonalDataRequest]:
    """The user's personal-data requests that grant access now: approved, not yet expired
    (whatever the expiry task has done so far), for data of ``partnership``, made from an
    agency where the user is still an analyst and which is still a core-tier signatory, of
    data from an agency that is still a signatory."""
    candidates = PersonalDataRequest.objects.filter(
        requester=user,
        status=RequestStatus.APPROVED,
        expires_at__gt=now or timezone.now(),
        supplying_agency__partnership=partnership,
    ).select_related("dataset", "supplying_agency", "requester_agency")
    analyst_at = set(agencies_with_role(user=user, role=Role.ANALYST).values_list("pk", flat=True))
    kept = [
        data_request.pk
        for data_request in candidates
        if data_request.requester_agency_id in analyst_at
        and agency_standing(agency=data_request.requester_agency).tier == IspTier.CORE
        and agency_standing(agency=data_request.supplying_agency).tier != IspTier.NONE
    ]
    return candidates.filter(pk__in=kept)


def holds_personal_access(*, user: User) -> bool:
    """Whether an approved personal-data request, not yet expired, gives the user personal
    data: their account then owes a second factor (``HUB_SECOND_FACTOR_HOLDINGS``)."""
    return PersonalDataRequest.objects.filter(
        requester=user, status=RequestStatus.APPROVED, expires_at__gt=timezone.now()
    ).exists()


def access_decisions(
    *, user: User, datasets: Iterable[Dataset], partnership: Partnership | None = None
) -> dict[int, AccessDecision]:
    """For each dataset, the level the user may have in the partnership they act in: the
    highest their access profiles there grant (django-guardian permissions held on the
    partnership's dataset), capped by their agency's ISP tier; personal only under an
    approved personal-data request."""
    datasets = list(datasets)
    if user is None or not user.is_authenticated or not user.is_active:
        return {d.pk: AccessDecision(AccessLevel.NONE, "You are not signed in.") for d in datasets}
    agency, standing = analyst_standing(user=user, partnership=partnership)
    return decided_levels(user=user, datasets=datasets, agency=agency, standing=standing,
                    partnership=partnership)  # fmt: skip


def decided_levels(
    *, user: User, datasets: list[Dataset], agency: Agency | None,
    standing: IspStanding | None, partnership: Partnership | None,
) -> dict[int, AccessDecision]:  # fmt: skip
    if agency is None:
        reason = "Only analysts extract data; you hold no analyst role."
        if partnership is not None:
            reason = f"You are not an analyst of {partnership}."
        return {d.pk: AccessDecision(AccessLevel.NONE, reason) for d in datasets}
    if standing.tier == IspTier.NONE:
        return {d.pk: AccessDecision(AccessLevel.NONE, standing.reason) for d in datasets}
    held = _held_permissions(user=user, partnership=agency.partnership, datasets=datasets)
    requested = set()
    if standing.tier == IspTier.CORE:
        requested = set(
            active_requests(user=user, partnership=agency.partnership).values_list(
                "dataset_id", flat=True
            )
        )
    granting = _granting_profiles(user=user, partnership=agency.partnership, datasets=datasets)
    decisions = {}
    for dataset in datasets:
        granted = AccessLevel.NONE
        for level in (AccessLevel.PERSONAL, AccessLevel.DEPERSONALISED, AccessLevel.AGGREGATE):
            if LEVEL_PERMISSIONS[level] in held.get(dataset.pk, ()):
                granted = level
                break
        decision = _capped(
            granted, dataset=dataset, tier=standing.tier,
            profiles=granting.get((dataset.pk, granted), []),
        )  # fmt: skip
        if dataset.pk in requested:
            reason = (
                "An approved personal-data request grants personal data within its scope "
                f"until it ends. {decision.reason}"
            )
            decision = AccessDecision(AccessLevel.PERSONAL, reason, decision.level)
        decisions[dataset.pk] = decision
    return decisions


def _held_permissions(
    *, user: User, partnership: Partnership, datasets: list[Dataset]
) -> dict[int, set[str]]:
    """The django-guardian permissions the user holds, directly or through a group, on each
    dataset as shared in the partnership, by dataset id. Read by content type's name rather
    than through guardian's checker, whose cached content type ids a long-running worker
    would otherwise keep."""
    shared = dict(
        SharedDataset.objects.filter(partnership=partnership, dataset__in=datasets).values_list(
            "pk", "dataset_id"
        )
    )
    on_shared = {
        "content_type__app_label": SharedDataset._meta.app_label,
        "content_type__model": SharedDataset._meta.model_name,
        "object_pk__in": [str(pk) for pk in shared],
    }
    rows = (
        UserObjectPermission.objects.filter(user=user, **on_shared)
        .values_list("object_pk", "permission__codename")
        .union(
            GroupObjectPermission.objects.filter(group__user=user, **on_shared).values_list(
                "object_pk", "permission__codename"
            )
        )
    )
    held: dict[int, set[str]] = {}
    for object_pk, codename in rows:
        held.setdefault(shared[int(object_pk)], set()).add(codename)
    return held


def _granting_profiles(
    *, user: User, partnership: Partnership, datasets: list[Dataset]
) -> dict[tuple[int, str], list[str]]:
    """The names of the user's access profiles in the partnership, by the dataset and level
    each grants: what the "why" of a decision names."""
    named: dict[tuple[int, str], list[str]] = {}
    grants = (
        AccessGrant.objects.filter(
            profile__in=_profiles_of(user).filter(partnership=partnership).values("pk"),
            dataset__in=datasets,
        )
        .values_list("dataset_id", "level", "profile__name")
        .order_by("profile__name")
    )
    for dataset_id, level, name in grants:
        named.setdefault((dataset_id, level), []).append(name)
    return named


# What each ISP tier allows of a profile's grant, in words: the rule the "why" names.
TIER_RULES = {
    IspTier.CORE: "the core ISP tier allows it",
    IspTier.ASSOCIATE: (
        "the associate ISP tier allows at most depersonalised records, k-anonymised, and "
        "never personal data"
    ),
}


def _capped(granted: str, *, dataset: Dataset, tier: str, profiles: list[str]) -> AccessDecision:
    """The level a profile's grant gives under the agency's tier, and why: the profile that
    grants it and the rule that lets it stand or lowers it."""
    if granted == AccessLevel.NONE:
        return AccessDecision(AccessLevel.NONE, "None of your access profiles covers this dataset.")
    if profiles:
        source = f"{' and '.join(profiles)} profile{'s' if len(profiles) > 1 else ''}"
    else:
        source = "A permission held outside any access profile"
    # Personal data come only through an approved, time-limited personal-data request, never
    # from a profile, and never to an associate-tier agency (guidance §2.2.4, §2.4).
    if granted == AccessLevel.PERSONAL:
        return AccessDecision(
            AccessLevel.DEPERSONALISED,
            f"{source}: personal data, capped to depersonalised records: personal data come "
            "only from an approved personal-data request.",
        )
    reason = f"{source}: {AccessLevel(granted).label.lower()}; {TIER_RULES[tier]}"
    if dataset.kind != DatasetKind.DEPERSONALISED and tier == IspTier.CORE:
        reason += "; personal data need an approved personal-data request"
    return AccessDecision(granted, reason + ".")


def access_decision(
    *, user: User, dataset: Dataset, partnership: Partnership | None = None
) -> AccessDecision:
    return access_decisions(user=user, datasets=[dataset], partnership=partnership)[dataset.pk]


def datasets_allowed(
    *,
    user: User,
    datasets: Iterable[Dataset],
    partnership: Partnership | None = None,
    level: str = AccessLevel.AGGREGATE,
) -> list[tuple[Dataset, AccessDecision]]:
    """The datasets of which the user may have at least ``level`` in the partnership they act
    in, each with its decision: what the workspace shows, and whether the navigation offers
    the workspace at all."""
    datasets = list(datasets)
    decisions = access_decisions(user=user, datasets=datasets, partnership=partnership)
    return [(d, decisions[d.pk]) for d in datasets if decisions[d.pk].allows(level)]


def analyst_refusal(*, user: User, partnership: Partnership | None = None) -> str:
    """Why an analyst may see no dataset, in words that say whom to ask: their agency stands
    outside the ISP, or no access profile covers them. "" for a user who is no analyst there:
    the analyst's pages do not exist for them, as for anyone. Only the user's own standing is
    told, never anything of another's data."""
    agency, standing = analyst_standing(user=user, partnership=partnership)
    if agency is None:
        return ""
    coordinators = [
        _named(person) for person in partnership_coordinators(partnership=agency.partnership)
    ]
    ask = "your partnership's co-ordinator"
    if coordinators:
        ask = f"{' or '.join(coordinators)}, the partnership's co-ordinator"
    if standing.tier == IspTier.NONE:
        dlo = agency.designated_liaison_officer
        signer = f"{_named(dlo)}, {agency}'s DLO, or " if dlo is not None else ""
        return (
            f"{standing.reason} Until it signs the current ISP you see no data through it. "
            f"Ask {signer}{ask}, about signing it."
        )
    return (
        "None of your access profiles covers a dataset, so there is nothing here for you yet. "
        f"Ask {ask}, for an access profile."
    )


def _named(person: User) -> str:
    name = person.get_full_name() or person.get_username()
    return f"{name} ({person.email})" if person.email else name
