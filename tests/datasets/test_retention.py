"""Retention (guidance §2.4, nothing kept longer than needed): records, identifying fields, raw
files and extracts are purged across their boundary by beat tasks, each purge audited once
per dataset and kind."""

from __future__ import annotations

import datetime
import io
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from datasets.models import Dataset, IdentifyingRecord, Record, Supply
from datasets.services.retention import (
    RetentionInvalid,
    dataset_retention_set,
    identifying_purge,
    months_before,
    raw_files_purge,
    records_purge,
)
from hub.crypto import new_data_key, wrap_key, write_encrypted
from hub.models import Agency, AuditEntry
from hub.services import agency_ensure, partnership_ensure
from sharing.models import Extract
from sharing.services.extracts import extracts_expire
from tests.conftest import supply_row

POLICE = "Greater Manchester Police (Wigan)"
PRISON = "HMP Hindley"
TODAY = datetime.date(2027, 6, 15)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def world(personas):
    police = Agency.objects.get(name=POLICE)
    elsewhere = partnership_ensure(name="Bolton CSP", slug="bolton", postcode_areas=["BL"])
    return {
        "personas": personas,
        "police": police,
        "bolton_police": agency_ensure(
            partnership=elsewhere, name="GMP (Bolton)", agency_type=police.agency_type,
            acting_user=None,
        ),
    }  # fmt: skip


def dataset(slug: str) -> Dataset:
    return Dataset.objects.get(slug=slug)


def a_supply(world, slug="police_crime_offence", *, agency=None, period_end=TODAY, **fields):
    return supply_row(
        dataset=dataset(slug), agency=agency or world["police"],
        uploaded_by=world["personas"]["police_supplier"],
        period_start=period_end.replace(day=1), period_end=period_end, **fields,
    )  # fmt: skip


def a_record(supply: Supply, event_date: datetime.date | None, *, identifying=False) -> Record:
    record = Record.objects.create(
        partnership=supply.agency.partnership, dataset=supply.dataset, supply=supply,
        row_number=Record.objects.filter(supply=supply).count() + 2, event_date=event_date,
        location_method="centroid",
    )  # fmt: skip
    if identifying:
        IdentifyingRecord.objects.create(record=record, supply=supply, ciphertext=b"sealed")
    return record


def purge_entries(action: str):
    return AuditEntry.objects.filter(action=action, actor_username="system:retention")


def kept(*rows) -> list[bool]:
    return [type(row).objects.filter(pk=row.pk).exists() for row in rows]


def test_months_are_counted_in_calendar_months():
    assert months_before(datetime.date(2027, 6, 15), 72) == datetime.date(2021, 6, 15)
    assert months_before(datetime.date(2027, 3, 31), 1) == datetime.date(2027, 2, 28)
    assert months_before(datetime.date(2027, 1, 10), 13) == datetime.date(2025, 12, 10)


def test_records_are_purged_across_their_boundary_with_their_identifying_fields(world, settings):
    settings.HUB_RECORDS_RETENTION_MONTHS = 12
    boundary = datetime.date(2026, 6, 15)
    supply = a_supply(world)
    outside = a_record(supply, boundary - DAY, identifying=True)
    inside = a_record(supply, boundary + DAY, identifying=True)
    on_the_day = a_record(supply, boundary)
    # No event date: the end of the supply's period decides.
    undated_outside = a_record(a_supply(world, period_end=boundary - DAY), None)
    undated_inside = a_record(a_supply(world, period_end=boundary + DAY), None)

    assert records_purge(today=TODAY, batch_rows=1) == {"police_crime_offence": 2}

    assert kept(outside, undated_outside) == [False, False]
    assert kept(inside, on_the_day, undated_inside) == [True, True, True]
    assert not IdentifyingRecord.objects.filter(record_id=outside.pk).exists()
    assert IdentifyingRecord.objects.filter(record_id=inside.pk).exists()
    entry = purge_entries("records_purged").get()
    assert entry.dataset_slug == "police_crime_offence"
    assert entry.detail == {
        "records": 2, "identifying": 1, "boundary": "2026-06-15", "retention_months": 12,
    }  # fmt: skip

    assert records_purge(today=TODAY) == {}  # nothing left: nothing on record
    assert purge_entries("records_purged").count() == 1


def test_a_datasets_own_records_retention_beats_the_default_and_nothing_else_is_touched(
    world, settings
):
    settings.HUB_RECORDS_RETENTION_MONTHS = 12
    dataset_retention_set(
        dataset=dataset("police_crime_victim"), records_retention_months=3,
        identifying_retention_days=None, operator="test",
    )  # fmt: skip
    boundary = datetime.date(2027, 3, 15)
    victims = a_supply(world, "police_crime_victim")
    old_victim, young_victim = a_record(victims, boundary - DAY), a_record(victims, boundary + DAY)
    offences = a_supply(world)  # the default: twelve months
    offence_same_age = a_record(offences, boundary - DAY)
    bolton = a_supply(world, "police_crime_victim", agency=world["bolton_police"])
    bolton_recent = a_record(bolton, boundary + DAY)

    assert records_purge(today=TODAY) == {"police_crime_victim": 1}

    assert kept(old_victim, young_victim, offence_same_age, bolton_recent) == [
        False, True, True, True,
    ]  # fmt: skip
    entry = purge_entries("records_purged").get()
    assert entry.dataset_slug == "police_crime_victim"
    assert (entry.detail["retention_months"], entry.detail["boundary"]) == (3, "2027-03-15")


