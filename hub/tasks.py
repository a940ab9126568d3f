from celery import shared_task

from hub import audit


@shared_task(name="hub.probe", ignore_result=False, acks_late=False)
def probe(nonce: str) -> str:
    """Echo the nonce: proves a worker takes tasks from the broker and returns results."""
    return nonce


@shared_task(name="hub.audit_checkpoint")
def audit_checkpoint() -> int | None:
    """Sign a checkpoint of the audit trail's head; the id of the entry it names."""
    signed = audit.audit_checkpoint()
    return signed.entry_id if signed is not None else None
