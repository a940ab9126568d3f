"""The FOI response deadline: the twentieth working day after receipt (FOIA s.10), shown on
the pages, and the co-ordinator reminded five working days before it and on the day, once
each."""

from __future__ import annotations

import datetime
from smtplib import SMTPException

import pytest
from django.core import mail
from django.utils import timezone

from hub.models import Agency, AuditEntry
from hub.workdays import is_working_day, working_day_after, working_days_between
from sharing.choices import FoiStatus
from sharing.models import FoiRequest
from sharing.services import foi as foi_services
from sharing.services.foi import foi_deadline_reminders_send, foi_record
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def received(personas, on: datetime.date, reference="FOI-2026-0200") -> FoiRequest:
    foi = foi_record(
        acting_user=personas["coordinator"],
        reference=reference,
        received_on=min(on, timezone.localdate()),
        requester="A journalist",
        request_text="Burglaries per postcode district, 2025.",
        originating_agency=Agency.objects.get(name="Greater Manchester Police (Wigan)"),
    )
    # Recorded as of ``on``, whatever today is.
    FoiRequest.objects.filter(pk=foi.pk).update(received_on=on)
    mail.outbox.clear()
    return FoiRequest.objects.get(pk=foi.pk)


# -- the deadline -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receipt", "deadline"),
    [
        # Friday: the Monday after is day 1; four whole weeks.
        (D(2026, 10, 2), D(2026, 10, 30)),
        # Received on a Saturday: the same deadline.
        (D(2026, 10, 3), D(2026, 10, 30)),
        # Christmas Day (Friday), Boxing Day (Saturday) with its substitute Monday 28th, New
        # Year's Day, and Scotland's 2 January, a Saturday, whose substitute is Monday 4th.
        (D(2026, 12, 18), D(2027, 1, 21)),
        # Northern Ireland's Battle of the Boyne (12 July, a Sunday: Monday 13th instead).
        (D(2026, 7, 1), D(2026, 7, 30)),
        # St Patrick's Day, Good Friday and Easter Monday.
        (D(2027, 3, 1), D(2027, 4, 1)),
    ],
)
def test_the_deadline_is_the_twentieth_working_day_after_receipt(receipt, deadline):
    assert working_day_after(receipt, 20) == deadline
    assert working_days_between(receipt, deadline) == 20


def test_bank_holidays_of_any_part_of_the_uk_are_not_working_days():
    # FOIA s.10(6): "a bank holiday ... in any part of the United Kingdom".
    for day in (D(2026, 12, 25), D(2026, 12, 28), D(2027, 1, 1), D(2027, 1, 4), D(2027, 3, 17)):
        assert not is_working_day(day), day
    assert not is_working_day(D(2026, 12, 19))  # a Saturday
    assert is_working_day(D(2026, 12, 29)) and is_working_day(D(2027, 1, 5))


def test_a_request_knows_how_it_stands_against_its_deadline(personas):
    foi = received(personas, D(2026, 12, 18))

    assert foi.deadline == D(2027, 1, 21)
    assert foi.deadline_note(D(2027, 1, 14)) == "5 working days left"
    assert foi.deadline_note(D(2027, 1, 20)) == "1 working day left"
    assert foi.deadline_note(D(2027, 1, 21)) == "due today"
    assert foi.deadline_note(D(2027, 1, 23)) == "overdue by 1 working day"  # Saturday
    assert foi.deadline_note(D(2027, 1, 25)) == "overdue by 2 working days"
    friday = received(personas, D(2026, 10, 2), reference="FOI-FRIDAY")
    assert friday.deadline == D(2026, 10, 30)
    assert friday.deadline_note(D(2026, 10, 31)) == "overdue"  # no working day lost yet
    foi.status, foi.released_on = FoiStatus.RELEASED, D(2027, 1, 21)
    assert foi.deadline_note() == "released in time"
    foi.released_on = D(2027, 1, 22)
    assert foi.deadline_note() == "released 1 working day late"
    foi.status = FoiStatus.WITHDRAWN
    assert foi.deadline_note() == ""


