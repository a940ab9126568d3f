"""Writes to the partnership's Information Sharing Protocol, its signatures and the access
profiles that say who may extract what."""

from __future__ import annotations

import datetime
import logging
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from datasets.choices import FieldClass
from datasets.models import Dataset
from datasets.spreadsheets import neutralise_formulas
from hub.access import coordinated_partnership, coordinator_check, role_holders
from hub.choices import IspTier, Role
from hub.crypto import (
    EncryptingWriter,
    iter_decrypted,
    master_key_id,
    new_data_key,
    open_encrypted,
    unwrap_key,
    wrap_key,
)
from hub.models import Agency, Partnership, User
from hub.services import audit_record, tokens_revoke
from hub.uploads import EncryptedUpload
from sharing.access import (
    AccessRefused,
    RecordScope,
    extract_scope_check,
    refuse,
)
from sharing.choices import (
    LEVEL_ORDER,
    LEVEL_PERMISSIONS,
    AccessLevel,
    ExtractFormat,
    ExtractStatus,
    FoiAnswer,
    FoiStatus,
    SignatureTier,
)
from sharing.extracts import (
    CIPHERTEXT,
    LOCATION_COLUMNS,
    MARKING,
    ROW,
    SUPPLY,
    ExtractQuery,
    ExtractRefused,
    IdentifyingFields,
    KAnonymity,
    category_fields,
    link_prefix,
    linkable,
    period_invalid,
    personal_fields,
    record_fields,
    stream_rows,
    suppress_counts,
    write_csv_copy,
    write_csv_zip,
    write_geojson,
    write_xlsx,
)
from sharing.models import (
    AccessGrant,
    AccessProfile,
    Document,
    DocumentVersion,
    Extract,
    FoiRequest,
    InformationSharingProtocol,
    SharedDataset,
    Signature,
)
from sharing.selectors import (
    agency_standing,
    document_may_upload,
    document_restrict,
    foi_may_answer,
)

logger = logging.getLogger(__name__)


class GovernanceRefused(Exception):
    """The action is not allowed; the message says why."""


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
    """Record (or correct) an agency's signature of an ISP version in a tier; for the
    partnership's co-ordinator (GovernanceRefused, audited, for anyone else). A correction
    that lowers the agency's standing revokes its users' API tokens."""
    coordinator_check(
        acting_user=acting_user, partnership=isp.partnership, service="signature_record",
        act="record its agencies' ISP signatures", refusal=GovernanceRefused, agency=agency,
        system=system,
    )  # fmt: skip
    if agency.partnership_id != isp.partnership_id:
        raise ValueError(f"{agency} is not a partner of {isp.partnership}.")
    with transaction.atomic():
        previous = Signature.objects.filter(isp=isp, agency=agency).first()
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
        if previous is not None and _signature_lowered(previous, tier=tier, signed_on=signed_on):
            tokens_revoke(
                users=User.objects.filter(memberships__agency=agency).distinct(),
                reason=f"{agency}'s ISP signature lowered", acting_user=acting_user,
                system=system,
            )  # fmt: skip
    return signature


def _signature_lowered(previous: Signature, *, tier: str, signed_on: datetime.date) -> bool:
    # Core gives more than associate; a signature dated after today gives nothing until then.
    today = timezone.localdate()
    return (previous.tier == SignatureTier.CORE and tier != SignatureTier.CORE) or (
        previous.signed_on <= today < signed_on
    )