def test_identifying_fields_go_after_their_shorter_retention_and_the_records_stay(world, settings):
    settings.HUB_IDENTIFYING_RETENTION_DAYS = 30
    dataset_retention_set(
        dataset=dataset("yoi_release"), records_retention_months=None,
        identifying_retention_days=10, operator="test",
    )  # fmt: skip
    prison = agency_ensure(
        partnership=world["police"].partnership, name=PRISON, agency_type="prison",
        acting_user=None,
    )  # fmt: skip
    releases = a_supply(world, "prison_release", agency=prison)
    outside = a_record(releases, TODAY - 31 * DAY, identifying=True)
    inside = a_record(releases, TODAY - 29 * DAY, identifying=True)
    young_offenders = a_supply(world, "yoi_release", agency=prison)
    yoi_outside = a_record(young_offenders, TODAY - 11 * DAY, identifying=True)
    yoi_inside = a_record(young_offenders, TODAY - 9 * DAY, identifying=True)

    assert identifying_purge(today=TODAY, batch_rows=1) == {"prison_release": 1, "yoi_release": 1}

    remaining = set(IdentifyingRecord.objects.values_list("record_id", flat=True))
    assert remaining == {inside.pk, yoi_inside.pk}
    assert kept(outside, inside, yoi_outside, yoi_inside) == [True] * 4
    entries = {e.dataset_slug: e.detail for e in purge_entries("identifying_purged")}
    assert entries == {
        "prison_release": {"identifying": 1, "retention_days": 30, "boundary": "2027-05-16"},
        "yoi_release": {"identifying": 1, "retention_days": 10, "boundary": "2027-06-05"},
    }

    assert identifying_purge(today=TODAY) == {}
    assert purge_entries("identifying_purged").count() == 2


def raw_file(tmp_path) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.enc"
    path.write_bytes(b"encrypted raw file")
    return str(path)


def test_raw_files_are_purged_across_their_boundary_once_per_dataset(world, settings, tmp_path):
    settings.HUB_RAW_RETENTION_DAYS = 30
    now = timezone.now()
    finished = {"status": "completed"}
    old_offences = [
        a_supply(world, raw_path=raw_file(tmp_path), finished_at=now - 31 * DAY, **finished)
        for _ in range(2)
    ]
    old_victims = a_supply(
        world, "police_crime_victim", raw_path=raw_file(tmp_path), finished_at=now - 31 * DAY,
        **finished,
    )  # fmt: skip
    recent = a_supply(world, raw_path=raw_file(tmp_path), finished_at=now - 29 * DAY, **finished)

    assert raw_files_purge(now=now) == 3

    assert [Path(s.raw_path).exists() for s in [*old_offences, old_victims, recent]] == [
        False, False, False, True,
    ]  # fmt: skip
    entries = {e.dataset_slug: e.detail for e in purge_entries("supply_raw_purged")}
    assert set(entries) == {"police_crime_offence", "police_crime_victim"}
    assert entries["police_crime_offence"]["files"] == 2
    assert set(entries["police_crime_offence"]["supplies"]) == {str(s.pk) for s in old_offences}
    assert entries["police_crime_victim"]["retention_days"] == 30
    assert entries["police_crime_victim"]["boundary"] == (now - 30 * DAY).isoformat()

    assert raw_files_purge(now=now) == 0
    assert purge_entries("supply_raw_purged").count() == 2


def an_extract(world, *, expires_at, slug="police_crime_offence") -> Extract:
    data_key = new_data_key()
    path = Path(django_settings.HUB_FILES_DIR) / "extracts" / f"{uuid.uuid4()}.enc"
    write_encrypted(path, b"an extract", data_key)
    return Extract.objects.create(
        created_by=world["personas"]["analyst"], agency=world["police"], dataset=dataset(slug),
        level="aggregate", file_format="csv", period_start=TODAY.replace(day=1),
        period_end=TODAY, status="completed", file_path=str(path),
        data_key_wrapped=wrap_key(data_key), expires_at=expires_at,
    )  # fmt: skip


