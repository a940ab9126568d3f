from celery import shared_task
from django.db import InterfaceError, OperationalError

from sharing.services.extract_build import ExtractInterrupted, extract_run
from sharing.services.extracts import extracts_expire, extracts_reap


# A dropped database connection (PostgreSQL restarting) is retried after 1, 2 and 4 seconds;
# then the extract fails. No result is kept, so sending never waits on the result store.
@shared_task(
    bind=True, name="sharing.run_extract", acks_late=True, ignore_result=True, max_retries=3
)
def run_extract(self, extract_id: str) -> None:
    try:
        extract_run(extract_id, last_attempt=self.request.retries >= self.max_retries)
    except (ExtractInterrupted, OperationalError, InterfaceError) as error:
        raise self.retry(countdown=2**self.request.retries) from error


@shared_task(name="sharing.expire_extracts")
def expire_extracts() -> None:
    extracts_expire()


@shared_task(name="sharing.reap_extracts")
def reap_extracts() -> None:
    extracts_reap()


@shared_task(name="sharing.end_expired_requests")
def end_expired_requests() -> None:
    from sharing.services.requests import requests_expire

    requests_expire()


@shared_task(name="sharing.remind_foi_deadlines", acks_late=True)
def remind_foi_deadlines() -> None:
    from sharing.services.foi import foi_deadline_reminders_send

    foi_deadline_reminders_send()
