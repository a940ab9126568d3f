"""Writes to supplies: recording an upload, queueing its stages, retrying it, and reaping
stages whose worker died or whose task was lost."""

from __future__ import annotations

import datetime
import logging
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from datasets.access import (
    SupplyRefused,
    supply_agency,
    supply_check,
    supply_standing_check,
)
from datasets.choices import FileFormat, SupplyStatus
from datasets.models import FINISHED_STATUSES, Dataset, Supply
from datasets.supplied import UnreadableFile, format_from_name
from hub.access import supply_handler_check
from hub.crypto import master_key_id
from hub.models import Agency, User
from hub.services import audit_record
from hub.uploads import EncryptedUpload

logger = logging.getLogger(__name__)


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
    not a current ISP signatory or does not supply this dataset, a file of another format (XML
    only for a dataset with an XML submission format) and a period that is reversed or not
    over. The upload is discarded when refused.
    """
    try:
        agency = supply_agency(user=acting_user, agency=agency)
        file_format = format_from_name(upload.name)
        supply_check(user=acting_user, agency=agency, dataset=dataset)
        if file_format == FileFormat.XML and dataset.schema.xml_submission is None:
            raise UnreadableFile(
                f"{dataset.name} has no XML submission format: supply it as a CSV (.csv), "
                "Excel workbook (.xlsx) or ZIP of a CSV (.zip)."
            )
        _period_check(period_start, period_end)
    except (SupplyRefused, UnreadableFile) as refusal:
        upload.discard()
        # Outside any transaction of the request, so that the refusal stays on record.
        _refusal_audit(acting_user, agency, dataset, refusal, ip_address, file=upload.name)
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
            lambda: supply_enqueue(supply_id=supply.pk, stage=SupplyStatus.LOADING)
        )
    return supply


def _refusal_audit(acting_user, agency, dataset, refusal, ip_address, **detail) -> None:
    audit_record(
        actor=acting_user,
        action="supply_refused",
        agency=agency,
        dataset_slug=dataset.slug,
        detail={"reason": str(refusal), **detail},
        ip_address=ip_address,
    )


def _period_check(start: datetime.date, end: datetime.date) -> None:
    if end < start:
        raise SupplyRefused("The period ends before it starts.")
    if end > timezone.localdate():
        raise SupplyRefused("The period ends in the future; supply a period that has ended.")


# A nil return is for one scheduled period, a month or a quarter (92 days at the most).
NIL_RETURN_MOST_DAYS = 92
# What a nil return keeps of a supply's metadata: the period and who says so.
NIL_RETURN_FIELDS = (
    "agency", "dataset", "period_start", "period_end", "supplier_name", "supplier_contact",
    "caveats",
)  # fmt: skip


def supply_nil_return(
    *,
    acting_user: User,
    agency: Agency | None,
    dataset: Dataset,
    period_start: datetime.date,
    period_end: datetime.date,
    supplier_name: str,
    supplier_contact: str,
    caveats: str = "",
    ip_address: str | None = None,
) -> Supply:
    """Record that the agency had nothing to report for the period: a completed supply with
    no file and no records, which counts as supplied in the schedule and as a month of none
    in counts. A later supply of records for the period replaces it; it never replaces
    records. Refused (SupplyRefused, audited) as a supply is, and when records for the period
    are in the hub or on their way."""
    try:
        agency = supply_agency(user=acting_user, agency=agency)
        supply_check(user=acting_user, agency=agency, dataset=dataset)
        _period_check(period_start, period_end)
        if (period_end - period_start).days >= NIL_RETURN_MOST_DAYS:
            raise SupplyRefused(
                "A nil return is for one month or one quarter: make one for each period that "
                "had nothing to report."
            )
        with transaction.atomic():
            with connection.cursor() as cursor:
                # The load's lock: no load of records for the period can commit meanwhile.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [agency.partnership_id])
            _nil_return_check(
                agency=agency, dataset=dataset, period_start=period_start, period_end=period_end
            )
            supply = Supply.objects.create(
                dataset=dataset,
                agency=agency,
                uploaded_by=acting_user,
                period_start=period_start,
                period_end=period_end,
                supplier_name=supplier_name,
                supplier_contact=supplier_contact,
                caveats=caveats,
                declared_record_count=0,
                nil_return=True,
                file_size=0,
                data_key_wrapped=b"",
                status=SupplyStatus.COMPLETED,
                progress=100,
                record_count=0,
                accepted_count=0,
                rejected_count=0,
                finished_at=timezone.now(),
                report={"received": 0, "accepted": 0, "rejected": 0},
            )
            audit_record(
                actor=acting_user,
                action="supply_nil_return",
                agency=agency,
                dataset_slug=dataset.slug,
                target=supply,
                detail={"period": [period_start.isoformat(), period_end.isoformat()]},
                ip_address=ip_address,
            )
    except SupplyRefused as refusal:
        # Outside the refused transaction, so that the refusal stays on record.
        _refusal_audit(acting_user, agency, dataset, refusal, ip_address, nil_return=True)
        raise
    return supply


def _nil_return_check(
    *, agency: Agency, dataset: Dataset, period_start: datetime.date, period_end: datetime.date
) -> None:
    overlapping = Supply.objects.filter(
        agency=agency, dataset=dataset, period_start__lte=period_end, period_end__gte=period_start
    )
    if overlapping.current().filter(nil_return=True).exists():
        raise SupplyRefused(f"A nil return from {agency} for this period is already recorded.")
    held = overlapping.current().filter(nil_return=False).first()
    if held is not None:
        raise SupplyRefused(
            f"{agency} has already supplied {held.accepted_count or 0:,} records of "
            f"{dataset.name} for {held.period_start:%d/%m/%Y} to {held.period_end:%d/%m/%Y}, "
            "so a nil return cannot stand for this period. If that supply was wrong, withdraw "
            "it on its page first."
        )
    processing = overlapping.exclude(status__in=FINISHED_STATUSES).first()
    if processing is not None:
        raise SupplyRefused(
            f"A supply of {dataset.name} for {processing.period_start:%d/%m/%Y} to "
            f"{processing.period_end:%d/%m/%Y} is being processed; wait for it, and withdraw it "
            "if it should not stand."
        )


def supply_retry(*, supply: Supply, acting_user: User) -> Supply:
    """Run a failed supply again from the stage that failed. For a supplier or the DLO of
    the supply's agency, or its partnership's co-ordinator (SupplyRefused, audited, for
    anyone else)."""
    supply_handler_check(
        acting_user=acting_user, agency=supply.agency, service="supply_retry",
        act="retry its supplies", refusal=SupplyRefused,
    )  # fmt: skip
    from datasets.pipeline.stages import STAGES

    supply_standing_check(user=acting_user, agency=supply.agency, route="supply_retry")
    with transaction.atomic():
        stage = supply.report.get("failed_stage")
        if stage not in STAGES:
            # A stage of the pipeline as it was before its stages became one pass.
            stage = STAGES[0]
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
                stage = STAGES[0]
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
