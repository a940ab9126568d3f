from celery import shared_task

from datasets.pipeline import stages
from datasets.services.retention import (
    identifying_purge,
    orphan_uploads_purge,
    raw_files_purge,
    records_purge,
    withdrawn_records_purge,
)
from datasets.services.schedule import supply_reminders_send
from datasets.services.supplies import supplies_reap, supply_enqueue


# No result is kept: sending a task that keeps one waits on the result store, and with Redis
# down that wait would outlast the upload request instead of failing fast.
@shared_task(name="datasets.run_supply_stage", acks_late=True, ignore_result=True)
def run_supply_stage(supply_id: str, stage: str) -> None:
    following = stages.run_stage(supply_id, stage)
    if following:
        supply_enqueue(supply_id=supply_id, stage=following)


@shared_task(name="datasets.reap_supplies")
def reap_supplies() -> None:
    supplies_reap()


@shared_task(name="datasets.purge_expired_files")
def purge_expired_files() -> None:
    raw_files_purge()
    orphan_uploads_purge()


@shared_task(name="datasets.remind_late_supplies", acks_late=True)
def remind_late_supplies() -> None:
    supply_reminders_send()


@shared_task(name="datasets.purge_expired_records")
def purge_expired_records() -> None:
    records_purge()
    # Any withdrawn supply whose deletion task was lost.
    withdrawn_records_purge()


@shared_task(name="datasets.delete_withdrawn_records", acks_late=True, ignore_result=True)
def delete_withdrawn_records() -> None:
    withdrawn_records_purge()


@shared_task(name="datasets.purge_expired_identifying")
def purge_expired_identifying() -> None:
    identifying_purge()
