"""Extracts whose task was lost (the broker down when they were requested) are queued again."""

from __future__ import annotations

import datetime

from django.utils import timezone

from datasets.models import Dataset
from sharing.choices import AccessLevel, ExtractFormat, ExtractStatus
from sharing.models import Extract
from sharing.services.extracts import extracts_reap
from sharing.tasks import reap_extracts
from tests.conftest import queued_task_args


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
    # Left alone: one just asked for, one running, one done.
    extract_made(analyst, status=ExtractStatus.QUEUED, age=lease / 10)
    extract_made(analyst, status=ExtractStatus.RUNNING, age=lease * 2)
    extract_made(analyst, status=ExtractStatus.COMPLETED, age=lease * 2)

    assert extracts_reap() == [str(lost.pk)]

    assert queued_task_args(own_queue, "sharing.run_extract") == [(str(lost.pk),)]


def test_the_beat_schedule_runs_the_extract_reaper(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert reap_extracts.name in tasks
