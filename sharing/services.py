"""Writes to the partnership's Information Sharing Protocol, its signatures and the access
profiles that say who may extract what."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from datasets.choices import FieldClass
from datasets.models import Dataset
from hub.choices import IspTier
from hub.crypto import EncryptingWriter, iter_decrypted, new_data_key, unwrap_key, wrap_key
from hub.models import Agency, Partnership, User
from hub.services import audit_record
from sharing.choices import (
    LEVEL_ORDER,
    LEVEL_PERMISSIONS,
    AccessLevel,
    ExtractFormat,
    ExtractStatus,
)
from sharing.extracts import (
    LOCATION_COLUMNS,
    MARKING,
    ExtractQuery,
    ExtractRefused,
    KAnonymity,
    category_fields,
    link_prefix,
    linkable,
    neutralise_formulas,
    record_fields,
    stream_rows,
    suppress_counts,
    write_csv_zip,
    write_geojson,
    write_xlsx,
)
from sharing.models import (
    AccessGrant,
    AccessProfile,
    Extract,
    InformationSharingProtocol,
    Signature,
)
from sharing.selectors import agency_standing

logger = logging.getLogger(__name__)


@transaction.atomic
def isp_ensure(
    *,
    partnership: Partnership,
    version: str,
    adopted_on: datetime.date,
    review_due: datetime.date,
    acting_user: User | None,
    system: str = "",
) -> InformationSharingProtocol:
    if review_due <= adopted_on:
        raise ValueError("An ISP's review date must come after the date it was adopted.")
    isp, created = InformationSharingProtocol.objects.update_or_create(
        partnership=partnership,
        version=version,
        defaults={"adopted_on": adopted_on, "review_due": review_due},
    )
    if created:
        audit_record(
            actor=acting_user,
            action="isp_adopted",
            target=isp,
            detail={"version": version, "review_due": review_due.isoformat()},
            system=system,
        )
    return isp


@transaction.atomic
def signature_record(
    *,
    isp: InformationSharingProtocol,
    agency: Agency,
    tier: str,
    signed_on: datetime.date,
    signatory_name: str,
    acting_user: User | None,
    system: str = "",
) -> Signature:
    """Record (or correct) an agency's signature of an ISP version in a tier."""
    if agency.partnership_id != isp.partnership_id:
        raise ValueError(f"{agency} is not a partner of {isp.partnership}.")
    signature, created = Signature.objects.update_or_create(
        isp=isp,
        agency=agency,
        defaults={"tier": tier, "signed_on": signed_on, "signatory_name": signatory_name},
    )
    audit_record(
        actor=acting_user,
        action="isp_signed" if created else "isp_signature_changed",
        agency=agency,
        target=signature,
        detail={"version": isp.version, "tier": tier, "signatory": signatory_name},
        system=system,
    )
    return signature


@transaction.atomic
def signature_withdraw(
    *, signature: Signature, withdrawn_on: datetime.date, acting_user: User | None, system=""
) -> Signature:
    """The agency leaves the ISP: from that date its users get nothing."""
    signature.withdrawn_on = withdrawn_on
    signature.save(update_fields=["withdrawn_on"])
    audit_record(
        actor=acting_user,
        action="isp_signature_withdrawn",
        agency=signature.agency,
        target=signature,
        detail={"version": signature.isp.version, "withdrawn_on": withdrawn_on.isoformat()},
        system=system,
    )
    return signature


@transaction.atomic
def access_profile_ensure(
    *,
    partnership: Partnership,
    name: str,
    levels: dict[Dataset, str],
    description: str = "",
    acting_user: User | None,
    system: str = "",
) -> AccessProfile:
    """Create or update a profile to grant exactly ``levels``; its holders' permissions follow.

    Personal level is refused: it comes only from an approved personal-data request.
    """
    if AccessLevel.PERSONAL in levels.values():
        raise ValueError("Personal-level access is granted by an approved request, not a profile.")
    profile, created = AccessProfile.objects.get_or_create(partnership=partnership, name=name)
    wanted = {dataset.pk: level for dataset, level in levels.items()}
    held = dict(profile.grants.values_list("dataset_id", "level"))
    if not created and held == wanted and profile.description == description:
        return profile
    profile.description = description
    profile.save(update_fields=["description"])
    profile.grants.exclude(dataset__in=list(levels)).delete()
    for dataset, level in levels.items():
        AccessGrant.objects.update_or_create(
            profile=profile, dataset=dataset, defaults={"level": level}
        )
    for holder in [*profile.users.all(), *profile.groups.all()]:
        _sync_permissions(holder)
    audit_record(
        actor=acting_user,
        action="access_profile_changed",
        target=profile,
        detail={"name": name, "levels": {d.slug: level for d, level in levels.items()}},
        system=system,
    )
    return profile


