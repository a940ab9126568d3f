"""Reads about the ISP: which version is current and the tier each agency holds."""

from __future__ import annotations

import datetime

from django.utils import timezone

from hub.choices import IspTier
from hub.models import Agency, Partnership
from sharing.models import InformationSharingProtocol, Signature


def isp_current(*, partnership: Partnership) -> InformationSharingProtocol | None:
    """The most recently adopted ISP version, whether or not its review is overdue."""
    return (
        InformationSharingProtocol.objects.filter(partnership=partnership)
        .order_by("-adopted_on", "-id")
        .first()
    )


def agency_tier(*, agency: Agency, on: datetime.date | None = None) -> str:
    """The agency's tier under the current ISP: none if it has not signed that version, has
    withdrawn, or the ISP has passed its review date (every signature lapses then)."""
    on = on or timezone.localdate()
    isp = isp_current(partnership=agency.partnership)
    if isp is None or isp.review_due < on:
        return IspTier.NONE
    signature = (
        Signature.objects.filter(isp=isp, agency=agency, signed_on__lte=on)
        .exclude(withdrawn_on__lte=on)
        .first()
    )
    return signature.tier if signature is not None else IspTier.NONE
