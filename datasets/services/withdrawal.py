"""Withdrawing a supply: its agency takes it back, its records leave every count at once and
are deleted by the worker, and the supply it had replaced counts again."""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from datasets.access import SupplyRefused, supply_owner_check
from datasets.choices import SupplyStatus
from datasets.models import Supply
from hub.access import partnership_coordinators
from hub.models import User
from hub.services import audit_record

logger = logging.getLogger(__name__)


def supply_withdraw(
    *, supply: Supply, acting_user: User, reason: str, ip_address: str | None = None
) -> Supply:
    """Take back a supply whose records count: they leave every count, map and later extract
    at once, and the worker deletes them; the supply it superseded, if any, counts again.
    Audited, and the partnership's co-ordinators are told by e-mail.

    For a supplier or the DLO of the supply's agency (SupplyRefused, audited, for anyone
    else); SupplyRefused too with no reason given, or for a supply whose records do not count.
    """
    supply_owner_check(
        user=acting_user, supply=supply, act="withdraw its supplies", route="supply_withdraw"
    )
    reason = reason.strip()
    if not reason:
        raise SupplyRefused(
            "Say why the supply is withdrawn: the reason is kept with it and sent to the "
            "co-ordinator."
        )
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The load's lock: no load supersedes or dates records while this one restores.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [supply.agency.partnership_id])
        locked = Supply.objects.select_for_update(of=("self",)).get(pk=supply.pk)
        if locked.status != SupplyStatus.COMPLETED or locked.superseded_by_id:
            raise SupplyRefused(_not_withdrawable(locked))
        restored = list(
            Supply.objects.filter(superseded_by=locked).select_related("agency", "dataset")
        )
        Supply.objects.filter(superseded_by=locked).update(superseded_by=None)
        Supply.objects.filter(pk=locked.pk).update(
            status=SupplyStatus.WITHDRAWN,
            withdrawn_at=now,
            withdrawn_by=acting_user,
            withdrawal_reason=reason,
        )
        for earlier in restored:
            _records_restore(earlier)
        audit_record(
            actor=acting_user,
            action="supply_withdrawn",
            agency=supply.agency,
            dataset_slug=supply.dataset.slug,
            target=supply,
            detail={
                "reason": reason,
                "records": locked.accepted_count or 0,
                "restored": [str(earlier.pk) for earlier in restored],
            },
            ip_address=ip_address,
        )
        transaction.on_commit(partial(_withdrawn_follow_up, supply_id=supply.pk))
    supply.refresh_from_db()
    return supply


def _not_withdrawable(supply: Supply) -> str:
    if supply.superseded_by_id:
        return (
            "A later supply for the same period replaced this one, so its records already "
            "count nowhere; withdraw the later supply to take the period's records back."
        )
    if supply.status == SupplyStatus.WITHDRAWN:
        return "This supply has already been withdrawn."
    if supply.status in (SupplyStatus.REJECTED, SupplyStatus.FAILED):
        return "Nothing of this supply was loaded, so there is nothing to withdraw."
    return "The supply is still being processed; withdraw it once it has completed."


def _records_restore(supply: Supply) -> None:
    """The records of a supply that counts again take their linked dates and counts anew."""
    from datasets.pipeline.load import date_linked_records
    from datasets.summary import counts_load

    with connection.cursor() as cursor:
        date_linked_records(cursor, supply)
    counts_load(supply=supply)


def _withdrawn_follow_up(*, supply_id) -> None:
    """After a withdrawal commits: the worker deletes the records, the co-ordinators hear."""
    from kombu.exceptions import OperationalError

    from datasets.tasks import delete_withdrawn_records

    try:
        delete_withdrawn_records.apply_async(retry=False)
    except OperationalError:
        # The records count nowhere already; the hourly retention run deletes them.
        logger.warning("Broker unavailable; withdrawn supply %s waits for retention", supply_id)
    supply = Supply.objects.select_related("agency__partnership", "dataset", "withdrawn_by").get(
        pk=supply_id
    )
    recipients = list(
        partnership_coordinators(partnership=supply.agency.partnership)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return
    url = settings.HUB_SITE_URL + reverse("supply-detail", args=[supply.pk])
    send_mail(
        subject=f"{supply.agency} withdrew a supply of {supply.dataset.name}",
        message=(
            f"{supply.withdrawn_by.get_full_name() or supply.withdrawn_by.get_username()} of "
            f"{supply.agency} withdrew its supply of {supply.dataset.name} for "
            f"{supply.period_start:%d/%m/%Y} to {supply.period_end:%d/%m/%Y} "
            f"({supply.accepted_count or 0:,} records).\n\n"
            f"Reason given: {supply.withdrawal_reason}\n\n"
            "Its records no longer count in any count, map or new extract; extracts made "
            "before the withdrawal may still hold them.\n\n"
            f"The supply: {url}"
        ),
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )
