"""Writes to the partnership's Information Sharing Protocol and its agencies' signatures."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from hub.access import coordinator_check
from hub.choices import SignatureTier
from hub.models import Agency, InformationSharingProtocol, Partnership, Signature, User
from hub.services import audit_record, tokens_revoke


class GovernanceRefused(Exception):
    """The action is not allowed; the message says why."""


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
    """Record (or correct) an agency's signature of an ISP version in a tier; for the
    partnership's co-ordinator (GovernanceRefused, audited, for anyone else). A correction
    that lowers the agency's standing revokes its users' API tokens."""
    coordinator_check(
        acting_user=acting_user, partnership=isp.partnership, service="signature_record",
        act="record its agencies' ISP signatures", refusal=GovernanceRefused, agency=agency,
        system=system,
    )  # fmt: skip
    if agency.partnership_id != isp.partnership_id:
        raise ValueError(f"{agency} is not a partner of {isp.partnership}.")
    with transaction.atomic():
        previous = Signature.objects.filter(isp=isp, agency=agency).first()
        signature, created = Signature.objects.update_or_create(
            isp=isp,
            agency=agency,
            defaults={
                "tier": tier,
                "signed_on": signed_on,
                "signatory_name": signatory_name,
                "withdrawn_on": None,
            },  # signing again ends a withdrawal
        )
        audit_record(
            actor=acting_user,
            action="isp_signed" if created else "isp_signature_changed",
            agency=agency,
            target=signature,
            detail={"version": isp.version, "tier": tier, "signatory": signatory_name},
            system=system,
        )
        if previous is not None and _signature_lowered(previous, tier=tier, signed_on=signed_on):
            tokens_revoke(
                users=User.objects.filter(memberships__agency=agency).distinct(),
                reason=f"{agency}'s ISP signature lowered", acting_user=acting_user,
                system=system,
            )  # fmt: skip
    return signature


def _signature_lowered(previous: Signature, *, tier: str, signed_on: datetime.date) -> bool:
    # Core gives more than associate; a signature dated after today gives nothing until then.
    today = timezone.localdate()
    return (previous.tier == SignatureTier.CORE and tier != SignatureTier.CORE) or (
        previous.signed_on <= today < signed_on
    )


def signature_withdraw(
    *, signature: Signature, withdrawn_on: datetime.date, acting_user: User | None, system=""
) -> Signature:
    """The agency leaves the ISP: from that date its users get nothing, and their API tokens
    are revoked now. For the partnership's co-ordinator (GovernanceRefused, audited, for
    anyone else)."""
    coordinator_check(
        acting_user=acting_user, partnership=signature.isp.partnership,
        service="signature_withdraw", act="record its agencies' withdrawals from the ISP",
        refusal=GovernanceRefused, agency=signature.agency, system=system,
    )  # fmt: skip
    with transaction.atomic():
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
        tokens_revoke(
            users=User.objects.filter(memberships__agency=signature.agency).distinct(),
            reason=f"{signature.agency} withdrew from the ISP", acting_user=acting_user,
            system=system,
        )  # fmt: skip
    return signature