def signature_withdraw(
    *, signature: Signature, withdrawn_on: datetime.date, acting_user: User | None, system=""
) -> Signature:
    """The agency leaves the ISP: from that date its users get nothing, and their API tokens
    are revoked now. For the partnership's co-ordinator (GovernanceRefused, audited, for
    anyone else)."""
    coordinator_check(
        acting_user=acting_user, partnership=signature.isp.partnership,
        service="signature_withdraw", act="record its agencies' withdrawals from the ISP",
        refusal=GovernanceRefused, agency=signature.agency, system=system,
    )  # fmt: skip
    with transaction.atomic():
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
        tokens_revoke(
            users=User.objects.filter(memberships__agency=signature.agency).distinct(),
            reason=f"{signature.agency} withdrew from the ISP", acting_user=acting_user,
            system=system,
        )  # fmt: skip
    return signature


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
    For the partnership's co-ordinator (GovernanceRefused, audited, for anyone else).

    Personal level is refused: it comes only from an approved personal-data request. A level
    lowered (or a dataset dropped) revokes the API tokens of every holder.
    """
    coordinator_check(
        acting_user=acting_user, partnership=partnership, service="access_profile_ensure",
        act="change its access profiles", refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    if AccessLevel.PERSONAL in levels.values():
        raise ValueError("Personal-level access is granted by an approved request, not a profile.")
    with transaction.atomic():
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
        lowered = any(
            LEVEL_ORDER.index(wanted.get(dataset_id, AccessLevel.NONE)) < LEVEL_ORDER.index(level)
            for dataset_id, level in held.items()
        )
        if lowered:
            tokens_revoke(
                users=_profile_holders(profile), reason=f"access profile {name} lowered",
                acting_user=acting_user, system=system,
            )  # fmt: skip
    return profile


def _profile_holders(profile: AccessProfile):
    """The users holding the profile, themselves or through a group."""
    return User.objects.filter(
        Q(access_profiles=profile) | Q(groups__access_profiles=profile)
    ).distinct()


def access_profile_assign(
    *, profile: AccessProfile, holder: User | Group, acting_user: User | None, system: str = ""
) -> None:
    """Give a user or a group the profile's levels. For the co-ordinator of the profile's
    partnership (GovernanceRefused, audited, for anyone else)."""
    coordinator_check(
        acting_user=acting_user, partnership=profile.partnership,
        service="access_profile_assign", act="assign its access profiles",
        refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    with transaction.atomic():
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


def access_profile_unassign(
    *, profile: AccessProfile, holder: User | Group, acting_user: User | None, system: str = ""
) -> None:
    """Take the profile from a user or a group, and revoke the API tokens of the users who
    held it so. For the co-ordinator of the profile's partnership (GovernanceRefused,
    audited, for anyone else)."""
    coordinator_check(
        acting_user=acting_user, partnership=profile.partnership,
        service="access_profile_unassign", act="unassign its access profiles",
        refusal=GovernanceRefused, system=system,
    )  # fmt: skip
    is_user = isinstance(holder, User)
    with transaction.atomic():
        members = profile.users if is_user else profile.groups
        held = members.filter(pk=holder.pk).exists()
        members.remove(holder)
        _sync_permissions(holder)
        audit_record(
            actor=acting_user,
            action="access_profile_unassigned",
            target=profile,
            detail={"profile": profile.name, "holder": str(holder)},
            system=system,
        )
        if held:
            tokens_revoke(
                users=[holder] if is_user else holder.user_set.all(),
                reason=f"access profile {profile.name} unassigned",
                acting_user=acting_user, system=system,
            )  # fmt: skip


def _sync_permissions(holder: User | Group) -> None:
    """Make the holder's guardian permissions exactly what its profiles grant, held per
    partnership: on the dataset as shared in the profile's partnership."""
    is_user = isinstance(holder, User)
    grants = AccessGrant.objects.filter(
        **({"profile__users": holder} if is_user else {"profile__groups": holder})
    )
    best: dict[tuple[int, int], str] = {}
    for partnership_id, dataset_id, level in grants.values_list(
        "profile__partnership_id", "dataset_id", "level"
    ):
        key = (partnership_id, dataset_id)
        if LEVEL_ORDER.index(level) > LEVEL_ORDER.index(best.get(key, AccessLevel.NONE)):
            best[key] = level
    held = UserObjectPermission if is_user else GroupObjectPermission
    held.objects.filter(
        **({"user": holder} if is_user else {"group": holder}),
        content_type=ContentType.objects.get_for_model(SharedDataset),
    ).delete()
    for level, permission in LEVEL_PERMISSIONS.items():
        keys = [key for key, held_level in best.items() if held_level == level]
        if keys:
            shared = [
                SharedDataset.objects.get_or_create(partnership_id=p, dataset_id=d)[0].pk
                for p, d in keys
            ]
            assign_perm(permission, holder, SharedDataset.objects.filter(pk__in=shared))


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
    from sharing.access import access_decision, record_scope, refuse

    if level is None:
        decision = access_decision(user=acting_user, dataset=dataset, partnership=partnership)
        level = (
            AccessLevel.DEPERSONALISED
            if decision.allows(AccessLevel.DEPERSONALISED)
            else AccessLevel.AGGREGATE
        )
    scope = record_scope(
        user=acting_user, dataset=dataset, level=level, route="extract",
        partnership=partnership, data_request_id=data_request_id, ip_address=ip_address,
    )  # fmt: skip
    period_problem = period_invalid(period_start, period_end)
    if period_problem:
        raise ExtractRefused(period_problem)
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
    _check_area(area)
    if scope.districts is not None and not area:
        area = {"districts": list(scope.districts)}
    asked = [name for name in chosen if name not in LOCATION_COLUMNS]
    beyond = scope.outside(period=(period_start, period_end), fields=asked, area=area)
    if beyond:
        raise refuse(
            user=acting_user, route="extract", reason=beyond, dataset_slug=dataset.slug,
            agency=scope.agency, detail={"level": level}, ip_address=ip_address,
        )  # fmt: skip
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