def test_extracts_are_deleted_across_their_boundary_once_per_dataset(world):
    now = timezone.now()
    expired = an_extract(world, expires_at=now - DAY)
    expired_victims = an_extract(world, expires_at=now - DAY, slug="police_crime_victim")
    current = an_extract(world, expires_at=now + DAY)
    files = [Path(e.file_path) for e in (expired, expired_victims, current)]

    assert extracts_expire(now=now) == 2

    for extract in (expired, expired_victims, current):
        extract.refresh_from_db()
    assert [e.status for e in (expired, expired_victims, current)] == [
        "expired", "expired", "completed",
    ]  # fmt: skip
    assert [path.exists() for path in files] == [False, False, True]
    entries = {e.dataset_slug: e.detail for e in purge_entries("extracts_expired")}
    assert entries["police_crime_offence"] == {
        "extracts": 1, "ids": [str(expired.pk)], "boundary": now.isoformat(),
        "retention_days": 7,
    }  # fmt: skip
    assert set(entries) == {"police_crime_offence", "police_crime_victim"}

    assert extracts_expire(now=now) == 0
    assert purge_entries("extracts_expired").count() == 2


def test_the_beat_schedule_runs_every_purge_and_each_task_exists(settings):
    from datasets import tasks as dataset_tasks
    from hub import celery_app
    from sharing import tasks as sharing_tasks

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    purges = {
        "datasets.purge_expired_files",  # raw files and abandoned uploads
        "datasets.purge_expired_records",
        "datasets.purge_expired_identifying",
        "sharing.expire_extracts",
        "sharing.end_expired_requests",  # personal data when its request ends
    }
    assert purges <= scheduled
    assert dataset_tasks and sharing_tasks  # registered by importing them
    assert purges <= set(celery_app.tasks)


def test_the_beat_tasks_purge(world, settings):
    from datasets.tasks import purge_expired_identifying, purge_expired_records

    settings.HUB_RECORDS_RETENTION_MONTHS = 1
    settings.HUB_IDENTIFYING_RETENTION_DAYS = 1
    supply = a_supply(world)
    old = a_record(supply, timezone.localdate() - 60 * DAY)
    recent = a_record(supply, timezone.localdate() - 5 * DAY, identifying=True)

    purge_expired_records()
    purge_expired_identifying()

    assert kept(old, recent) == [False, True]
    assert not IdentifyingRecord.objects.exists()


def test_retention_is_set_per_dataset_audited_and_shown_on_its_page(world, client):
    out = io.StringIO()
    call_command(
        "set_retention", "prison_release", "--records-months", "36", "--identifying-days", "90",
        stdout=out,
    )  # fmt: skip
    assert "records kept 36 months, identifying fields 90 days" in out.getvalue()
    entry = AuditEntry.objects.get(action="dataset_retention_set")
    assert entry.detail["before"] == {
        "records_retention_months": None, "identifying_retention_days": None,
    }  # fmt: skip
    assert entry.detail["after"] == {
        "records_retention_months": 36, "identifying_retention_days": 90,
    }  # fmt: skip

    client.force_login(world["personas"]["analyst"])
    page = client.get("/catalogue/prison_release/").content.decode()
    assert "36 months after the event" in page and "90 days after the event" in page
    assert "the hub's default" not in page
    offences = client.get("/catalogue/police_crime_offence/").content.decode()
    assert "72 months after the event (or the supply's period), the hub's default" in (offences)
    assert "Identifying fields kept" not in offences  # depersonalised: none are held

    call_command("set_retention", "prison_release", "--records-months", "default", stdout=out)
    assert dataset("prison_release").records_retention_months is None
    assert dataset("prison_release").identifying_retention_days == 90  # left as it was
    with pytest.raises(CommandError, match="at least 1"):
        call_command("set_retention", "prison_release", "--identifying-days", "0", stdout=out)
    with pytest.raises(RetentionInvalid):
        dataset_retention_set(
            dataset=dataset("ppo"), records_retention_months=-1,
            identifying_retention_days=None, operator="test",
        )  # fmt: skip


def test_each_purge_is_audited_to_the_supplying_agency_and_only_its_partnership_sees_it(
    world, settings, tmp_path
):
    from datasets.access import audit_restrict

    settings.HUB_RECORDS_RETENTION_MONTHS = 12
    settings.HUB_RAW_RETENTION_DAYS = 30
    old = datetime.date(2025, 1, 15)
    finished = {"status": "completed", "finished_at": timezone.now() - 31 * DAY}
    wigan = a_supply(world, raw_path=raw_file(tmp_path), **finished)
    bolton = a_supply(world, agency=world["bolton_police"], raw_path=raw_file(tmp_path), **finished)
    for supply in (wigan, bolton):
        a_record(supply, old, identifying=True)

    records_purge(today=TODAY)
    raw_files_purge()

    entries = AuditEntry.objects.filter(action__in=["records_purged", "supply_raw_purged"])
    assert sorted((e.action, e.agency.name) for e in entries) == [
        ("records_purged", "GMP (Bolton)"), ("records_purged", POLICE),
        ("supply_raw_purged", "GMP (Bolton)"), ("supply_raw_purged", POLICE),
    ]  # fmt: skip
    seen = audit_restrict(user=world["personas"]["coordinator"]).filter(pk__in=entries)
    assert {entry.agency.name for entry in seen} == {POLICE}
    assert str(bolton.pk) not in str(list(seen.values_list("detail", flat=True)))
