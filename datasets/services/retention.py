"""Retention: raw files, uploads no supply took, records and identifying fields deleted once
their time is up, and a dataset's own retention set."""

from __future__ import annotations

import calendar
import datetime
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from datasets.choices import SupplyStatus
from datasets.models import Dataset, IdentifyingRecord, Record, Supply
from datasets.summary import counts_delete, counts_forget
from hub.models import Agency
from hub.services import audit_record
from hub.uploads import upload_dir


def raw_files_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete raw files and rejected-row files once their retention has ended; one audit entry
    per agency and dataset that had files purged (by agency, so that each partnership's trail
    shows only its own)."""
    from datasets.rejected_rows import rejected_rows_path

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.HUB_RAW_RETENTION_DAYS)
    expired = Supply.objects.filter(finished_at__lt=cutoff, raw_deleted_at__isnull=True)
    purged: dict[tuple[Agency, Dataset], list[str]] = {}
    for supply in expired.select_related("agency", "dataset").order_by("created_at"):
        Path(supply.raw_path).unlink(missing_ok=True)
        rejected_rows_path(supply).unlink(missing_ok=True)
        Supply.objects.filter(pk=supply.pk).update(raw_deleted_at=now)
        purged.setdefault((supply.agency, supply.dataset), []).append(str(supply.pk))
    for (agency, dataset), supply_ids in purged.items():
        audit_record(
            actor=None,
            action="supply_raw_purged",
            agency=agency,
            dataset_slug=dataset.slug,
            target=dataset,
            detail={
                "files": len(supply_ids),
                "supplies": supply_ids,
                "boundary": cutoff.isoformat(),
                "retention_days": settings.HUB_RAW_RETENTION_DAYS,
            },
            system="retention",
        )
    return sum(len(supply_ids) for supply_ids in purged.values())


def orphan_uploads_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete encrypted uploads that no supply took (a refused or abandoned upload whose
    request ended before the file could be discarded), once a day old; audited."""
    now = now or timezone.now()
    folder = upload_dir()
    if not folder.exists():
        return 0
    kept = set(Supply.objects.exclude(raw_path="").values_list("raw_path", flat=True))
    cutoff = (now - datetime.timedelta(days=1)).timestamp()
    orphans = [
        path
        for path in folder.glob("*.enc")
        if str(path) not in kept
        and not path.name.endswith(".rejected.csv.enc")
        and path.stat().st_mtime < cutoff
    ]
    for path in orphans:
        path.unlink(missing_ok=True)
    if orphans:
        audit_record(
            actor=None, action="orphan_uploads_purged", detail={"files": len(orphans)},
            system="retention",
        )  # fmt: skip
    return len(orphans)


RETENTION_BATCH_ROWS = 5000  # rows deleted per transaction, so that a purge never holds long locks