class ExtractInterrupted(Exception):
    """The database connection was lost while the extract was made; it is queued again."""


def extract_run(extract_id, *, last_attempt: bool = True) -> None:
    """Build the extract's file, encrypted, if it is still queued; safe to call twice.

    If the database connection drops part-way (PostgreSQL restarting), the part written is
    deleted and the extract is queued again (ExtractInterrupted, for the task to retry) or,
    on the last attempt, failed with a message: it is never completed with part of its rows.
    """
    # Read before the claim, so that from the claim on every failure is handled below.
    extract = (
        Extract.objects.select_related(
            "dataset", "linked_dataset", "agency__partnership", "created_by"
        )
        .filter(pk=extract_id, status=ExtractStatus.QUEUED)
        .first()
    )
    if extract is None:
        return
    claimed = Extract.objects.filter(pk=extract_id, status=ExtractStatus.QUEUED).update(
        status=ExtractStatus.RUNNING, lease_until=timezone.now() + _lease()
    )
    if not claimed:
        return
    try:
        _extract_build(extract)
    except (ExtractRefused, AccessRefused) as refusal:
        _extract_fail(extract, str(refusal))
    except (OperationalError, InterfaceError) as error:
        logger.warning("Extract %s lost its database connection: %s", extract_id, error)
        connection.close()  # the next query opens a new one
        if last_attempt:
            _extract_fail(
                extract,
                "The connection to the database was lost while the extract was made; "
                "request it again.",
            )
            return
        _extract_path(extract.pk).unlink(missing_ok=True)
        Extract.objects.filter(pk=extract.pk, status=ExtractStatus.RUNNING).update(
            status=ExtractStatus.QUEUED, lease_until=None, progress=0
        )
        raise ExtractInterrupted(str(extract_id)) from error
    except Exception:
        logger.exception("Extract %s failed", extract_id)
        _extract_fail(extract, "An internal error stopped the extract; request it again.")


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)


def _extract_path(extract_id) -> Path:
    return Path(settings.HUB_FILES_DIR) / "extracts" / f"{extract_id}.enc"


def _extract_fail(extract: Extract, message: str) -> None:
    # Whatever was written before the failure is only part of the file.
    _extract_path(extract.pk).unlink(missing_ok=True)
    with transaction.atomic():
        Extract.objects.filter(pk=extract.pk).update(
            status=ExtractStatus.FAILED,
            failure=message,
            finished_at=timezone.now(),
            lease_until=None,
        )
        audit_record(
            actor=None, action="extract_failed", agency=extract.agency,
            dataset_slug=extract.dataset.slug, target=extract, detail={"failure": message},
            system="extracts",
        )  # fmt: skip