@transaction.atomic
def access_profile_assign(
    *, profile: AccessProfile, holder: User | Group, acting_user: User | None, system: str = ""
) -> None:
    """Give a user or a group the profile's levels."""
    members = profile.users if isinstance(holder, User) else profile.groups
    members.add(holder)
    _sync_permissions(holder)
    audit_record(
        actor=acting_user,
        action="access_profile_assigned",
        target=profile,
        detail={"profile": profile.name, "holder": str(holder)},
        system=system,
    )


@transaction.atomic
def access_profile_unassign(
    *, profile: AccessProfile, holder: User | Group, acting_user: User | None, system: str = ""
) -> None:
    members = profile.users if isinstance(holder, User) else profile.groups
    members.remove(holder)
    _sync_permissions(holder)
    audit_record(
        actor=acting_user,
        action="access_profile_unassigned",
        target=profile,
        detail={"profile": profile.name, "holder": str(holder)},
        system=system,
    )


def _sync_permissions(holder: User | Group) -> None:
    """Make the holder's guardian permissions on datasets exactly what its profiles grant."""
    is_user = isinstance(holder, User)
    grants = AccessGrant.objects.filter(
        **({"profile__users": holder} if is_user else {"profile__groups": holder})
    )
    best: dict[int, str] = {}
    for dataset_id, level in grants.values_list("dataset_id", "level"):
        if LEVEL_ORDER.index(level) > LEVEL_ORDER.index(best.get(dataset_id, AccessLevel.NONE)):
            best[dataset_id] = level
    codenames = [permission.split(".")[1] for permission in LEVEL_PERMISSIONS.values()]
    held = UserObjectPermission if is_user else GroupObjectPermission
    held.objects.filter(
        **({"user": holder} if is_user else {"group": holder}),
        content_type=ContentType.objects.get_for_model(Dataset),
        permission__codename__in=codenames,
    ).delete()
    for level, permission in LEVEL_PERMISSIONS.items():
        dataset_ids = [dataset_id for dataset_id, held_level in best.items() if held_level == level]
        if dataset_ids:
            assign_perm(permission, holder, Dataset.objects.filter(pk__in=dataset_ids))


