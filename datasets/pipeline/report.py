"""The report stage: the supply's summary completed, and the supplier told by e-mail that it
has been processed."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from datasets.pipeline.stages import Claim, advance


def report(claim: Claim) -> None:
    from django.core.mail import send_mail
    from django.urls import reverse

    supply = claim.supply
    summary = {
        **supply.report,
        "currency_days": (timezone.localdate(supply.created_at) - supply.period_end).days,
        "received": supply.record_count,
        "accepted": supply.accepted_count,
        "rejected": supply.rejected_count,
    }
    advance(claim, report=summary)
    if supply.uploaded_by.email:
        url = settings.HUB_SITE_URL + reverse("supply-detail", args=[supply.pk])
        send_mail(
            subject=f"Supply of {supply.dataset.name} processed",
            message=(
                f"Your supply of {supply.dataset.name} for {supply.period_start:%d/%m/%Y} to "
                f"{supply.period_end:%d/%m/%Y} has been processed: {supply.accepted_count} "
                f"records accepted, {supply.rejected_count} rejected.\n\n"
                f"Read the report at {url}"
            ),
            from_email=None,
            recipient_list=[supply.uploaded_by.email],
            fail_silently=True,
        )
