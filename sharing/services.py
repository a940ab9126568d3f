"""Writes to the partnership's Information Sharing Protocol and its signatures."""

from __future__ import annotations

import datetime

from django.db import transaction

from hub.models import Agency, Partnership, User
from hub.services import audit_record
from sharing.models import InformationSharingProtocol, Signature


@transaction.atomic
def isp_ensure(
    *,
    partnership: Partnership,
    version: str,
    adopted_on: datetime.date,
    review_due: datetime.date,
    acting_user: User | None,
    system: str = "",
) -> InformationSharingProtocol:
    if review_due <= adopted_on:
        raise ValueError("An ISP's review date must come after the date it was adopted.")
    isp, created = InformationSharingProtocol.objects.update_or_create(
        partnership=partnership,
        version=version,
        defaults={"adopted_on": adopted_on, "review_due": review_due},
    )
    if created:
        audit_record(
            actor=acting_user,
            action="isp_adopted",
            target=isp,
            detail={"version": version, "review_due": review_due.isoformat()},
            system=system,
        )
    return isp


@transaction.atomic
def signature_record(
    *,
    isp: InformationSharingProtocol,
    agency: Agency,
    tier: str,
    signed_on: datetime.date,
    signatory_name: str,
    acting_user: User | None,
    system: str = "",
) -> Signature:
    """Record (or correct) an agency's signature of an ISP version in a tier."""
    if agency.partnership_id != isp.partnership_id:
        raise ValueError(f"{agency} is not a partner of {isp.partnership}.")
    signature, created = Signature.objects.update_or_create(
        isp=isp,
        agency=agency,
        defaults={"tier": tier, "signed_on": signed_on, "signatory_name": signatory_name},
    )
    audit_record(
        actor=acting_user,
        action="isp_signed" if created else "isp_signature_changed",
        agency=agency,
        target=signature,
        detail={"version": isp.version, "tier": tier, "signatory": signatory_name},
        system=system,
    )
    return signature


@transaction.atomic
def signature_withdraw(
    *, signature: Signature, withdrawn_on: datetime.date, acting_user: User | None, system=""
) -> Signature:
    """The agency leaves the ISP: from that date its users get nothing."""
    signature.withdrawn_on = withdrawn_on
    signature.save(update_fields=["withdrawn_on"])
    audit_record(
        actor=acting_user,
        action="isp_signature_withdrawn",
        agency=signature.agency,
        target=signature,
        detail={"version": signature.isp.version, "withdrawn_on": withdrawn_on.isoformat()},
        system=system,
    )
    return signature