# -- extracts ---------------------------------------------------------------------------------


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
    ip_address: str | None = None,
) -> Extract:
    """Queue an extract if the user's access allows every part of it; else ExtractRefused.

    Grants and refusals are both audited, with the reason.
    """
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
        )
    except ExtractRefused as refusal:
        audit_record(
            actor=acting_user,
            action="extract_refused",
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
    linked_dataset, category,
) -> Extract:  # fmt: skip
    from sharing.selectors import access_decision, analyst_standing

    decision = access_decision(user=acting_user, dataset=dataset)
    if decision.level == AccessLevel.NONE:
        raise ExtractRefused(decision.reason)
    level = level or (
        AccessLevel.DEPERSONALISED
        if decision.allows(AccessLevel.DEPERSONALISED)
        else AccessLevel.AGGREGATE
    )
    if level not in (AccessLevel.AGGREGATE, AccessLevel.DEPERSONALISED, AccessLevel.PERSONAL):
        raise ExtractRefused(f"{level!r} is not a level: choose aggregate or depersonalised.")
    if not decision.allows(level):
        raise ExtractRefused(
            f"You may extract {dataset.name} at {decision.level} level only. {decision.reason}"
        )
    if period_end < period_start:
        raise ExtractRefused("The period ends before it starts.")
    if file_format not in ExtractFormat.values:
        raise ExtractRefused(f"{file_format!r} is not a format: choose csv, xlsx or geojson.")
    schema = dataset.schema
    chosen: list[str] = []
    if level == AccessLevel.AGGREGATE:
        if file_format == ExtractFormat.GEOJSON:
            raise ExtractRefused("Aggregate counts have no points to map: choose csv or xlsx.")
        if linked_dataset is not None:
            raise ExtractRefused("Aggregate counts are of one dataset: leave out the linked one.")
        if category and category not in category_fields(schema):
            raise ExtractRefused(f"Counts cannot be broken down by {category!r}.")
    else:
        allowed = record_fields(schema)
        chosen = list(fields) if fields else allowed
        _check_fields(chosen, allowed, schema, dataset)
        if linked_dataset is not None:
            if linked_dataset not in linkable(dataset):
                raise ExtractRefused(f"{linked_dataset.name} does not link to {dataset.name}.")
            linked_decision = access_decision(user=acting_user, dataset=linked_dataset)
            if not linked_decision.allows(level):
                raise ExtractRefused(
                    f"You may not extract {linked_dataset.name} at {level} level. "
                    f"{linked_decision.reason}"
                )
    _check_area(area)
    agency, _ = analyst_standing(user=acting_user)
    return Extract(
        created_by=acting_user,
        agency=agency,
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
    names = {spec.name: spec for spec in schema.fields}
    for name in chosen:
        if name in allowed:
            continue
        if name in names and names[name].field_class == FieldClass.IDENTIFYING:
            raise ExtractRefused(
                f"{name} is an identifying field: it is never part of a depersonalised "
                "extract. Personal data need an approved personal-data request."
            )
        if name in LOCATION_COLUMNS:
            continue
        raise ExtractRefused(f"{dataset.name} has no field {name!r}.")


def _check_area(area: dict) -> None:
    unknown = set(area) - {"districts", "bbox"}
    if unknown:
        raise ExtractRefused(f"Areas are given as districts or bbox, not {sorted(unknown)}.")
    bbox = area.get("bbox")
    if bbox is not None and (len(bbox) != 4 or bbox[0] >= bbox[2] or bbox[1] >= bbox[3]):
        raise ExtractRefused("bbox is [min easting, min northing, max easting, max northing].")


def _extract_metadata(extract: Extract, query: ExtractQuery, supplies: list[dict]) -> dict:
    from sanitise.reference import OS_ATTRIBUTION
    from sharing.selectors import isp_current

    isp = isp_current(partnership=extract.agency.partnership)
    schema = extract.dataset.schema
    specs = {spec.name: spec for spec in schema.fields}
    fields = [{"name": "event_date", "description": "The date that places the record in time."}]
    fields += [
        {"name": name, "description": f"{specs[name].title}: {specs[name].description}"}
        for name in extract.fields
    ]
    fields += [
        {"name": "easting, northing", "description": "Sanitised location (British National "
         "Grid, metres): a postcode centroid, a named place or a site, never an address."},
        {"name": "postcode", "description": "The postcode of that location (substituted "
         "where the record's own postcode has fewer than four households)."},
        {"name": "location_method", "description": "centroid, moved, place, site or unlocated."},
    ]  # fmt: skip
    if extract.linked_dataset:
        prefix = link_prefix(extract.dataset.slug, extract.linked_dataset.slug)
        linked_specs = {spec.name: spec for spec in extract.linked_dataset.schema.fields}
        fields += [
            {"name": prefix + name, "description": f"{linked_specs[name].title} "
             f"({extract.linked_dataset.name}): {linked_specs[name].description}"}
            for name in query.linked_fields
        ]  # fmt: skip
    return {
        "marking": MARKING,
        "conditions": [
            f"Shared under the Information Sharing Protocol of {isp.partnership}, version "
            f"{isp.version}."
            if isp
            else "No ISP is in force.",
            "For community safety purposes of the partnership only. Do not pass it on, publish "
            "it or match it against other data to identify anyone.",
            "Delete it when it has served its purpose, and in any case by "
            f"{timezone.localtime(extract.expires_at):%d/%m/%Y}.",
        ],
        "extract_id": str(extract.pk),
        "dataset": extract.dataset.name
        + (f" joined with {extract.linked_dataset.name}" if extract.linked_dataset else ""),
        "level": extract.level,
        "period": f"{extract.period_start:%d/%m/%Y} to {extract.period_end:%d/%m/%Y}",
        "area": extract.area or "the whole partnership",
        "extracted_by": f"{extract.created_by.get_full_name() or extract.created_by} "
        f"({extract.agency})",
        "extracted_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        "fields": fields,
        "supplies": supplies,
        "attribution": OS_ATTRIBUTION,
    }


def extract_run(extract_id) -> None:
    """Build the extract's file, encrypted, if it is still queued; safe to call twice."""
    claimed = Extract.objects.filter(pk=extract_id, status=ExtractStatus.QUEUED).update(
        status=ExtractStatus.RUNNING, lease_until=timezone.now() + _lease()
    )
    if not claimed:
        return
    extract = Extract.objects.select_related(
        "dataset", "linked_dataset", "agency__partnership", "created_by"
    ).get(pk=extract_id)
    try:
        _extract_build(extract)
    except ExtractRefused as refusal:
        _extract_fail(extract, str(refusal))
    except Exception:
        logger.exception("Extract %s failed", extract_id)
        _extract_fail(extract, "An internal error stopped the extract; request it again.")


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)


