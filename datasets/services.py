"""Writes to the catalogue, supplies and supply schedules."""

from __future__ import annotations

import calendar
import datetime
import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from datasets.access import SupplyRefused, supply_agency, supply_check
from datasets.catalogue import SCHEMA_DIR, read_catalogue
from datasets.choices import ScheduleStatus, SupplyFrequency, SupplyStatus
from datasets.models import (
    LAST_DUE_DAY,
    Dataset,
    IdentifyingRecord,
    Record,
    Supply,
    SupplySchedule,
)
from datasets.readers import UnreadableFile, format_from_name
from datasets.selectors import ScheduleRow, schedule_status
from datasets.summary import counts_forget
from hub.audit import HUB_WIDE
from hub.choices import AuditAction, IspTier, Role
from hub.crypto import master_key_id
from hub.models import Agency, Partnership, User
from hub.selectors import role_holders
from hub.services import audit_record
from hub.uploads import EncryptedUpload, upload_dir

logger = logging.getLogger(__name__)


@dataclass
class CatalogueSyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)


def _sha256(descriptor: dict) -> str:
    canonical = json.dumps(descriptor, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def catalogue_sync(
    *, acting_user: User | None = None, directory: Path = SCHEMA_DIR, system: str = ""
) -> CatalogueSyncResult:
    """Make the Dataset rows match the schema files: idempotent, all or nothing.

    A dataset whose file is gone is retired, not deleted, so that supplies keep their dataset.
    Raises CatalogueError, naming the file, before anything changes if any file is invalid.
    """
    schemas = read_catalogue(directory)
    existing = {dataset.slug: dataset for dataset in Dataset.objects.select_for_update()}
    result = CatalogueSyncResult()
    for schema in schemas:
        values = {
            "name": schema.name,
            "section": schema.section,
            "tier": schema.tier,
            "kind": schema.kind,
            "supplier_types": list(schema.suppliers),
            "description": schema.description,
            "descriptor": schema.descriptor,
            "schema_sha256": _sha256(schema.descriptor),
            "is_active": True,
        }
        dataset = existing.get(schema.slug)
        if dataset is None:
            Dataset.objects.create(slug=schema.slug, **values)
            result.created.append(schema.slug)
        elif dataset.schema_sha256 != values["schema_sha256"] or not dataset.is_active:
            Dataset.objects.filter(pk=dataset.pk).update(**values)
            result.updated.append(schema.slug)
        else:
            result.unchanged.append(schema.slug)
    listed = {schema.slug for schema in schemas}
    for slug, dataset in existing.items():
        if slug not in listed and dataset.is_active:
            Dataset.objects.filter(pk=dataset.pk).update(is_active=False)
            result.retired.append(slug)
    if result.changed:
        audit_record(
            actor=acting_user,
            action=AuditAction.CATALOGUE_SYNC,
            partnership=HUB_WIDE,  # the catalogue is every partnership's, whoever synced it
            detail={
                "created": result.created,
                "updated": result.updated,
                "retired": result.retired,
            },
            system=system,
        )
    return result


# -- supplies ---------------------------------------------------------------------------------


def supply_enqueue(*, supply_id, stage: str) -> None:
    """Queue a stage. If the broker is down the supply waits and the reaper queues it later."""
    from kombu.exceptions import OperationalError

    from datasets.tasks import run_supply_stage

    Supply.objects.filter(pk=supply_id).update(queued_at=timezone.now())
    try:
        run_supply_stage.apply_async(args=[str(supply_id), stage], retry=False)
    except OperationalError:
        logger.warning("Broker unavailable; supply %s will be queued by the reaper", supply_id)


def supply_create(
    *,
    acting_user: User,
    agency: Agency | None,
    dataset: Dataset,
    upload: EncryptedUpload,
    period_start: datetime.date,
    period_end: datetime.date,
    supplier_name: str,
    supplier_contact: str,
    caveats: str = "",
    field_notes: str = "",
    coding_systems: str = "",
    geocoding_method: str = "",
    declared_record_count: int | None = None,
    ip_address: str | None = None,
) -> Supply:
    """Record a supply of an already-encrypted upload and queue its processing.

    ``agency`` may be None for a user who supplies for one agency only. Refuses
    (SupplyRefused, audited) a user who is not a supplier of the agency, an agency that is
    not a current ISP signatory or does not supply this dataset, a file of another format and
    a period that is reversed or not over. The upload is discarded when refused.
    """
    try:
        agency = supply_agency(user=acting_user, agency=agency)
        file_format = format_from_name(upload.name)
        supply_check(user=acting_user, agency=agency, dataset=dataset)
        if period_end < period_start:
            raise SupplyRefused("The period ends before it starts.")
        if period_end > timezone.localdate():
            raise SupplyRefused("The period ends in the future; supply a period that has ended.")
    except (SupplyRefused, UnreadableFile) as refusal:
        upload.discard()
        # Outside any transaction of the request, so that the refusal stays on record.
        audit_record(
            actor=acting_user,
            action="supply_refused",
            agency=agency,
            dataset_slug=dataset.slug,
            detail={"reason": str(refusal), "file": upload.name},
            ip_address=ip_address,
        )
        raise SupplyRefused(str(refusal)) from refusal
    with transaction.atomic():
        supply = Supply.objects.create(
            dataset=dataset,
            agency=agency,
            uploaded_by=acting_user,
            period_start=period_start,
            period_end=period_end,
            supplier_name=supplier_name,
            supplier_contact=supplier_contact,
            caveats=caveats,
            field_notes=field_notes,
            coding_systems=coding_systems,
            geocoding_method=geocoding_method,
            declared_record_count=declared_record_count,
            original_filename=Path(upload.name).name[:255],
            file_format=file_format,
            file_size=upload.size,
            file_sha256=upload.sha256,
            raw_path=str(upload.path),
            data_key_wrapped=upload.data_key_wrapped,
            master_key_id=master_key_id(),
        )
        audit_record(
            actor=acting_user,
            action="supply_uploaded",
            agency=agency,
            dataset_slug=dataset.slug,
            target=supply,
            detail={
                "file": supply.original_filename,
                "bytes": supply.file_size,
                "sha256": supply.file_sha256,
                "period": [period_start.isoformat(), period_end.isoformat()],
            },
            ip_address=ip_address,
        )
        transaction.on_commit(
            lambda: supply_enqueue(supply_id=supply.pk, stage=SupplyStatus.VALIDATING)
        )
    return supply


@transaction.atomic
def supply_retry(*, supply: Supply, acting_user: User) -> Supply:
    """Run a failed supply again from the stage that failed."""
    stage = supply.report.get("failed_stage", SupplyStatus.VALIDATING)
    updated = Supply.objects.filter(pk=supply.pk, status=SupplyStatus.FAILED).update(
        status=stage, lease_until=None, attempts=0, failure="", finished_at=None
    )
    if not updated:
        raise SupplyRefused("Only a failed supply can be retried.")
    audit_record(
        actor=acting_user,
        action="supply_retried",
        agency=supply.agency,
        dataset_slug=supply.dataset.slug,
        target=supply,
        detail={"stage": stage},
    )
    transaction.on_commit(lambda: supply_enqueue(supply_id=supply.pk, stage=stage))
    supply.refresh_from_db()
    return supply


def supplies_reap(*, now: datetime.datetime | None = None) -> list[str]:
    """Queue again the stages whose worker died (lease expired) or whose task was lost
    (waiting, unqueued for a while); returns the ids queued.

    A stage already tried ``HUB_STAGE_MAX_ATTEMPTS`` times fails instead, with a message for
    the supplier (audited), so that a file that kills its worker is not retried for ever.
    """
    from datasets.pipeline.stages import STAGES, fail

    now = now or timezone.now()
    waiting_since = now - datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)
    stuck = Q(status__in=STAGES, lease_until__lt=now) | Q(
        status__in=[SupplyStatus.QUEUED, *STAGES], lease_until__isnull=True
    ) & (Q(queued_at__isnull=True) | Q(queued_at__lt=waiting_since))
    reaped = []
    for supply_id in Supply.objects.filter(stuck).values_list("pk", flat=True):
        with transaction.atomic():
            # Locked and checked again: a worker may have taken the stage meanwhile.
            supply = (
                Supply.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("agency", "dataset")
                .filter(stuck, pk=supply_id)
                .first()
            )
            if supply is None:
                continue
            stage = supply.status
            if stage == SupplyStatus.QUEUED:
                stage = SupplyStatus.VALIDATING
            if supply.attempts >= settings.HUB_STAGE_MAX_ATTEMPTS:
                fail(supply, stage, _attempts_used_up(stage=stage, attempts=supply.attempts))
                continue
            # The lost worker's lease is given up, so that the next worker may claim the stage;
            # the task goes once the lock is released.
            Supply.objects.filter(pk=supply.pk).update(lease_until=None)
            transaction.on_commit(partial(supply_enqueue, supply_id=supply.pk, stage=stage))
        reaped.append(str(supply_id))
    return reaped


