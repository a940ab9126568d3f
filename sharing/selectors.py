"""Reads about the ISP, where each agency stands under it, and what each user may extract."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from guardian.core import ObjectPermissionChecker

from datasets.models import Dataset
from hub.choices import IspTier, Role
from hub.models import Agency, Partnership, User
from sharing.choices import LEVEL_ORDER, LEVEL_PERMISSIONS, AccessLevel
from sharing.models import Extract, InformationSharingProtocol, Signature


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


@dataclass(frozen=True)
class AccessDecision:
    """The level a user may extract from a dataset, and in words why."""

    level: str
    reason: str

    def allows(self, level: str) -> bool:
        return LEVEL_ORDER.index(self.level) >= LEVEL_ORDER.index(level)


def analyst_standing(*, user: User) -> tuple[Agency | None, IspStanding | None]:
    """The user's analyst agency with the best ISP standing (core before associate)."""
    best: tuple[Agency | None, IspStanding | None] = (None, None)
    rank = {IspTier.CORE: 2, IspTier.ASSOCIATE: 1, IspTier.NONE: 0}
    for agency in Agency.objects.filter(
        memberships__user=user, memberships__roles__contains=[Role.ANALYST]
    ).select_related("partnership"):
        standing = agency_standing(agency=agency)
        if best[1] is None or rank[standing.tier] > rank[best[1].tier]:
            best = (agency, standing)
    return best


def access_decisions(*, user: User, datasets: Iterable[Dataset]) -> dict[int, AccessDecision]:
    """For each dataset, what the user may extract: the highest level their access profiles
    grant (django-guardian object permissions), capped by their agency's ISP tier. Personal
    data needs an approved personal-data request, which nobody holds yet."""
    datasets = list(datasets)
    if not user.is_authenticated or not user.is_active:
        return {d.pk: AccessDecision(AccessLevel.NONE, "You are not signed in.") for d in datasets}
    agency, standing = analyst_standing(user=user)
    if agency is None:
        reason = "Only analysts extract data; you hold no analyst role."
        return {d.pk: AccessDecision(AccessLevel.NONE, reason) for d in datasets}
    if standing.tier == IspTier.NONE:
        return {d.pk: AccessDecision(AccessLevel.NONE, standing.reason) for d in datasets}
    checker = ObjectPermissionChecker(user)
    checker.prefetch_perms(datasets)
    decisions = {}
    for dataset in datasets:
        granted = AccessLevel.NONE
        for level in (AccessLevel.PERSONAL, AccessLevel.DEPERSONALISED, AccessLevel.AGGREGATE):
            if checker.has_perm(LEVEL_PERMISSIONS[level].split(".")[1], dataset):
                granted = level
                break
        decisions[dataset.pk] = _capped(granted, dataset=dataset)
    return decisions


def _capped(granted: str, *, dataset: Dataset) -> AccessDecision:
    if granted == AccessLevel.NONE:
        return AccessDecision(AccessLevel.NONE, "None of your access profiles covers this dataset.")
    # Personal data come only through an approved, time-limited personal-data request, never
    # from a profile, and never to an associate-tier agency (guidance §2.2.4, §2.4).
    if granted == AccessLevel.PERSONAL:
        granted = AccessLevel.DEPERSONALISED
    label = AccessLevel(granted).label.lower()
    reason = f"Your access profile grants {label}"
    if dataset.kind != "depersonalised":
        reason += "; personal data need an approved personal-data request"
    return AccessDecision(granted, reason + ".")


def access_decision(*, user: User, dataset: Dataset) -> AccessDecision:
    return access_decisions(user=user, datasets=[dataset])[dataset.pk]


def extract_restrict(*, user: User) -> QuerySet[Extract]:
    """An analyst's own extracts; nobody else's."""
    if not user.is_authenticated:
        return Extract.objects.none()
    return Extract.objects.filter(created_by=user).select_related("dataset", "linked_dataset")


def extract_get(*, user: User, extract_id) -> Extract:
    """The extract, or 404 alike for one that does not exist and one that is not yours."""
    try:
        return extract_restrict(user=user).get(pk=uuid.UUID(str(extract_id)))
    except (ValueError, Extract.DoesNotExist) as error:
        raise Http404("No such extract.") from error