def extract_query(extract: Extract, scope: RecordScope) -> ExtractQuery:
    """The query an extract's file is made from, within the gate's scope: its dataset,
    period, area and fields, the linked dataset's fields, and identifying fields only at
    personal level."""
    return scope.query(
        period=(extract.period_start, extract.period_end),
        fields=[name for name in extract.fields if name in record_fields(extract.dataset.schema)],
        area=extract.area,
        linked=extract.linked_dataset,
        identifying=(
            [name for name in extract.fields if name in personal_fields(extract.dataset.schema)]
            if extract.level == AccessLevel.PERSONAL
            else []
        ),
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


def _extract_build(extract: Extract) -> None:
    expires_at = timezone.now() + datetime.timedelta(days=settings.HUB_EXTRACT_RETENTION_DAYS)
    extract.expires_at = expires_at
    # The gate again: what was allowed when it was asked for may not be now.
    scope = extract_scope_check(extract=extract, route="extract build")
    query = extract_query(extract, scope)
    supplies = query.supplies()
    metadata = _extract_metadata(extract, query, supplies)
    # The tier whose disclosure control the file was made under: a download once the agency
    # stands lower is refused (sharing.access.extract_scope_check).
    agency_tier = metadata["tier"] = agency_standing(agency=extract.agency).tier
    base_name = f"{extract.dataset.slug}_{extract.period_start:%Y%m%d}_{extract.pk.hex[:8]}"
    data_key = new_data_key()
    path = _extract_path(extract.pk)
    path.unlink(missing_ok=True)

    copied = False
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
        quasi = _quasi_columns(extract, columns) if agency_tier == IspTier.ASSOCIATE else []
        # Rows that need no work in Python: PostgreSQL writes their CSV (write_csv_copy).
        copied = extract.file_format == ExtractFormat.CSV and not query.identifying and not quasi
    if extract.level != AccessLevel.AGGREGATE and not copied:
        rows = stream_rows(select, params, columns)
        if query.identifying:
            revealer = IdentifyingFields(query.identifying)
            rows = (revealer.apply(chunk) for chunk in rows)
            helpers = {CIPHERTEXT, SUPPLY, ROW}
            columns = [c for c in columns if c not in helpers]
            columns += [name for name in query.identifying if name not in columns]
        frames = _with_progress(
            extract, query.count(), (neutralise_formulas(chunk) for chunk in rows)
        )
        if quasi:
            check = KAnonymity(quasi=quasi, k=settings.HUB_EXTRACT_K)
            check.learn(stream_rows(select, params, columns))
            frames = (check.apply(chunk) for chunk in frames)
            frames = _then(frames, lambda: metadata.update(disclosure=_k_text(check)))
    suffix = {"csv": "zip", "xlsx": "xlsx", "geojson": "geojson"}[extract.file_format]
    with EncryptingWriter(path, data_key) as out:
        if copied:
            rows = write_csv_copy(
                out, base_name, query, columns, metadata,
                progress=lambda done, total: _record_progress(extract, done, total),
            )  # fmt: skip
        elif extract.file_format == ExtractFormat.CSV:
            rows = write_csv_zip(out, base_name, frames, columns, metadata)
        elif extract.file_format == ExtractFormat.XLSX:
            rows = write_xlsx(out, frames, columns, metadata)
        else:
            rows = write_geojson(out, frames, metadata)
    # Ready and on record together: a connection lost in between leaves neither.
    with transaction.atomic():
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
        _record_progress(extract, done, total)


def _record_progress(extract: Extract, done: int, total: int) -> None:
    """Record how far the extract is, and renew its lease."""
    Extract.objects.filter(pk=extract.pk, status=ExtractStatus.RUNNING).update(
        progress=min(99, int(100 * done / max(total, 1))),
        lease_until=timezone.now() + _lease(),
    )


def _then(frames, callback):
    """Yield the frames, then run ``callback`` (to record what was done to all of them)."""
    yield from frames
    callback()


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
        extract_scope_check(extract=extract, route="extract download", ip_address=ip_address)
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
        _extract_fail(extract, "The extract stopped part-way; request it again.")
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


# -- document library -------------------------------------------------------------------------

# Accepted by extension; the content type a download is served with follows from it.
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".csv": "text/csv",
    ".txt": "text/plain",
}
# The first bytes each binary type must start with, so that another kind of file renamed to
# an accepted extension is refused. Office and OpenDocument files are ZIP archives.
_DOCUMENT_SIGNATURES = {
    ".pdf": b"%PDF-",
    ".docx": b"PK\x03\x04",
    ".xlsx": b"PK\x03\x04",
    ".pptx": b"PK\x03\x04",
    ".odt": b"PK\x03\x04",
}


class DocumentRefused(Exception):
    """The library refuses this upload or download; the message says why, to the user."""