def test_the_pages_show_the_deadline_and_the_working_days_left(client, personas):
    today = timezone.localdate()
    soon = received(personas, today - datetime.timedelta(days=3), reference="FOI-SOON")
    late = received(personas, today - datetime.timedelta(days=60), reference="FOI-LATE")
    left = working_days_between(today, soon.deadline)
    overdue = working_days_between(late.deadline, today)

    for persona in ("coordinator", "dlo_police"):
        sign_in(client, personas[persona])
        listing = client.get("/foi/").content.decode()
        assert f"{soon.deadline:%d/%m/%Y}" in listing
        assert f"({left} working days left)" in listing
        assert f"{late.deadline:%d/%m/%Y}" in listing
        assert f"(overdue by {overdue} working days)" in listing
        page = client.get(f"/foi/{soon.pk}/").content.decode()
        assert f"{soon.deadline:%d/%m/%Y} ({left} working days left)" in page


# -- the reminders ----------------------------------------------------------------------------


def reminders() -> list[tuple[str, str]]:
    entries = AuditEntry.objects.filter(action="foi_deadline_reminder").order_by("id")
    return [(entry.detail["stage"], entry.actor_username) for entry in entries]


def test_the_coordinator_is_reminded_five_working_days_before_and_on_the_day_once_each(
    client, personas
):
    foi = received(personas, D(2026, 12, 18))  # due 21/01/2027

    assert foi_deadline_reminders_send(today=D(2027, 1, 13)) == 0  # 6 working days left
    assert foi_deadline_reminders_send(today=D(2027, 1, 14)) == 1
    assert foi_deadline_reminders_send(today=D(2027, 1, 14)) == 0
    assert foi_deadline_reminders_send(today=D(2027, 1, 18)) == 0
    (soon,) = mail.outbox
    assert soon.to == ["coordinator@demo.invalid"]
    assert soon.subject == "FOI FOI-2026-0200: response due 21/01/2027 (5 working days left)"
    assert f"/foi/{foi.pk}/" in soon.body and "Burglaries" not in soon.body

    assert foi_deadline_reminders_send(today=D(2027, 1, 21)) == 1
    assert foi_deadline_reminders_send(today=D(2027, 1, 21)) == 0
    assert foi_deadline_reminders_send(today=D(2027, 1, 28)) == 0
    assert len(mail.outbox) == 2 and "(due today)" in mail.outbox[1].subject
    assert reminders() == [("due_soon", "system:foi"), ("due", "system:foi")]
    entry = AuditEntry.objects.filter(action="foi_deadline_reminder").first()
    assert entry.detail["to"] == ["coordinator"] and entry.detail["deadline"] == "2027-01-21"

    sign_in(client, personas["coordinator"])
    page = client.get(f"/foi/{foi.pk}/").content.decode()
    assert "The co-ordinator reminded of the deadline" in page


def test_a_request_first_seen_past_its_deadline_gets_the_last_reminder_only(personas):
    received(personas, D(2026, 12, 18))

    assert foi_deadline_reminders_send(today=D(2027, 1, 25)) == 1
    assert foi_deadline_reminders_send(today=D(2027, 1, 26)) == 0
    assert reminders() == [("due", "system:foi")]
    assert "(overdue by 2 working days)" in mail.outbox[0].subject


def test_closed_requests_are_not_reminded(personas):
    released = received(personas, D(2026, 12, 18), reference="FOI-RELEASED")
    withdrawn = received(personas, D(2026, 12, 18), reference="FOI-WITHDRAWN")
    FoiRequest.objects.filter(pk=released.pk).update(
        status=FoiStatus.RELEASED, released_on=D(2027, 1, 5)
    )
    FoiRequest.objects.filter(pk=withdrawn.pk).update(status=FoiStatus.WITHDRAWN)

    assert foi_deadline_reminders_send(today=D(2027, 1, 21)) == 0
    assert not mail.outbox and not reminders()


def test_a_reminder_that_could_not_be_sent_is_tried_again(personas, monkeypatch):
    received(personas, D(2026, 12, 18))

    def refuse(**kwargs):
        raise SMTPException("mail server down")

    monkeypatch.setattr(foi_services, "send_mail", refuse)
    assert foi_deadline_reminders_send(today=D(2027, 1, 14)) == 0
    assert not reminders()
    monkeypatch.undo()
    assert foi_deadline_reminders_send(today=D(2027, 1, 15)) == 1
    assert reminders() == [("due_soon", "system:foi")]


def test_the_reminders_run_daily_on_the_beat():
    from django.conf import settings

    from sharing.tasks import remind_foi_deadlines

    (entry,) = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "sharing.remind_foi_deadlines"
    ]
    assert entry["schedule"] == 86400.0
    assert remind_foi_deadlines.name == "sharing.remind_foi_deadlines"
