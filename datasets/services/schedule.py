"""Writes to supply schedules, and the reminders sent when a scheduled supply is overdue."""

from __future__ import annotations

import datetime
import logging
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from datasets.choices import ScheduleStatus, SupplyFrequency
from datasets.models import LAST_DUE_DAY, Dataset, SupplySchedule
from datasets.selectors import ScheduleRow, schedule_status
from hub.access import (
    agency_standing,
    coordinator_check,
    partnership_coordinators,
    role_holders,
)
from hub.choices import IspTier, Role
from hub.models import Agency, Partnership, User
from hub.services import audit_record

logger = logging.getLogger(__name__)


class ScheduleInvalid(ValueError):
    """The schedule cannot be set as asked; the message says why."""


class ScheduleRefused(Exception):
    """The acting user may not set this agency's schedule; the message says why."""


def schedule_set(
    *,
    agency: Agency,
    dataset: Dataset,
    frequency: str,
    due_day: int,
    acting_user: User | None,
    ip_address: str | None = None,
    system: str = "",
) -> SupplySchedule:
    """Expect ``agency`` to supply ``dataset`` every month or quarter by ``due_day`` of the
    month after the period; audited when anything changed. Raises ScheduleInvalid for a
    frequency or day out of range, or a dataset the agency's type does not supply, and
    ScheduleRefused (audited) for anyone but the co-ordinator of the agency's partnership."""
    coordinator_check(
        acting_user=acting_user, partnership=agency.partnership, service="schedule_set",
        act="set its supply schedules", refusal=ScheduleRefused, agency=agency, system=system,
    )  # fmt: skip
    if frequency not in SupplyFrequency.values:
        raise ScheduleInvalid(f"Choose a frequency from {', '.join(SupplyFrequency.values)}.")
    if not 1 <= due_day <= LAST_DUE_DAY:
        raise ScheduleInvalid(f"The due day must be from 1 to {LAST_DUE_DAY}.")
    if agency.agency_type not in dataset.supplier_types:
        raise ScheduleInvalid(f"{agency} does not supply {dataset.name}.")
    with transaction.atomic():
        return _schedule_write(
            agency=agency, dataset=dataset, frequency=frequency, due_day=due_day,
            acting_user=acting_user, ip_address=ip_address, system=system,
        )  # fmt: skip


def _schedule_write(
    *, agency, dataset, frequency, due_day, acting_user, ip_address, system
) -> SupplySchedule:
    schedule, created = SupplySchedule.objects.select_for_update().get_or_create(
        agency=agency, dataset=dataset, defaults={"frequency": frequency, "due_day": due_day}
    )
    if not created and (schedule.frequency, schedule.due_day) == (frequency, due_day):
        return schedule
    previous = {} if created else {"frequency": schedule.frequency, "due_day": schedule.due_day}
    schedule.frequency, schedule.due_day = frequency, due_day
    schedule.save(update_fields=["frequency", "due_day", "updated_at"])
    audit_record(
        actor=acting_user,
        action="supply_schedule_set",
        agency=agency,
        dataset_slug=dataset.slug,
        target=schedule,
        detail={"frequency": frequency, "due_day": due_day, "previous": previous},
        ip_address=ip_address,
        system=system,
    )
    return schedule


def supply_reminders_send(*, today: datetime.date | None = None) -> int:
    """E-mail an agency's suppliers, once per period, about each scheduled supply now missing
    (past its due date); returns how many reminders went. Safe to run twice.

    Agencies outside the ISP are not reminded (they cannot supply until they sign). An agency
    with no supplier to remind has its DLO and the partnership's co-ordinators reminded
    instead, so that someone arranges the supply.
    """
    today = today or timezone.localdate()
    sent = 0
    scheduled = Partnership.objects.filter(agencies__supply_schedules__isnull=False).distinct()
    for partnership in scheduled:
        standing = {}
        for row in schedule_status(partnership=partnership, today=today):
            if row.status != ScheduleStatus.MISSING or row.reminded:
                continue
            agency = row.schedule.agency
            if agency.pk not in standing:
                standing[agency.pk] = agency_standing(agency=agency, on=today).tier
            if standing[agency.pk] == IspTier.NONE:
                continue
            try:
                sent += _supply_reminder_send(row=row)
            except (SMTPException, OSError):
                # This reminder stays unclaimed for the next run; the others still go.
                logger.exception("Could not send the reminder for schedule %s", row.schedule.pk)
    return sent


@transaction.atomic
def _supply_reminder_send(*, row: ScheduleRow) -> int:
    """Claim the period's reminder and send it; 0 if nobody can be told or another run did."""
    schedule = row.schedule
    suppliers = list(
        role_holders(agency=schedule.agency, role=Role.SUPPLIER)
        .exclude(email="")
        .order_by("username")
    )
    # With no supplier to tell, those who can arrange one: the agency's DLO, the co-ordinators.
    arrangers = (
        []
        if suppliers
        else list(
            (
                role_holders(agency=schedule.agency, role=Role.DLO)
                | partnership_coordinators(partnership=schedule.agency.partnership)
            )
            .exclude(email="")
            .distinct()
            .order_by("username")
        )
    )
    recipients = suppliers or arrangers
    if not recipients:
        logger.warning("Nobody with an e-mail address to remind of %s's supply", schedule.agency)
        return 0
    claimed = (
        SupplySchedule.objects.filter(pk=schedule.pk)
        .filter(Q(last_reminded_period__isnull=True) | Q(last_reminded_period__lt=row.period_start))
        .update(last_reminded_period=row.period_start)
    )
    if not claimed:
        return 0
    audit_record(
        actor=None,
        action="supply_reminder_sent",
        agency=schedule.agency,
        dataset_slug=schedule.dataset.slug,
        target=schedule,
        detail={
            "period": [row.period_start.isoformat(), row.period_end.isoformat()],
            "due": row.due_date.isoformat(),
            "to": [user.get_username() for user in recipients],
            "no_supplier": not suppliers,
        },
        system="schedule",
    )
    url = settings.HUB_SITE_URL + reverse("supply-new")
    # Sent inside the claim's transaction: if sending fails, the claim is undone and the next
    # run tries again.
    overdue = (
        f"{schedule.agency}'s supply of {schedule.dataset.name} for "
        f"{row.period_start:%d/%m/%Y} to {row.period_end:%d/%m/%Y} was due on "
        f"{row.due_date:%d/%m/%Y} and has not arrived.\n\n"
    )
    action = (
        f"Please supply it at {url}\n\nIf it cannot be supplied, tell the partnership's "
        "co-ordinator why."
        if suppliers
        else f"{schedule.agency} has no supplier in the hub to send it. Please arrange for "
        "someone at the agency to be given the supplier role, or for the file to be sent."
    )
    send_mail(
        subject=f"Reminder: {schedule.dataset.name} for {row.period_start:%B %Y} is overdue",
        message=overdue + action,
        from_email=None,
        recipient_list=[user.email for user in recipients],
    )
    return 1