class RetentionInvalid(ValueError):
    """The retention asked for cannot be set; the message says why."""


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` calendar months earlier (the month's last day if it is short)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _dated_before(boundary: datetime.date, *, prefix: str = "") -> Q:
    """Rows whose record happened before ``boundary``: by event date, or by the end of its
    supply's period when the record has no event date."""
    return Q(**{f"{prefix}event_date__lt": boundary}) | Q(
        **{f"{prefix}event_date__isnull": True, "supply__period_end__lt": boundary}
    )


def records_purge(
    *, today: datetime.date | None = None, batch_rows: int = RETENTION_BATCH_ROWS
) -> dict[str, int]:
    """Delete records older than their dataset's records retention, with their identifying
    fields, in batches; one audit entry per supplying agency and dataset that lost records.
    Returns the counts by dataset slug."""
    today = today or timezone.localdate()
    purged = {}
    for dataset in Dataset.objects.order_by("slug"):
        boundary = months_before(today, dataset.records_retention)
        expired = Record.objects.filter(_dated_before(boundary), dataset=dataset)
        records, identifying = Counter(), Counter()
        while batch := list(expired.values_list("pk", "supply__agency_id")[:batch_rows]):
            record_ids = [record_id for record_id, _agency_id in batch]
            with transaction.atomic():
                counts_forget(record_ids=record_ids)
                held = IdentifyingRecord.objects.filter(record_id__in=record_ids)
                identifying.update(held.values_list("record__supply__agency_id", flat=True))
                held.delete()
                Record.objects.filter(pk__in=record_ids).only("pk").delete()
            records.update(agency_id for _record_id, agency_id in batch)
        for agency_id, count in records.items():
            _retention_audit(
                action="records_purged",
                agency_id=agency_id,
                dataset=dataset,
                boundary=boundary,
                detail={
                    "records": count,
                    "identifying": identifying[agency_id],
                    "retention_months": dataset.records_retention,
                },
            )
        if records:
            purged[dataset.slug] = records.total()
    return purged


def identifying_purge(
    *, today: datetime.date | None = None, batch_rows: int = RETENTION_BATCH_ROWS
) -> dict[str, int]:
    """Delete identifying fields older than their dataset's identifying retention (the
    depersonalised records stay until their own retention ends), in batches; one audit entry
    per supplying agency and dataset. Returns the counts by dataset slug."""
    today = today or timezone.localdate()
    purged = {}
    for dataset in Dataset.objects.order_by("slug"):
        boundary = today - datetime.timedelta(days=dataset.identifying_retention)
        expired: QuerySet = IdentifyingRecord.objects.filter(
            _dated_before(boundary, prefix="record__"), record__dataset=dataset
        )
        counts = Counter()
        while batch := list(expired.values_list("pk", "record__supply__agency_id")[:batch_rows]):
            with transaction.atomic():
                IdentifyingRecord.objects.filter(pk__in=[pk for pk, _agency_id in batch]).delete()
            counts.update(agency_id for _pk, agency_id in batch)
        for agency_id, count in counts.items():
            _retention_audit(
                action="identifying_purged",
                agency_id=agency_id,
                dataset=dataset,
                boundary=boundary,
                detail={"identifying": count, "retention_days": dataset.identifying_retention},
            )
        if counts:
            purged[dataset.slug] = counts.total()
    return purged


def withdrawn_records_purge(*, batch_rows: int = RETENTION_BATCH_ROWS) -> int:
    """Delete the records of withdrawn supplies, with their identifying fields and monthly
    counts, in batches (they count nowhere from the moment of withdrawal; this frees what
    they hold); one audit entry per supply. Returns the records deleted."""
    deleted = 0
    withdrawn = Supply.objects.filter(
        status=SupplyStatus.WITHDRAWN, records__isnull=False
    ).distinct()
    for supply in withdrawn.select_related("agency", "dataset"):
        records = Record.objects.filter(supply=supply)
        count = 0
        with transaction.atomic():
            counts_delete(supply=supply)
        while batch := list(records.values_list("pk", flat=True)[:batch_rows]):
            with transaction.atomic():
                IdentifyingRecord.objects.filter(record_id__in=batch).delete()
                Record.objects.filter(pk__in=batch).only("pk").delete()
            count += len(batch)
        audit_record(
            actor=None,
            action="withdrawn_records_deleted",
            agency=supply.agency,
            dataset_slug=supply.dataset.slug,
            target=supply,
            detail={"records": count},
            system="retention",
        )
        deleted += count
    return deleted


def _retention_audit(
    *, action: str, agency_id: int, dataset: Dataset, boundary: datetime.date, detail: dict
):
    audit_record(
        actor=None,
        action=action,
        agency=Agency.objects.get(pk=agency_id),
        dataset_slug=dataset.slug,
        target=dataset,
        detail={**detail, "boundary": boundary.isoformat()},
        system="retention",
    )


def dataset_retention_set(
    *,
    dataset: Dataset,
    records_retention_months: int | None,
    identifying_retention_days: int | None,
    operator: str,
) -> Dataset:
    """Set a dataset's own retention (None: the hub's default); audited with the old and new
    values. ``operator`` names who asked for the change."""
    for name, value in (
        ("records_retention_months", records_retention_months),
        ("identifying_retention_days", identifying_retention_days),
    ):
        if value is not None and value < 1:
            raise RetentionInvalid(f"{name} must be at least 1, or empty for the default.")
    before = {
        "records_retention_months": dataset.records_retention_months,
        "identifying_retention_days": dataset.identifying_retention_days,
    }
    after = {
        "records_retention_months": records_retention_months,
        "identifying_retention_days": identifying_retention_days,
    }
    with transaction.atomic():
        Dataset.objects.filter(pk=dataset.pk).update(**after)
        audit_record(
            actor=None,
            action="dataset_retention_set",
            dataset_slug=dataset.slug,
            target=dataset,
            detail={"before": before, "after": after, "operator": operator},
            system="retention",
        )
    dataset.refresh_from_db()
    return dataset
