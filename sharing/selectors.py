"""Reads about the ISP: which version is current and where each agency stands under it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from hub.choices import IspTier
from hub.models import Agency, Partnership
from sharing.models import InformationSharingProtocol, Signature


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
