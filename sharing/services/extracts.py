"""Extracts asked for, downloaded and deleted: the checks before one is queued, the download
through the access gate, and the files' retention. The file itself is made by
sharing.services.extract_build, in the worker."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datasets.choices import FieldClass
from datasets.models import Dataset
from hub.access import refuse
from hub.audit import DERIVE
from hub.crypto import (
    iter_decrypted,
    unwrap_key,
)
from hub.models import Agency, Partnership, User
from hub.services import audit_record
from sharing.access import AccessRefused, acting_partnership, extract_scope_check, record_scope
from sharing.area_keys import AREA_KEYS
from sharing.choices import (
    AccessLevel,
    ExtractFormat,
    ExtractStatus,
)
from sharing.disclosure import extract_beyond_release, release_for
from sharing.models import (
    Extract,
)
from sharing.records import (
    LOCATION_COLUMNS,
    ExtractRefused,
    linkable,
    period_invalid,
    personal_fields,
    record_fields,
)
from sharing.services.extract_build import extract_fail
from sharing.workspace.filters import FilterInvalid, area_filter

logger = logging.getLogger(__name__)


def extract_request(
    *,
    acting_user: User,
    dataset: Dataset,
    period_start: datetime.date,
    period_end: datetime.date,
    file_format: str,
    level: str | None = None,
    fields: list[str] | None = None,
    area: dict | None = None,
    linked_dataset: Dataset | None = None,
    category: str = "",
    partnership: Partnership | None = None,
    data_request_id: int | None = None,
    ip_address: str | None = None,
) -> Extract:
    """Queue an extract if the access gate allows every part of it (AccessRefused, audited
    by the gate, if not) and it is well formed (ExtractRefused, audited here, if not)."""
    try:
        extract = _extract_checked(
            acting_user=acting_user,
            dataset=dataset,
            period_start=period_start,
            period_end=period_end,
            file_format=file_format,
            level=level,
            fields=fields,
            area=area or {},
            linked_dataset=linked_dataset,
            category=category,
            partnership=partnership,
            data_request_id=data_request_id,
            ip_address=ip_address,
        )
    except ExtractRefused as refusal:
        audit_record(
            actor=acting_user,
            action="extract_refused",
            partnership=acting_partnership(user=acting_user, partnership=partnership) or DERIVE,
            dataset_slug=dataset.slug,
            detail={"reason": str(refusal), "level": level, "fields": fields or []},
            ip_address=ip_address,
        )
        raise
    with transaction.atomic():
        extract.save()
        audit_record(
            actor=acting_user,
            action="extract_requested",
            agency=extract.agency,
            dataset_slug=dataset.slug,
            target=extract,
            detail={
                "level": extract.level,
                "format": file_format,
                "period": [period_start.isoformat(), period_end.isoformat()],
                "fields": extract.fields,
                "linked": linked_dataset.slug if linked_dataset else None,
                "area": extract.area,
                "request": extract.data_request_id,
            },
            ip_address=ip_address,
        )
        transaction.on_commit(lambda: _extract_enqueue(extract.pk))
    return extract


def _extract_enqueue(extract_id) -> None:
    from kombu.exceptions import OperationalError

    from sharing.tasks import run_extract

    try:
        run_extract.apply_async(args=[str(extract_id)], retry=False)
    except OperationalError:
        logger.warning("Broker unavailable; extract %s waits for the reaper", extract_id)


def _extract_checked(
    *, acting_user, dataset, period_start, period_end, file_format, level, fields, area,
    linked_dataset, category, partnership, data_request_id, ip_address,
) -> Extract:  # fmt: skip
    scope = record_scope(
        user=acting_user, dataset=dataset, level=level, route="extract",
        partnership=partnership, data_request_id=data_request_id, ip_address=ip_address,
    )  # fmt: skip
    period_problem = period_invalid(period_start, period_end)
    if period_problem:
        raise ExtractRefused(period_problem)
    if file_format not in ExtractFormat.values:
        raise ExtractRefused(f"{file_format!r} is not a format: choose csv, xlsx or geojson.")
    level = scope.level
    schema = dataset.schema
    chosen: list[str] = []
    if level == AccessLevel.AGGREGATE:
        if file_format == ExtractFormat.GEOJSON:
            raise ExtractRefused("Aggregate counts have no points to map: choose csv or xlsx.")
        if linked_dataset is not None:
            raise ExtractRefused("Aggregate counts are of one dataset: leave out the linked one.")
    else:
        chosen = list(fields) if fields else list(scope.fields)
        if level == AccessLevel.PERSONAL:
            if linked_dataset is not None:
                raise ExtractRefused("A personal extract is of one dataset: leave out the other.")
            _check_fields(chosen, record_fields(schema) + personal_fields(schema), schema, dataset)
        else:
            _check_fields(chosen, list(scope.fields), schema, dataset)
        if linked_dataset is not None:
            if linked_dataset not in linkable(dataset):
                raise ExtractRefused(f"{linked_dataset.name} does not link to {dataset.name}.")
            record_scope(
                user=acting_user, dataset=linked_dataset, level=level, route="extract",
                partnership=scope.agency.partnership, ip_address=ip_address,
            )  # fmt: skip
    area = _area_resolved(area or {}, partnership=scope.agency.partnership)
    if scope.districts is not None and not area:
        area = {"districts": list(scope.districts)}
    asked = [name for name in chosen if name not in LOCATION_COLUMNS]
    beyond = scope.outside(period=(period_start, period_end), fields=asked, area=area)
    if beyond:
        raise refuse(
            user=acting_user, route="extract", reason=beyond, dataset_slug=dataset.slug,
            agency=scope.agency, detail={"level": level}, ip_address=ip_address,
        )  # fmt: skip
    problem = extract_beyond_release(
        schema=schema, level=level, category=category, period=(period_start, period_end),
        area=area, release=release_for(scope),
    )  # fmt: skip
    if problem:
        raise ExtractRefused(problem)
    return Extract(
        created_by=acting_user,
        agency=scope.agency,
        data_request=scope.data_request,
        dataset=dataset,
        linked_dataset=linked_dataset if level != AccessLevel.AGGREGATE else None,
        level=level,
        file_format=file_format,
        period_start=period_start,
        period_end=period_end,
        area=area,
        fields=chosen,
        category=category,
    )


def _check_fields(chosen: list[str], allowed: list[str], schema, dataset) -> None:
    for name in chosen:
        if name in allowed:
            continue
        spec = schema.by_name.get(name)
        if spec is not None and spec.field_class == FieldClass.IDENTIFYING:
            raise ExtractRefused(
                f"{name} is an identifying field: it is never part of a depersonalised "
                "extract. Personal data need an approved personal-data request."
            )
        if name in LOCATION_COLUMNS:
            continue
        raise ExtractRefused(f"{dataset.name} has no field {name!r}.")


AREA_INPUTS = {"districts", "bbox", "areas", *AREA_KEYS}


def _area_resolved(area: dict, *, partnership) -> dict:
    """The extract's area as stored: "areas" (codes or names of any kind) and every list of
    codes checked against the partnership's areas and filed by kind; an unknown one refused
    with suggestions, never extracted as nothing."""
    unknown = set(area) - AREA_INPUTS
    if unknown:
        raise ExtractRefused(
            f"Areas are given as {', '.join(sorted(AREA_INPUTS))}, not {sorted(unknown)}."
        )
    bbox = area.get("bbox")
    if bbox is not None and (len(bbox) != 4 or bbox[0] >= bbox[2] or bbox[1] >= bbox[3]):
        raise ExtractRefused("bbox is [min easting, min northing, max easting, max northing].")
    named = [value for key in ("areas", *AREA_KEYS) for value in area.get(key) or []]
    resolved = {key: area[key] for key in ("districts", "bbox") if area.get(key)}
    if named:
        try:
            chosen = area_filter(partnership=partnership, values=named)
        except FilterInvalid as error:
            raise ExtractRefused(str(error)) from error
        for key, codes in chosen.items():
            resolved[key] = list(dict.fromkeys([*resolved.get(key, []), *codes]))
    return resolved


def extract_download(*, extract: Extract, acting_user: User, ip_address: str | None = None):
    """The decrypted file as a stream of bytes; audited. ExtractRefused once it has expired;
    AccessRefused (audited by the gate) for anyone but its maker, or once the maker's access
    no longer covers it, when the file is deleted too."""
    if extract.created_by_id != acting_user.pk:
        raise refuse(
            user=acting_user, route="extract download", reason="Another user's extract.",
            target=extract, ip_address=ip_address,
        )  # fmt: skip
    if extract.status != ExtractStatus.COMPLETED:
        raise ExtractRefused(f"The extract is {extract.get_status_display().lower()}.")
    try:
        scope = extract_scope_check(
            extract=extract, route="extract download", ip_address=ip_address
        )
        if extract.metadata.get("release") == "exact" and not release_for(scope).exact:
            # Exact counts made while the maker could see the records; they no longer can.
            raise refuse(
                user=acting_user, route="extract download", target=extract,
                reason="The counts in this file are exact, and you no longer hold the records.",
                ip_address=ip_address,
            )  # fmt: skip
    except AccessRefused as refusal:
        extract_delete(extract=extract, reason=f"access withdrawn: {refusal}")
        raise
    audit_record(
        actor=acting_user, action="extract_downloaded", agency=extract.agency,
        dataset_slug=extract.dataset.slug, target=extract, ip_address=ip_address,
        detail={"rows": extract.row_count},
    )  # fmt: skip
    return iter_decrypted(Path(extract.file_path), unwrap_key(bytes(extract.data_key_wrapped)))


def _extract_file_delete(extract: Extract) -> None:
    if extract.file_path:
        Path(extract.file_path).unlink(missing_ok=True)
    Extract.objects.filter(pk=extract.pk).update(status=ExtractStatus.EXPIRED, file_path="")


def extract_delete(*, extract: Extract, reason: str) -> None:
    """Delete an extract's file now (its request ended); audited."""
    _extract_file_delete(extract)
    audit_record(
        actor=None, action="extract_deleted", agency=extract.agency,
        dataset_slug=extract.dataset.slug, target=extract, detail={"reason": reason},
        system="retention",
    )  # fmt: skip


