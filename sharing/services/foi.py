"""FOI consultation: the agency that supplied the information is asked before the
partnership releases anything (§2.4.2.4)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from datasets.models import Dataset
from hub.access import coordinated_partnership, partnership_coordinators, role_holders
from hub.choices import Role
from hub.models import Agency, User
from hub.services import audit_record
from sharing.choices import (
    FoiAnswer,
    FoiStatus,
)
from sharing.models import (
    FoiRequest,
)
from sharing.selectors import (
    foi_history,
    foi_may_answer,
)

logger = logging.getLogger(__name__)


class FoiRefused(Exception):
    """The FOI step is not allowed now; the message says why, to the user."""


def _foi_mail(*, foi: FoiRequest, subject: str, message: str, recipients: list[str]) -> None:
    """Send after the commit, so nobody is told of a step that did not happen. The e-mail
    names the request and links to it; the details stay in the hub."""
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject=subject, message=message, from_email=None, recipient_list=recipients)
        except Exception as error:  # noqa: BLE001 - any mail failure is recorded, not raised
            logger.exception("FOI %s: e-mail failed", foi.reference)
            audit_record(
                actor=None,
                action="foi_mail_failed",
                agency=foi.originating_agency,
                target=foi,
                detail={"subject": subject, "error": str(error)[:500]},
                system="mail",
            )

    transaction.on_commit(send)


def _foi_url(foi: FoiRequest) -> str:
    return settings.HUB_SITE_URL + reverse("foi-detail", args=[foi.pk])


@transaction.atomic
def foi_record(
    *,
    acting_user: User,
    reference: str,
    received_on: datetime.date,
    requester: str,
    request_text: str,
    originating_agency: Agency,
    datasets: Iterable[Dataset] = (),
    ip_address: str | None = None,
) -> FoiRequest:
    """Record an FOI request that touches information the originating agency supplied, and
    e-mail that agency's DLOs to consult them before anything is released (§2.4.2.4). Only
    the partnership's co-ordinator records one (FoiRefused otherwise). Audited, naming whom
    it notified."""
    partnership = coordinated_partnership(user=acting_user)
    if partnership is None or originating_agency.partnership_id != partnership.pk:
        raise FoiRefused("Only the partnership's co-ordinator records FOI requests.")
    if received_on > timezone.localdate():
        raise FoiRefused("The request cannot have been received in the future.")
    if FoiRequest.objects.filter(partnership=partnership, reference=reference).exists():
        raise FoiRefused(f"An FOI request with reference {reference} is already recorded.")
    datasets = list(datasets)
    foi = FoiRequest.objects.create(
        partnership=partnership,
        reference=reference,
        received_on=received_on,
        requester=requester,
        request_text=request_text,
        originating_agency=originating_agency,
        recorded_by=acting_user,
    )
    foi.datasets.set(datasets)
    dlos = list(role_holders(agency=originating_agency, role=Role.DLO))
    recipients = [dlo.email for dlo in dlos if dlo.email]
    audit_record(
        actor=acting_user,
        action="foi_recorded",
        agency=originating_agency,
        target=foi,
        detail={
            "reference": reference,
            "datasets": [dataset.slug for dataset in datasets],
            "notified": [dlo.get_username() for dlo in dlos if dlo.email],
        },
        ip_address=ip_address,
    )
    _foi_mail(
        foi=foi,
        subject=f"FOI consultation {reference}: your answer is needed",
        message=(
            f"A Freedom of Information request (reference {reference}, received "
            f"{received_on:%d/%m/%Y}) touches information {originating_agency} supplied to the "
            "partnership. Under the Information Sharing Protocol nothing is released until "
            "you have been consulted.\n\n"
            f"Read the request and give your answer at {_foi_url(foi)}"
        ),
        recipients=recipients,
    )
    return foi


def _foi_refused(*, acting_user: User, foi: FoiRequest, step: str, reason: str, ip_address):
    """Record a refused step after its transaction has rolled back, so the record stays."""
    audit_record(
        actor=acting_user,
        action=f"foi_{step}_refused",
        agency=foi.originating_agency,
        target=foi,
        detail={"reference": foi.reference, "reason": reason},
        ip_address=ip_address,
    )


def foi_answer(
    *,
    acting_user: User,
    foi: FoiRequest,
    answer: str,
    reasons: str,
    ip_address: str | None = None,
) -> FoiRequest:
    """The originating agency's DLO agrees, agrees with redactions, or objects, with reasons
    (required unless they simply agree). They may change their answer until release. The
    co-ordinator who recorded the request is e-mailed. Audited; a refusal (FoiRefused) too."""
    try:
        with transaction.atomic():
            locked = FoiRequest.objects.select_for_update(of=("self",))
            foi = locked.select_related("recorded_by").get(pk=foi.pk)
            if not foi_may_answer(user=acting_user, foi=foi):
                raise FoiRefused("Only a DLO of the originating agency answers this consultation.")
            if foi.status not in (FoiStatus.CONSULTING, FoiStatus.ANSWERED):
                status = foi.get_status_display().lower()
                raise FoiRefused(f"The request is {status}; it takes no answer now.")
            if answer not in FoiAnswer.values:
                raise FoiRefused("Choose agree, agree with redactions, or object.")
            reasons = reasons.strip()
            if answer != FoiAnswer.AGREE and not reasons:
                raise FoiRefused("Say which redactions are needed, or why you object.")
            previous = foi.answer
            foi.answer, foi.answer_reasons = answer, reasons
            foi.answered_by, foi.answered_at = acting_user, timezone.now()
            foi.status = FoiStatus.ANSWERED
            foi.save(
                update_fields=["answer", "answer_reasons", "answered_by", "answered_at", "status"]
            )
            audit_record(
                actor=acting_user,
                action="foi_answered",
                agency=foi.originating_agency,
                target=foi,
                detail={"reference": foi.reference, "answer": answer, "previous": previous},
                ip_address=ip_address,
            )
            recorder = foi.recorded_by
            _foi_mail(
                foi=foi,
                subject=f"FOI consultation {foi.reference}: {foi.originating_agency} has answered",
                message=(
                    f"{foi.originating_agency} answered: {FoiAnswer(answer).label.lower()}.\n\n"
                    f"Read their answer at {_foi_url(foi)}"
                ),
                recipients=[recorder.email] if recorder.is_active and recorder.email else [],
            )
            return foi
    except FoiRefused as refusal:
        _foi_refused(
            acting_user=acting_user, foi=foi, step="answer", reason=str(refusal),
            ip_address=ip_address,
        )  # fmt: skip
        raise


def foi_release(
    *,
    acting_user: User,
    foi: FoiRequest,
    released_on: datetime.date,
    objection_acknowledged: bool = False,
    objection_reason: str = "",
    ip_address: str | None = None,
) -> FoiRequest:
    """Record that the partnership released its response. Only the co-ordinator, and only
    once the originating agency has answered; releasing over an objection needs the
    co-ordinator to acknowledge it and say why. Audited; a refusal (FoiRefused) too."""
    try:
        with transaction.atomic():
            # Locked, so an answer changed to an objection meanwhile is what gets checked.
            foi = FoiRequest.objects.select_for_update().get(pk=foi.pk)
            if coordinated_partnership(user=acting_user) != foi.partnership:
                raise FoiRefused("Only the partnership's co-ordinator releases FOI responses.")
            if foi.status == FoiStatus.CONSULTING:
                raise FoiRefused(
                    f"{foi.originating_agency} has not answered yet: nothing is released before "
                    "the agency the information came from has been consulted (§2.4.2.4)."
                )
            if foi.status != FoiStatus.ANSWERED:
                raise FoiRefused(f"The request is already {foi.get_status_display().lower()}.")
            objected = foi.answer == FoiAnswer.OBJECT
            objection_reason = objection_reason.strip()
            if objected and not (objection_acknowledged and objection_reason):
                raise FoiRefused(
                    f"{foi.originating_agency} objected. To release anyway, tick that you "
                    "acknowledge the objection and say why the partnership releases regardless."
                )
            if released_on > timezone.localdate() or released_on < foi.received_on:
                raise FoiRefused("The release date must fall between receipt and today.")
            foi.status, foi.released_on, foi.released_by = (
                FoiStatus.RELEASED, released_on, acting_user,
            )  # fmt: skip
            foi.release_over_objection_reason = objection_reason if objected else ""
            foi.save(
                update_fields=[
                    "status", "released_on", "released_by", "release_over_objection_reason",
                ]
            )  # fmt: skip
            audit_record(
                actor=acting_user,
                action="foi_released",
                agency=foi.originating_agency,
                target=foi,
                detail={
                    "reference": foi.reference,
                    "answer": foi.answer,
                    "released_on": released_on.isoformat(),
                    "over_objection": objected,
                    "objection_reason": foi.release_over_objection_reason,
                },
                ip_address=ip_address,
            )
            return foi
    except FoiRefused as refusal:
        _foi_refused(
            acting_user=acting_user, foi=foi, step="release", reason=str(refusal),
            ip_address=ip_address,
        )  # fmt: skip
        raise


def foi_withdraw(
    *, acting_user: User, foi: FoiRequest, ip_address: str | None = None
) -> FoiRequest:
    """The requester withdrew (or the request lapsed) before release: the co-ordinator closes
    the consultation. Audited; FoiRefused once released or for anyone else."""
    with transaction.atomic():
        foi = FoiRequest.objects.select_for_update().get(pk=foi.pk)
        if coordinated_partnership(user=acting_user) != foi.partnership:
            raise FoiRefused("Only the partnership's co-ordinator withdraws FOI requests.")
        if foi.status not in (FoiStatus.CONSULTING, FoiStatus.ANSWERED):
            raise FoiRefused(f"The request is already {foi.get_status_display().lower()}.")
        foi.status, foi.withdrawn_at = FoiStatus.WITHDRAWN, timezone.now()
        foi.save(update_fields=["status", "withdrawn_at"])
        audit_record(
            actor=acting_user,
            action="foi_withdrawn",
            agency=foi.originating_agency,
            target=foi,
            detail={"reference": foi.reference},
            ip_address=ip_address,
        )
        return foi


# Reminders to the co-ordinators of an open request's statutory deadline: this many working
# days before it, and on the day. Each goes once; the later one stands for both.
FOI_REMINDER_WORKING_DAYS = 5
FOI_REMINDER_STAGES = ("due_soon", "due")


def _foi_reminder_stage(foi: FoiRequest, today: datetime.date) -> str | None:
    left = foi.working_days_left(today)
    if left <= 0:
        return "due"
    return "due_soon" if left <= FOI_REMINDER_WORKING_DAYS else None


def foi_deadline_reminders_send(*, today: datetime.date | None = None) -> int:
    """E-mail the partnership's co-ordinators about each open FOI request whose statutory
    deadline is five working days off and again when it falls due (or on the first run after
    either); returns how many reminders went. Each is sent once, audited: safe to run twice.
    A request past both steps when first seen gets the later reminder only."""
    today = today or timezone.localdate()
    sent = 0
    open_requests = FoiRequest.objects.filter(
        status__in=[FoiStatus.CONSULTING, FoiStatus.ANSWERED]
    ).order_by("received_on", "created_at")
    for foi in open_requests:
        stage = _foi_reminder_stage(foi, today)
        if stage is None:
            continue
        try:
            sent += _foi_reminder_send(foi_id=foi.pk, stage=stage, today=today)
        except (SMTPException, OSError):
            # Not recorded as sent, so the next run tries again; the others still go.
            logger.exception("Could not send the deadline reminder for FOI %s", foi.reference)
    return sent


@transaction.atomic
def _foi_reminder_send(*, foi_id, stage: str, today: datetime.date) -> int:
    """Send the request's reminder for ``stage`` unless it (or a later one) went already;
    1 if it went. The row lock makes a second run wait, then find the audit entry."""
    foi = (
        FoiRequest.objects.select_for_update(of=("self",))
        .select_related("partnership", "originating_agency")
        .get(pk=foi_id)
    )
    if not foi.is_open or _foi_reminder_stage(foi, today) != stage:
        return 0
    later = FOI_REMINDER_STAGES[FOI_REMINDER_STAGES.index(stage) :]
    reminded = foi_history(foi=foi).filter(action="foi_deadline_reminder")
    if reminded.filter(detail__stage__in=later).exists():
        return 0
    coordinators = list(
        partnership_coordinators(partnership=foi.partnership).exclude(email="").order_by("username")
    )
    if not coordinators:
        logger.warning("No co-ordinator with an e-mail address to remind of FOI %s", foi.reference)
        return 0
    note = foi.deadline_note(today)
    # Sent before it is recorded, inside the lock: a failure to send records nothing, and the
    # next run tries again; the audit trail is not held up while the mail server answers.
    send_mail(
        subject=f"FOI {foi.reference}: response due {foi.deadline:%d/%m/%Y} ({note})",
        message=(
            f"The response to FOI request {foi.reference} (received {foi.received_on:%d/%m/%Y}) "
            f"is due by {foi.deadline:%d/%m/%Y}, the twentieth working day after receipt "
            f"(Freedom of Information Act 2000, s.10): {note}. The consultation of "
            f"{foi.originating_agency} stands at: {foi.get_status_display().lower()}.\n\n"
            f"See the request at {_foi_url(foi)}"
        ),
        from_email=None,
        recipient_list=[user.email for user in coordinators],
    )
    audit_record(
        actor=None,
        action="foi_deadline_reminder",
        agency=foi.originating_agency,
        target=foi,
        detail={
            "reference": foi.reference,
            "stage": stage,
            "deadline": foi.deadline.isoformat(),
            "to": [user.get_username() for user in coordinators],
        },
        system="foi",
    )
    return 1