def _extract_fail(extract: Extract, message: str) -> None:
    Extract.objects.filter(pk=extract.pk).update(
        status=ExtractStatus.FAILED, failure=message, finished_at=timezone.now(), lease_until=None
    )
    audit_record(
        actor=None, action="extract_failed", agency=extract.agency,
        dataset_slug=extract.dataset.slug, target=extract, detail={"failure": message},
        system="extracts",
    )  # fmt: skip


def _extract_build(extract: Extract) -> None:
    expires_at = timezone.now() + datetime.timedelta(days=settings.HUB_EXTRACT_RETENTION_DAYS)
    extract.expires_at = expires_at
    query = ExtractQuery(
        partnership_id=extract.agency.partnership_id,
        dataset=extract.dataset,
        period=(extract.period_start, extract.period_end),
        fields=extract.fields,
        area=extract.area,
        linked=extract.linked_dataset,
        linked_fields=(
            [
                name
                for name in record_fields(extract.linked_dataset.schema)
                if not any(name in keys for keys, _ in extract.linked_dataset.schema.links)
            ]
            if extract.linked_dataset
            else []
        ),
    )
    supplies = query.supplies()
    metadata = _extract_metadata(extract, query, supplies)
    base_name = f"{extract.dataset.slug}_{extract.period_start:%Y%m%d}_{extract.pk.hex[:8]}"
    data_key = new_data_key()
    path = Path(settings.HUB_FILES_DIR) / "extracts" / f"{extract.pk}.enc"
    path.unlink(missing_ok=True)

    if extract.level == AccessLevel.AGGREGATE:
        threshold = settings.HUB_EXTRACT_SMALL_NUMBER
        table = suppress_counts(query.counts(extract.category or None), threshold)
        metadata["disclosure"] = (
            f"Counts from 1 to {threshold - 1} are shown as <{threshold}; further counts are "
            "suppressed so that no hidden count can be worked out from a total."
        )
        columns = ["month", "area", extract.category or "category", "count"]
        table.columns = columns
        frames = iter([neutralise_formulas(table)])
    else:
        select, params, columns = query.records()
        frames = _with_progress(
            extract,
            query.count(),
            (neutralise_formulas(chunk) for chunk in stream_rows(select, params, columns)),
        )
        agency_tier = agency_standing(agency=extract.agency).tier
        if agency_tier == IspTier.ASSOCIATE:
            quasi = _quasi_columns(extract, columns)
            if quasi:
                check = KAnonymity(quasi=quasi, k=settings.HUB_EXTRACT_K)
                check.learn(stream_rows(select, params, columns))
                frames = (check.apply(chunk) for chunk in frames)
                frames = _then(frames, lambda: metadata.update(disclosure=_k_text(check)))
    suffix = {"csv": "zip", "xlsx": "xlsx", "geojson": "geojson"}[extract.file_format]
    with EncryptingWriter(path, data_key) as out:
        if extract.file_format == ExtractFormat.CSV:
            rows = write_csv_zip(out, base_name, frames, columns, metadata)
        elif extract.file_format == ExtractFormat.XLSX:
            rows = write_xlsx(out, frames, columns, metadata)
        else:
            rows = write_geojson(out, frames, metadata)
    Extract.objects.filter(pk=extract.pk, status=ExtractStatus.RUNNING).update(
        status=ExtractStatus.COMPLETED,
        progress=100,
        row_count=rows,
        file_path=str(path),
        file_name=f"{base_name}.{suffix}",
        data_key_wrapped=wrap_key(data_key),
        metadata=metadata,
        finished_at=timezone.now(),
        expires_at=expires_at,
        lease_until=None,
    )
    audit_record(
        actor=None, action="extract_created", agency=extract.agency,
        dataset_slug=extract.dataset.slug, target=extract,
        detail={"rows": rows, "for": extract.created_by.get_username()}, system="extracts",
    )  # fmt: skip