def extracts_expire(*, now: datetime.datetime | None = None) -> int:
    """Delete extract files whose time is up (``HUB_EXTRACT_RETENTION_DAYS`` after they were
    made); one audit entry per analysts' agency and dataset that had extracts deleted."""
    now = now or timezone.now()
    expired = Extract.objects.filter(status=ExtractStatus.COMPLETED, expires_at__lt=now)
    deleted: dict[tuple[Agency, Dataset], list[str]] = {}
    for extract in expired.select_related("agency", "dataset").order_by("created_at"):
        _extract_file_delete(extract)
        deleted.setdefault((extract.agency, extract.dataset), []).append(str(extract.pk))
    for (agency, dataset), extract_ids in deleted.items():
        audit_record(
            actor=None, action="extracts_expired", agency=agency, dataset_slug=dataset.slug,
            target=dataset,
            detail={"extracts": len(extract_ids), "ids": extract_ids, "boundary": now.isoformat(),
                    "retention_days": settings.HUB_EXTRACT_RETENTION_DAYS},
            system="retention",
        )  # fmt: skip
    stale = Extract.objects.filter(status=ExtractStatus.RUNNING, lease_until__lt=now)
    for extract in stale.select_related("dataset", "agency"):
        extract_fail(extract, "The extract stopped part-way; request it again.")
    return sum(len(extract_ids) for extract_ids in deleted.values())


def extracts_reap(*, now: datetime.datetime | None = None) -> list[str]:
    """Queue again the extracts still waiting a lease's length after they were requested: their
    task was lost (the broker was down when they were requested). Returns the ids queued; a
    second delivery is harmless, since a run claims the extract first."""
    now = now or timezone.now()
    waiting_since = now - datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)
    lost = Extract.objects.filter(status=ExtractStatus.QUEUED, created_at__lt=waiting_since)
    reaped = [str(extract_id) for extract_id in lost.values_list("pk", flat=True)]
    for extract_id in reaped:
        _extract_enqueue(extract_id)
    return reaped