def documents_dir() -> Path:
    return Path(settings.HUB_FILES_DIR) / "documents"


def document_content_type(version: DocumentVersion) -> str:
    return DOCUMENT_TYPES.get(Path(version.original_filename).suffix.lower(), "text/plain")


def _document_file_check(upload: EncryptedUpload) -> None:
    suffix = Path(upload.name).suffix.lower()
    if suffix not in DOCUMENT_TYPES:
        raise DocumentRefused(
            f"{upload.name} is not an accepted type: PDF, Word (.docx), Excel (.xlsx), "
            "PowerPoint (.pptx), OpenDocument text (.odt), CSV or plain text (.txt)."
        )
    signature = _DOCUMENT_SIGNATURES.get(suffix)
    if signature is not None:
        with open_encrypted(upload.path, unwrap_key(upload.data_key_wrapped)) as stream:
            start = stream.read(len(signature))
        if start != signature:
            raise DocumentRefused(f"{upload.name} is named {suffix} but is not such a file.")


def _document_refused(
    *,
    acting_user: User,
    upload: EncryptedUpload,
    reason: str,
    document: Document | None,
    ip_address: str | None,
) -> DocumentRefused:
    upload.discard()
    audit_record(
        actor=acting_user,
        action="document_refused",
        target=document,
        detail={"reason": reason, "file": upload.name},
        ip_address=ip_address,
    )
    return DocumentRefused(reason)


def _document_file_keep(*, document: Document, upload: EncryptedUpload) -> Path:
    """Move the upload, still encrypted under its own data key, into the document's folder."""
    destination = documents_dir() / str(document.pk) / f"{uuid.uuid4().hex}.enc"
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(upload.path, destination)
    return destination


def _document_version_create(
    *, document: Document, number: int, path: Path, upload: EncryptedUpload, note: str, user: User
) -> DocumentVersion:
    return DocumentVersion.objects.create(
        document=document,
        number=number,
        note=note,
        file_path=str(path),
        data_key_wrapped=upload.data_key_wrapped,
        master_key_id=master_key_id(),
        original_filename=Path(upload.name).name[:255],
        size=upload.size,
        sha256=upload.sha256,
        uploaded_by=user,
    )


