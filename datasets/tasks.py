from celery import shared_task

from datasets import services
from datasets.pipeline import stages


# No result is kept: sending a task that keeps one waits on the result store, and with Redis
# down that wait would outlast the upload request instead of failing fast.
@shared_task(name="datasets.run_supply_stage", acks_late=True, ignore_result=True)
def run_supply_stage(supply_id: str, stage: str) -> None:
    following = stages.run_stage(supply_id, stage)
    if following:
        services.supply_enqueue(supply_id=supply_id, stage=following)


@shared_task(name="datasets.reap_supplies")
def reap_supplies() -> None:
    services.supplies_reap()


@shared_task(name="datasets.purge_expired_files")
def purge_expired_files() -> None:
    services.raw_files_purge()
    services.orphan_uploads_purge()


@shared_task(name="datasets.remind_late_supplies", acks_late=True)
def remind_late_supplies() -> None:
    services.supply_reminders_send()


@shared_task(name="datasets.purge_expired_records")
def purge_expired_records() -> None:
    services.records_purge()


@shared_task(name="datasets.purge_expired_identifying")
def purge_expired_identifying() -> None:
    services.identifying_purge()
