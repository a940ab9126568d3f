import time

import pytest

from datasets.demo import demo_supplies_queue
from datasets.models import Supply


@pytest.fixture
def supplied(personas, celery_worker_process):
    """The demo's personas with last month's sample supplies processed."""
    from sanitise.demo import demo_gazetteer_load

    demo_gazetteer_load()
    demo_supplies_queue()
    deadline = time.monotonic() + 120
    while Supply.objects.exclude(status="completed").exists():
        assert time.monotonic() < deadline
        time.sleep(0.3)
    return personas