def _attempts_used_up(*, stage: str, attempts: int) -> str:
    return (
        f"Processing stopped during “{SupplyStatus(stage).label}”: it was interrupted "
        f"{attempts} times without finishing, so the hub will not try it again by itself. "
        "A file can stop the processing if it is very large or damaged: check it, then retry "
        "this supply or supply the file again."
    )


def raw_files_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete raw files, rejected-row files and the staged work a failed supply kept for its
    retry, once their retention has ended; one audit entry per agency and dataset that had
    files purged (by agency, so that each partnership's trail shows only its own)."""
    from datasets.rejected_rows import rejected_rows_path
    from datasets.staging import stage_clear

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.HUB_RAW_RETENTION_DAYS)
    expired = Supply.objects.filter(finished_at__lt=cutoff, raw_deleted_at__isnull=True)
    purged: dict[tuple[Agency, Dataset], list[str]] = {}
    for supply in expired.select_related("agency", "dataset").order_by("created_at"):
        Path(supply.raw_path).unlink(missing_ok=True)
        rejected_rows_path(supply).unlink(missing_ok=True)
        stage_clear(supply.pk)
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


# -- supply schedule --------------------------------------------------------------------------


class ScheduleInvalid(ValueError):
    """The schedule cannot be set as asked; the message says why."""


