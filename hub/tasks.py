from celery import shared_task


@shared_task(name="hub.probe", ignore_result=False, acks_late=False)
def probe(nonce: str) -> str:
    """Echo the nonce: proves a worker takes tasks from the broker and returns results."""
    return nonce
