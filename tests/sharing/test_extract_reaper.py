"""Extracts whose task was lost (the broker down when they were requested) are queued again."""

from __future__ import annotations

import base64
import datetime
import json
import uuid

import pytest
from django.utils import timezone
from redis import Redis

from datasets.models import Dataset
from sharing.choices import AccessLevel, ExtractFormat, ExtractStatus
from sharing.models import Extract
from sharing.services import extracts_reap
from sharing.tasks import reap_extracts


@pytest.fixture
def own_queue(settings, monkeypatch):
    from hub import celery_app

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-reaper-{uuid.uuid4().hex[:6]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    yield queue
    Redis.from_url(settings.REDIS_URL).delete(queue)


def queued_extracts(queue: str, redis_url: str) -> list[str]:
    found = []
    for raw in Redis.from_url(redis_url).lrange(queue, 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "sharing.run_extract"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.extend(args)
    return found


def extract_made(analyst, *, status: str, age: datetime.timedelta) -> Extract:
    extract = Extract.objects.create(
        created_by=analyst,
        agency=analyst.memberships.get().agency,
        dataset=Dataset.objects.get(slug="police_crime_offence"),
        level=AccessLevel.DEPERSONALISED,
        file_format=ExtractFormat.CSV,
        period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31),
        status=status,
    )
    Extract.objects.filter(pk=extract.pk).update(created_at=timezone.now() - age)
    return extract


def test_an_extract_waiting_past_the_lease_is_queued_again_and_the_others_are_left(
    personas, own_queue, settings
):
    analyst = personas["analyst"]
    lease = datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)
    lost = extract_made(analyst, status=ExtractStatus.QUEUED, age=lease * 2)
    just_asked = extract_made(analyst, status=ExtractStatus.QUEUED, age=lease / 10)
    running = extract_made(analyst, status=ExtractStatus.RUNNING, age=lease * 2)
    done = extract_made(analyst, status=ExtractStatus.COMPLETED, age=lease * 2)

    assert extracts_reap() == [str(lost.pk)]

    queued = queued_extracts(own_queue, settings.REDIS_URL)
    assert queued == [str(lost.pk)]
    assert {just_asked.pk, running.pk, done.pk}.isdisjoint({uuid.UUID(i) for i in queued})


def test_the_beat_schedule_runs_the_extract_reaper(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert reap_extracts.name in tasks
