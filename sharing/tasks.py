from celery import shared_task

from sharing import services


@shared_task(name="sharing.run_extract", acks_late=True)
def run_extract(extract_id: str) -> None:
    services.extract_run(extract_id)


@shared_task(name="sharing.expire_extracts")
def expire_extracts() -> None:
    services.extracts_expire()


@shared_task(name="sharing.end_expired_requests")
def end_expired_requests() -> None:
    from sharing.governance import requests_expire

    requests_expire()