def _quasi_columns(extract: Extract, columns: list[str]) -> list[str]:
    specs = {spec.name: spec for spec in extract.dataset.schema.fields}
    quasi = [c for c in columns if c in specs and specs[c].field_class == FieldClass.QUASI]
    return quasi + (["postcode"] if "postcode" in columns and "postcode" not in quasi else [])


def _k_text(check: KAnonymity) -> str:
    return (
        f"k-anonymity with k = {check.k} over {', '.join(check.quasi)}: "
        f"{check.generalised_rows} rows generalised (age to 5-year bands, postcode to sector, "
        f"coordinates removed), {check.suppressed_rows} rows' quasi-identifiers suppressed."
    )


def _with_progress(extract: Extract, total: int, frames):
    """Pass the frames on, recording progress and renewing the lease as each goes."""
    done = 0
    for frame in frames:
        yield frame
        done += len(frame)
        Extract.objects.filter(pk=extract.pk, status=ExtractStatus.RUNNING).update(
            progress=min(99, int(100 * done / max(total, 1))),
            lease_until=timezone.now() + _lease(),
        )


def _then(frames, callback):
    """Yield the frames, then run ``callback`` (to record what was done to all of them)."""
    yield from frames
    callback()


def extract_download(*, extract: Extract, acting_user: User, ip_address: str | None = None):
    """The decrypted file as a stream of bytes; audited. ExtractRefused once it has expired."""
    if extract.status != ExtractStatus.COMPLETED:
        raise ExtractRefused(f"The extract is {extract.get_status_display().lower()}.")
    audit_record(
        actor=acting_user, action="extract_downloaded", agency=extract.agency,
        dataset_slug=extract.dataset.slug, target=extract, ip_address=ip_address,
        detail={"rows": extract.row_count},
    )  # fmt: skip
    return iter_decrypted(Path(extract.file_path), unwrap_key(bytes(extract.data_key_wrapped)))


def extracts_expire(*, now: datetime.datetime | None = None) -> int:
    """Delete extract files whose time is up; audited."""
    now = now or timezone.now()
    expired = Extract.objects.filter(status=ExtractStatus.COMPLETED, expires_at__lt=now)
    count = 0
    for extract in expired.select_related("dataset", "agency"):
        Path(extract.file_path).unlink(missing_ok=True)
        Extract.objects.filter(pk=extract.pk).update(status=ExtractStatus.EXPIRED, file_path="")
        audit_record(
            actor=None, action="extract_expired", agency=extract.agency,
            dataset_slug=extract.dataset.slug, target=extract, system="retention",
        )  # fmt: skip
        count += 1
    stale = Extract.objects.filter(status=ExtractStatus.RUNNING, lease_until__lt=now)
    for extract in stale.select_related("dataset", "agency"):
        _extract_fail(extract, "The extract stopped part-way; request it again.")
    return count