@transaction.atomic
def schedule_set(
    *,
    agency: Agency,
    dataset: Dataset,
    frequency: str,
    due_day: int,
    acting_user: User | None,
    ip_address: str | None = None,
    system: str = "",
) -> SupplySchedule:
    """Expect ``agency`` to supply ``dataset`` every month or quarter by ``due_day`` of the
    month after the period; audited when anything changed. Raises ScheduleInvalid for a
    frequency or day out of range, or a dataset the agency's type does not supply."""
    if frequency not in SupplyFrequency.values:
        raise ScheduleInvalid(f"Choose a frequency from {', '.join(SupplyFrequency.values)}.")
    if not 1 <= due_day <= LAST_DUE_DAY:
        raise ScheduleInvalid(f"The due day must be from 1 to {LAST_DUE_DAY}.")
    if agency.agency_type not in dataset.supplier_types:
        raise ScheduleInvalid(f"{agency} does not supply {dataset.name}.")
    schedule, created = SupplySchedule.objects.select_for_update().get_or_create(
        agency=agency, dataset=dataset, defaults={"frequency": frequency, "due_day": due_day}
    )
    if not created and (schedule.frequency, schedule.due_day) == (frequency, due_day):
        return schedule
    previous = {} if created else {"frequency": schedule.frequency, "due_day": schedule.due_day}
    schedule.frequency, schedule.due_day = frequency, due_day
    schedule.save(update_fields=["frequency", "due_day", "updated_at"])
    audit_record(
        actor=acting_user,
        action="supply_schedule_set",
        agency=agency,
        dataset_slug=dataset.slug,
        target=schedule,
        detail={"frequency": frequency, "due_day": due_day, "previous": previous},
        ip_address=ip_address,
        system=system,
    )
    return schedule


def supply_reminders_send(*, today: datetime.date | None = None) -> int:
    """E-mail an agency's suppliers, once per period, about each scheduled supply now missing
    (past its due date); returns how many reminders went. Safe to run twice.

    Agencies outside the ISP are not reminded (they cannot supply until they sign), nor are
    those with no active supplier with an e-mail address; the schedule page still shows them
    missing.
    """
    from sharing.selectors import agency_standing

    today = today or timezone.localdate()
    sent = 0
    scheduled = Partnership.objects.filter(agencies__supply_schedules__isnull=False).distinct()
    for partnership in scheduled:
        standing = {}
        for row in schedule_status(partnership=partnership, today=today):
            if row.status != ScheduleStatus.MISSING or row.reminded:
                continue
            agency = row.schedule.agency
            if agency.pk not in standing:
                standing[agency.pk] = agency_standing(agency=agency, on=today).tier
            if standing[agency.pk] == IspTier.NONE:
                continue
            try:
                sent += _supply_reminder_send(row=row)
            except (SMTPException, OSError):
                # This reminder stays unclaimed for the next run; the others still go.
                logger.exception("Could not send the reminder for schedule %s", row.schedule.pk)
    return sent


@transaction.atomic
def _supply_reminder_send(*, row: ScheduleRow) -> int:
    """Claim the period's reminder and send it; 0 if nobody can be told or another run did."""
    schedule = row.schedule
    suppliers = list(
        role_holders(agency=schedule.agency, role=Role.SUPPLIER)
        .exclude(email="")
        .order_by("username")
    )
    if not suppliers:
        logger.warning("No supplier with an e-mail address to remind at %s", schedule.agency)
        return 0
    claimed = (
        SupplySchedule.objects.filter(pk=schedule.pk)
        .filter(Q(last_reminded_period__isnull=True) | Q(last_reminded_period__lt=row.period_start))
        .update(last_reminded_period=row.period_start)
    )
    if not claimed:
        return 0
    audit_record(
        actor=None,
        action="supply_reminder_sent",
        agency=schedule.agency,
        dataset_slug=schedule.dataset.slug,
        target=schedule,
        detail={
            "period": [row.period_start.isoformat(), row.period_end.isoformat()],
            "due": row.due_date.isoformat(),
            "to": [user.get_username() for user in suppliers],
        },
        system="schedule",
    )
    url = settings.HUB_SITE_URL + reverse("supply-new")
    # Sent inside the claim's transaction: if sending fails, the claim is undone and the next
    # run tries again.
    send_mail(
        subject=f"Reminder: {schedule.dataset.name} for {row.period_start:%B %Y} is overdue",
        message=(
            f"{schedule.agency}'s supply of {schedule.dataset.name} for "
            f"{row.period_start:%d/%m/%Y} to {row.period_end:%d/%m/%Y} was due on "
            f"{row.due_date:%d/%m/%Y} and has not arrived.\n\n"
            f"Please supply it at {url}\n\n"
            "If it cannot be supplied, tell the partnership's co-ordinator why."
        ),
        from_email=None,
        recipient_list=[user.email for user in suppliers],
    )
    return 1


# -- retention --------------------------------------------------------------------------------

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
