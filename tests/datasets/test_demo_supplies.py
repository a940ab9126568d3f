"""The demo arrives with last month's sample supplies, processed by the real pipeline."""

import time

import pytest

from datasets.demo import demo_supplies_queue, last_month
from datasets.models import Record, Supply
from hub.demo import demo_load
from tests.records import record_fields

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_sample_supplies_process_and_loading_them_again_adds_none(celery_worker_process):
    demo_load()

    queued = demo_supplies_queue()

    assert sorted(s.dataset.slug for s in queued) == [
        "ae_assault", "council_asb", "police_crime_offence", "police_crime_victim",
    ]  # fmt: skip
    deadline = time.monotonic() + 120
    while Supply.objects.exclude(status__in=["completed", "rejected", "failed"]).exists():
        assert time.monotonic() < deadline, list(Supply.objects.values("dataset__slug", "status"))
        time.sleep(0.5)
    statuses = dict(Supply.objects.values_list("dataset__slug", "status"))
    assert set(statuses.values()) == {"completed"}, statuses
    offence = Supply.objects.get(dataset__slug="police_crime_offence")
    assert (offence.record_count, offence.rejected_count) == (400, 1)
    assert offence.period_start == last_month()[0]
    located = offence.report["locations"]
    assert located["centroid"] > 0 and located["moved"] > 0 and located["unlocated"] > 0
    ae = Supply.objects.get(dataset__slug="ae_assault")
    assert ae.report["locations"]["place"] > 0  # attendances at named places
    offence_dates = {
        record_fields(r)["crime_ref"]: r.event_date
        for r in Record.objects.filter(dataset__slug="police_crime_offence")
    }
    victims = [
        (record_fields(v)["crime_ref"], v)
        for v in Record.objects.filter(dataset__slug="police_crime_victim")
    ]
    for crime_ref, victim in victims:
        expected = offence_dates.get(crime_ref, last_month()[0])
        assert victim.event_date == expected, crime_ref
    assert sum(ref in offence_dates for ref, _ in victims) >= len(victims) - 1

    assert demo_supplies_queue() == []
