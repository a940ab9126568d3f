"""Making an extract's file, in the worker: the access gate again, the query, disclosure
control, the writers, progress on the row, and failure."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from datasets.choices import FieldClass
from datasets.spreadsheets import neutralise_formulas
from hub.access import agency_standing, isp_current
from hub.choices import IspTier
from hub.crypto import (
    EncryptingWriter,
    new_data_key,
    wrap_key,
)
from hub.services import audit_record
from sanitise.choices import LOCATION_PRECISION_M
from sharing.access import (
    AccessRefused,
    RecordScope,
    extract_scope_check,
)
from sharing.choices import (
    AccessLevel,
    ExtractFormat,
    ExtractStatus,
)
from sharing.disclosure import (
    KAnonymity,
    counts_note,
    extract_beyond_release,
    month_area_counts,
    release_of,
)
from sharing.files import MARKING, write_csv_copy, write_csv_zip, write_geojson, write_xlsx
from sharing.identifying import IdentifyingFields
from sharing.models import (
    Extract,
)
from sharing.reading import stream_parts, stream_rows
from sharing.records import (
    CIPHERTEXT,
    ROW,
    SUPPLY,
    ExtractQuery,
    ExtractRefused,
    link_prefix,
    personal_fields,
    record_fields,
)

logger = logging.getLogger(__name__)


def _extract_metadata(extract: Extract, query: ExtractQuery, supplies: list[dict]) -> dict:
    from sanitise.reference import OS_ATTRIBUTION

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
        {"name": "location_precision_m", "description": "How close, in metres, the location "
         "typically is to where the record happened, by its method: "
         + "; ".join(f"{method} {f'{metres} m' if metres else 'empty (no figure)'}"
                     for method, metres in LOCATION_PRECISION_M.items())
         + ". One figure per method, never per record."},
        {"name": "ward_code, ward_name", "description": "The electoral ward of that postcode "
         "(ONS code and name), from the hub's postcode lookup."},
        {"name": "lsoa_code, lsoa_name", "description": "The Lower Layer Super Output Area of "
         "that postcode (ONS code and name)."},
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
        extract_fail(extract, str(refusal))
    except (OperationalError, InterfaceError) as error:
        logger.warning("Extract %s lost its database connection: %s", extract_id, error)
        connection.close()  # the next query opens a new one
        if last_attempt:
            extract_fail(
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
        extract_fail(extract, "An internal error stopped the extract; request it again.")


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)


def _extract_path(extract_id) -> Path:
    return Path(settings.HUB_FILES_DIR) / "extracts" / f"{extract_id}.enc"


def extract_fail(extract: Extract, message: str) -> None:
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
    # Made under the lower of the two standings: the maker's now, and the extract's agency's.
    release = release_of(
        scope.decision, tier=agency_tier if scope.tier == IspTier.CORE else scope.tier
    )
    base_name = f"{extract.dataset.slug}_{extract.period_start:%Y%m%d}_{extract.pk.hex[:8]}"
    data_key = new_data_key()
    path = _extract_path(extract.pk)
    path.unlink(missing_ok=True)

    problem = extract_beyond_release(
        schema=extract.dataset.schema, level=extract.level, category=extract.category,
        period=(extract.period_start, extract.period_end), area=extract.area, release=release,
    )  # fmt: skip
    if problem:
        raise ExtractRefused(problem)
    metadata["release"] = release.name
    copied = False
    if extract.level == AccessLevel.AGGREGATE:
        specs = {spec.name: spec for spec in extract.dataset.schema.fields}
        table = month_area_counts(
            query.counts(extract.category or None),
            breakdown=specs.get(extract.category),
            release=release,
        )
        metadata["disclosure"] = counts_note(release)
        columns = ["month", "area", extract.category or "category", "count"]
        table.columns = columns
        frames = iter([neutralise_formulas(table)])
    else:
        quasi = _quasi_columns(extract, query.records()[2]) if release.k else []
        if quasi:
            # Both passes of the check read the same supplies, whatever loads in between.
            query = query.current_supplies()
        select, params, columns = query.records()
        # Rows that need no work in Python: PostgreSQL writes their CSV (write_csv_copy).
        copied = extract.file_format == ExtractFormat.CSV and not query.identifying and not quasi
    if extract.level != AccessLevel.AGGREGATE and not copied:
        parts, total = query.parts()
        rows = stream_parts(parts)
        if query.identifying:
            revealer = IdentifyingFields(query.identifying)
            rows = (revealer.apply(chunk) for chunk in rows)
            helpers = {CIPHERTEXT, SUPPLY, ROW}
            columns = [c for c in columns if c not in helpers]
            columns += [name for name in query.identifying if name not in columns]
        frames = _with_progress(extract, total, (neutralise_formulas(chunk) for chunk in rows))
        if quasi:
            check = KAnonymity(quasi=quasi, k=release.k)
            # Learnt from the rows exactly as they will be written, formulas neutralised.
            check.learn(
                neutralise_formulas(chunk) for chunk in stream_rows(select, params, columns)
            )
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
            rows = write_xlsx(out, frames, columns, metadata, types=_column_types(extract))
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


def _column_types(extract: Extract) -> dict[str, str]:
    """Each column's catalogue type (string, integer, number, date, time, boolean), for a
    workbook's cells: the dataset's and the linked dataset's fields, the hub's own columns."""
    types = {"event_date": "date", "easting": "integer", "northing": "integer"}
    types |= {"location_precision_m": "integer", "count": "integer"}
    types |= {spec.name: spec.type for spec in extract.dataset.schema.fields}
    if extract.linked_dataset is not None:
        prefix = link_prefix(extract.dataset.slug, extract.linked_dataset.slug)
        types |= {prefix + spec.name: spec.type for spec in extract.linked_dataset.schema.fields}
    return types


def _quasi_columns(extract: Extract, columns: list[str]) -> list[str]:
    """The output's quasi-identifiers: those of every dataset in it, a linked one's under its
    prefix (a victim's age and gender single them out as surely as an offence's postcode),
    and the addresses (a street narrows a postcode sector back down)."""
    schemas = [("", extract.dataset.schema)]
    if extract.linked_dataset is not None:
        prefix = link_prefix(extract.dataset.slug, extract.linked_dataset.slug)
        schemas.append((prefix, extract.linked_dataset.schema))
    named = set()
    for prefix, schema in schemas:
        named |= {prefix + s.name for s in schema.fields if s.field_class == FieldClass.QUASI}
        named |= {prefix + group.address for group in schema.locations if group.address}
    # A postcode's ward and LSOA follow from it, but stay in the classes once the postcode is
    # generalised to its sector (kanonymity: the ward is kept, the smaller LSOA dropped).
    if "postcode" in columns:
        named |= {"postcode", "ward_code", "lsoa_code"}
    return [c for c in columns if c in named]


def _k_text(check: KAnonymity) -> str:
    return (
        f"k-anonymity with k = {check.k} over {', '.join(check.quasi)}: "
        f"{check.generalised_rows} rows generalised (age to 5-year bands, postcode to sector, "
        f"address and coordinates removed), {check.suppressed_rows} rows' quasi-identifiers "
        "suppressed."
    )


def _with_progress(extract: Extract, total: int, frames):
    """Pass the frames on, recording progress and renewing the lease as each goes."""
    done = 0
    for frame in frames:
        yield frame
        done += len(frame)
        _record_progress(extract, done, total)


def _record_progress(extract: Extract, done: int, total: int) -> None:
    """Record how far the extract is, and renew its lease. With no total to go by
    (ExtractQuery.parts) the lease alone is renewed: no figure rather than a wrong one."""
    progress = {"progress": min(99, int(100 * done / total))} if total else {}
    Extract.objects.filter(pk=extract.pk, status=ExtractStatus.RUNNING).update(
        **progress, lease_until=timezone.now() + _lease()
    )


def _then(frames, callback):
    """Yield the frames, then run ``callback`` (to record what was done to all of them)."""
    yield from frames
    callback()