def document_create(
    *,
    acting_user: User,
    partnership: Partnership,
    title: str,
    kind: str,
    marking: str,
    description: str = "",
    audience_agencies: Iterable[Agency] = (),
    audience_tiers: Iterable[str] = (),
    upload: EncryptedUpload,
    ip_address: str | None = None,
) -> Document:
    """Add a document to the partnership's library with its first version; audited.

    Refuses (DocumentRefused, audited, the upload discarded) a user who may not upload to this
    partnership, a document with no audience, an audience agency of another partnership, and
    a file that is not one of the accepted types.
    """
    audience_agencies = list(audience_agencies)
    audience_tiers = sorted(set(audience_tiers))
    document = Document(
        partnership=partnership,
        title=title,
        kind=kind,
        marking=marking,
        description=description,
        audience_tiers=audience_tiers,
        created_by=acting_user,
    )
    try:
        if not document_may_upload(user=acting_user, partnership=partnership):
            raise DocumentRefused(
                "Only the co-ordinator and analysts at core-tier agencies add documents."
            )
        if not audience_agencies and not audience_tiers:
            raise DocumentRefused("Choose who may read it: agencies, tiers, or both.")
        if any(agency.partnership_id != partnership.pk for agency in audience_agencies):
            raise DocumentRefused("Every audience agency must be a partner of this partnership.")
        if set(audience_tiers) - {IspTier.CORE, IspTier.ASSOCIATE}:
            raise DocumentRefused("The audience tiers are core and associate.")
        _document_file_check(upload)
    except DocumentRefused as refusal:
        # Outside any transaction of the caller's, so that the refusal stays on record.
        raise _document_refused(
            acting_user=acting_user,
            upload=upload,
            reason=str(refusal),
            document=None,
            ip_address=ip_address,
        ) from refusal
    path = _document_file_keep(document=document, upload=upload)
    try:
        with transaction.atomic():
            document.save()
            document.audience_agencies.set(audience_agencies)
            version = _document_version_create(
                document=document, number=1, path=path, upload=upload, note="", user=acting_user
            )
            audit_record(
                actor=acting_user,
                action="document_created",
                target=document,
                detail={
                    "title": title,
                    "kind": kind,
                    "marking": marking,
                    "audience_agencies": [agency.name for agency in audience_agencies],
                    "audience_tiers": audience_tiers,
                    "version": version.number,
                    "file": version.original_filename,
                    "bytes": version.size,
                    "sha256": version.sha256,
                },
                ip_address=ip_address,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return document


def document_add_version(
    *,
    acting_user: User,
    document: Document,
    upload: EncryptedUpload,
    note: str = "",
    ip_address: str | None = None,
) -> DocumentVersion:
    """Add the next version of a document (numbered one above the highest so far), which
    becomes the current one; earlier versions stay. Audited; refused (DocumentRefused,
    audited, the upload discarded) for a user who may not upload or may not see the document,
    and for a file that is not one of the accepted types."""
    try:
        may_upload = document_may_upload(user=acting_user, partnership=document.partnership)
        if not may_upload or not document_restrict(user=acting_user).filter(pk=document.pk):
            raise DocumentRefused(
                "Only the co-ordinator and analysts at core-tier agencies in its audience add "
                "versions of a document."
            )
        _document_file_check(upload)
    except DocumentRefused as refusal:
        raise _document_refused(
            acting_user=acting_user,
            upload=upload,
            reason=str(refusal),
            document=document,
            ip_address=ip_address,
        ) from refusal
    path = _document_file_keep(document=document, upload=upload)
    try:
        with transaction.atomic():
            # The row lock makes two uploads at once take consecutive numbers.
            Document.objects.select_for_update().filter(pk=document.pk).get()
            highest = document.versions.aggregate(highest=Max("number"))["highest"] or 0
            version = _document_version_create(
                document=document,
                number=highest + 1,
                path=path,
                upload=upload,
                note=note,
                user=acting_user,
            )
            audit_record(
                actor=acting_user,
                action="document_version_added",
                target=document,
                detail={
                    "version": version.number,
                    "file": version.original_filename,
                    "bytes": version.size,
                    "sha256": version.sha256,
                    "note": note,
                },
                ip_address=ip_address,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return version


def document_download(
    *, acting_user: User, version: DocumentVersion, ip_address: str | None = None
) -> Iterator[bytes]:
    """The version's plaintext as a stream of blocks; audited. DocumentRefused if the user
    may not see the document."""
    document = version.document
    if not document_restrict(user=acting_user).filter(pk=document.pk).exists():
        raise DocumentRefused("No such document.")
    audit_record(
        actor=acting_user,
        action="document_downloaded",
        target=document,
        detail={
            "title": document.title,
            "version": version.number,
            "marking": document.marking,
            "file": version.original_filename,
            "sha256": version.sha256,
        },
        ip_address=ip_address,
    )
    return iter_decrypted(Path(version.file_path), unwrap_key(bytes(version.data_key_wrapped)))


# -- FOI consultation -------------------------------------------------------------------------


class FoiRefused(Exception):
    """The FOI step is not allowed now; the message says why, to the user."""


def _foi_mail(*, foi: FoiRequest, subject: str, message: str, recipients: list[str]) -> None:
    """Send after the commit, so nobody is told of a step that did not happen. The e-mail
    names the request and links to it; the details stay in the hub."""
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject=subject, message=message, from_email=None, recipient_list=recipients)
        except Exception as error:  # noqa: BLE001 - any mail failure is recorded, not raised
            logger.exception("FOI %s: e-mail failed", foi.reference)
            audit_record(
                actor=None,
                action="foi_mail_failed",
                agency=foi.originating_agency,
                target=foi,
                detail={"subject": subject, "error": str(error)[:500]},
                system="mail",
            )

    transaction.on_commit(send)


def _foi_url(foi: FoiRequest) -> str:
    return settings.HUB_SITE_URL + reverse("foi-detail", args=[foi.pk])


@transaction.atomic
def foi_record(
    *,
    acting_user: User,
    reference: str,
    received_on: datetime.date,
    requester: str,
    request_text: str,
    originating_agency: Agency,
    datasets: Iterable[Dataset] = (),
    ip_address: str | None = None,
) -> FoiRequest:
    """Record an FOI request that touches information the originating agency supplied, and
    e-mail that agency's DLOs to consult them before anything is released (§2.4.2.4). Only
    the partnership's co-ordinator records one (FoiRefused otherwise). Audited, naming whom
    it notified."""
    partnership = coordinated_partnership(user=acting_user)
    if partnership is None or originating_agency.partnership_id != partnership.pk:
        raise FoiRefused("Only the partnership's co-ordinator records FOI requests.")
    if received_on > timezone.localdate():
        raise FoiRefused("The request cannot have been received in the future.")
    if FoiRequest.objects.filter(partnership=partnership, reference=reference).exists():
        raise FoiRefused(f"An FOI request with reference {reference} is already recorded.")
    datasets = list(datasets)
    foi = FoiRequest.objects.create(
        partnership=partnership,
        reference=reference,
        received_on=received_on,
        requester=requester,
        request_text=request_text,
        originating_agency=originating_agency,
        recorded_by=acting_user,
    )
    foi.datasets.set(datasets)
    dlos = list(role_holders(agency=originating_agency, role=Role.DLO))
    recipients = [dlo.email for dlo in dlos if dlo.email]
    audit_record(
        actor=acting_user,
        action="foi_recorded",
        agency=originating_agency,
        target=foi,
        detail={
            "reference": reference,
            "datasets": [dataset.slug for dataset in datasets],
            "notified": [dlo.get_username() for dlo in dlos if dlo.email],
        },
        ip_address=ip_address,
    )
    _foi_mail(
        foi=foi,
        subject=f"FOI consultation {reference}: your answer is needed",
        message=(
            f"A Freedom of Information request (reference {reference}, received "
            f"{received_on:%d/%m/%Y}) touches information {originating_agency} supplied to the "
            "partnership. Under the Information Sharing Protocol nothing is released until "
            "you have been consulted.\n\n"
            f"Read the request and give your answer at {_foi_url(foi)}"
        ),
        recipients=recipients,
    )
    return foi


def _foi_refused(*, acting_user: User, foi: FoiRequest, step: str, reason: str, ip_address):
    """Record a refused step after its transaction has rolled back, so the record stays."""
    audit_record(
        actor=acting_user,
        action=f"foi_{step}_refused",
        agency=foi.originating_agency,
        target=foi,
        detail={"reference": foi.reference, "reason": reason},
        ip_address=ip_address,
    )


def foi_answer(
    *,
    acting_user: User,
    foi: FoiRequest,
    answer: str,
    reasons: str,
    ip_address: str | None = None,
) -> FoiRequest:
    """The originating agency's DLO agrees, agrees with redactions, or objects, with reasons
    (required unless they simply agree). They may change their answer until release. The
    co-ordinator who recorded the request is e-mailed. Audited; a refusal (FoiRefused) too."""
    try:
        with transaction.atomic():
            locked = FoiRequest.objects.select_for_update(of=("self",))
            foi = locked.select_related("recorded_by").get(pk=foi.pk)
            if not foi_may_answer(user=acting_user, foi=foi):
                raise FoiRefused("Only a DLO of the originating agency answers this consultation.")
            if foi.status not in (FoiStatus.CONSULTING, FoiStatus.ANSWERED):
                status = foi.get_status_display().lower()
                raise FoiRefused(f"The request is {status}; it takes no answer now.")
            if answer not in FoiAnswer.values:
                raise FoiRefused("Choose agree, agree with redactions, or object.")
            reasons = reasons.strip()
            if answer != FoiAnswer.AGREE and not reasons:
                raise FoiRefused("Say which redactions are needed, or why you object.")
            previous = foi.answer
            foi.answer, foi.answer_reasons = answer, reasons
            foi.answered_by, foi.answered_at = acting_user, timezone.now()
            foi.status = FoiStatus.ANSWERED
            foi.save(
                update_fields=["answer", "answer_reasons", "answered_by", "answered_at", "status"]
            )
            audit_record(
                actor=acting_user,
                action="foi_answered",
                agency=foi.originating_agency,
                target=foi,
                detail={"reference": foi.reference, "answer": answer, "previous": previous},
                ip_address=ip_address,
            )
            recorder = foi.recorded_by
            _foi_mail(
                foi=foi,
                subject=f"FOI consultation {foi.reference}: {foi.originating_agency} has answered",
                message=(
                    f"{foi.originating_agency} answered: {FoiAnswer(answer).label.lower()}.\n\n"
                    f"Read their answer at {_foi_url(foi)}"
                ),
                recipients=[recorder.email] if recorder.is_active and recorder.email else [],
            )
            return foi
    except FoiRefused as refusal:
        _foi_refused(
            acting_user=acting_user, foi=foi, step="answer", reason=str(refusal),
            ip_address=ip_address,
        )  # fmt: skip
        raise


def foi_release(
    *,
    acting_user: User,
    foi: FoiRequest,
    released_on: datetime.date,
    objection_acknowledged: bool = False,
    objection_reason: str = "",
    ip_address: str | None = None,
) -> FoiRequest:
    """Record that the partnership released its response. Only the co-ordinator, and only
    once the originating agency has answered; releasing over an objection needs the
    co-ordinator to acknowledge it and say why. Audited; a refusal (FoiRefused) too."""
    try:
        with transaction.atomic():
            # Locked, so an answer changed to an objection meanwhile is what gets checked.
            foi = FoiRequest.objects.select_for_update().get(pk=foi.pk)
            if coordinated_partnership(user=acting_user) != foi.partnership:
                raise FoiRefused("Only the partnership's co-ordinator releases FOI responses.")
            if foi.status == FoiStatus.CONSULTING:
                raise FoiRefused(
                    f"{foi.originating_agency} has not answered yet: nothing is released before "
                    "the agency the information came from has been consulted (§2.4.2.4)."
                )
            if foi.status != FoiStatus.ANSWERED:
                raise FoiRefused(f"The request is already {foi.get_status_display().lower()}.")
            objected = foi.answer == FoiAnswer.OBJECT
            objection_reason = objection_reason.strip()
            if objected and not (objection_acknowledged and objection_reason):
                raise FoiRefused(
                    f"{foi.originating_agency} objected. To release anyway, tick that you "
                    "acknowledge the objection and say why the partnership releases regardless."
                )
            if released_on > timezone.localdate() or released_on < foi.received_on:
                raise FoiRefused("The release date must fall between receipt and today.")
            foi.status, foi.released_on, foi.released_by = (
                FoiStatus.RELEASED, released_on, acting_user,
            )  # fmt: skip
            foi.release_over_objection_reason = objection_reason if objected else ""
            foi.save(
                update_fields=[
                    "status", "released_on", "released_by", "release_over_objection_reason",
                ]
            )  # fmt: skip
            audit_record(
                actor=acting_user,
                action="foi_released",
                agency=foi.originating_agency,
                target=foi,
                detail={
                    "reference": foi.reference,
                    "answer": foi.answer,
                    "released_on": released_on.isoformat(),
                    "over_objection": objected,
                    "objection_reason": foi.release_over_objection_reason,
                },
                ip_address=ip_address,
            )
            return foi
    except FoiRefused as refusal:
        _foi_refused(
            acting_user=acting_user, foi=foi, step="release", reason=str(refusal),
            ip_address=ip_address,
        )  # fmt: skip
        raise


def foi_withdraw(
    *, acting_user: User, foi: FoiRequest, ip_address: str | None = None
) -> FoiRequest:
    """The requester withdrew (or the request lapsed) before release: the co-ordinator closes
    the consultation. Audited; FoiRefused once released or for anyone else."""
    with transaction.atomic():
        foi = FoiRequest.objects.select_for_update().get(pk=foi.pk)
        if coordinated_partnership(user=acting_user) != foi.partnership:
            raise FoiRefused("Only the partnership's co-ordinator withdraws FOI requests.")
        if foi.status not in (FoiStatus.CONSULTING, FoiStatus.ANSWERED):
            raise FoiRefused(f"The request is already {foi.get_status_display().lower()}.")
        foi.status, foi.withdrawn_at = FoiStatus.WITHDRAWN, timezone.now()
        foi.save(update_fields=["status", "withdrawn_at"])
        audit_record(
            actor=acting_user,
            action="foi_withdrawn",
            agency=foi.originating_agency,
            target=foi,
            detail={"reference": foi.reference},
            ip_address=ip_address,
        )
        return foi
