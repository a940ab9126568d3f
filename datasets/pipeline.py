"""The supply pipeline: validate → geocode → sanitise → load → report.

Each stage is a plain function of a supply id, run by a thin Celery task. A stage first
claims the supply with a conditional update (so two workers never run the same stage), holds
a lease that every chunk renews, and on success hands the supply to the next stage in the
same update that releases the lease. A stage may be run again from scratch: it rewrites its
own outputs and nothing else. Data move between stages as encrypted chunks (``staging``);
only ``load`` touches the warehouse, in one transaction.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from psycopg2 import sql

from datasets import copytext
from datasets.catalogue import DatasetSchema, LocationGroup
from datasets.choices import DatasetKind, LocationMethod, SupplyStatus
from datasets.models import Dataset, IdentifyingRecord, Record, Supply
from datasets.readers import SuppliedFile, UnreadableFile, read_chunks
from datasets.rejected_rows import RejectedRowsWriter, rejected_rows_path
from datasets.staging import (
    StageWriter,
    read_ahead,
    stage_chunk_count,
    stage_clear,
    stage_read,
)
from datasets.summary import counts_load
from datasets.validation import ERROR_COLUMNS, DuplicateTracker, map_header, validate_chunk
from hub.crypto import encrypt_bytes, unwrap_key
from hub.services import audit_record

logger = logging.getLogger(__name__)

STAGES = [
    SupplyStatus.VALIDATING,
    SupplyStatus.GEOCODING,
    SupplyStatus.SANITISING,
    SupplyStatus.LOADING,
    SupplyStatus.REPORTING,
]
# Where each stage's progress bar runs, in percent of the whole supply.
PROGRESS_SPAN = {
    SupplyStatus.VALIDATING: (0, 40),
    SupplyStatus.GEOCODING: (40, 55),
    SupplyStatus.SANITISING: (55, 75),
    SupplyStatus.LOADING: (75, 95),
    SupplyStatus.REPORTING: (95, 100),
}
# Errors and warnings kept in the report itself; all of them are counted, and every rejected
# row is in the downloadable rejected-rows file.
REPORT_LIST_LIMIT = 1000
LATITUDE, LONGITUDE = "_latitude", "_longitude"
EVENT_DATE, EVENT_TIME = "_event_date", "_event_time"
# A supply's records are in the warehouse from the moment its load commits.
LOADED_STATUSES = (SupplyStatus.REPORTING, SupplyStatus.COMPLETED)
# Bytes handed to libpq per call while a COPY streams: few calls, each one releasing the GIL.
COPY_BLOCK = 4 * 2**20
T = TypeVar("T")


class SupplyRejected(Exception):
    """The supply as a whole cannot be used; ``problems`` say why, for the supplier."""

    def __init__(self, problems: list[str], *, counts: dict[str, int] | None = None, **report):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.counts = counts or {}
        self.report = report


@dataclass
class Claim:
    supply: Supply
    schema: DatasetSchema
    data_key: bytes
    stage: str

    def progress(self, fraction: float) -> None:
        """Record progress within the stage and renew the lease."""
        low, high = PROGRESS_SPAN[self.stage]
        Supply.objects.filter(pk=self.supply.pk, status=self.stage).update(
            progress=int(low + (high - low) * min(max(fraction, 0.0), 1.0)),
            lease_until=_lease(),
        )


def _lease() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)


def claim(supply_id, stage: str) -> Claim | None:
    """Take the stage for this worker, or None if it is not this stage's turn or is held."""
    now = timezone.now()
    ready = Q(status=stage) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    if stage == SupplyStatus.VALIDATING:
        ready |= Q(status=SupplyStatus.QUEUED)
    taken = Supply.objects.filter(ready, pk=supply_id).update(
        status=stage, lease_until=_lease(), attempts=F("attempts") + 1
    )
    if not taken:
        return None
    supply = Supply.objects.select_related("dataset", "agency__partnership").get(pk=supply_id)
    if supply.attempts > settings.HUB_STAGE_MAX_ATTEMPTS:
        fail(supply, stage, "Processing stopped after repeated attempts at this stage.")
        return None
    key = unwrap_key(bytes(supply.data_key_wrapped))
    return Claim(supply=supply, schema=supply.dataset.schema, data_key=key, stage=stage)


def advance(claim: Claim, *, report: dict | None = None, **fields) -> str | None:
    """Hand the supply to the next stage (or finish it); returns the next stage, if any."""
    index = STAGES.index(claim.stage)
    following = STAGES[index + 1] if index + 1 < len(STAGES) else None
    values = {
        "status": following or SupplyStatus.COMPLETED,
        "lease_until": None,
        "attempts": 0,
        "progress": PROGRESS_SPAN[claim.stage][1],
        **fields,
    }
    if report is not None:
        values["report"] = report
    if following is None:
        values["finished_at"] = timezone.now()
    # The hand-over and its audit entry together: no one sees one without the other.
    with transaction.atomic():
        Supply.objects.filter(pk=claim.supply.pk, status=claim.stage).update(**values)
        audit_record(
            actor=None,
            action="supply_stage_done",
            agency=claim.supply.agency,
            dataset_slug=claim.supply.dataset.slug,
            target=claim.supply,
            detail={"stage": claim.stage, "next": following or SupplyStatus.COMPLETED},
            system="pipeline",
        )
    return following


def fail(supply: Supply, stage: str, message: str) -> None:
    """The supply cannot be processed now; a co-ordinator or the supplier may retry it."""
    report = {**supply.report, "failed_stage": stage, "failure": message}
    Supply.objects.filter(pk=supply.pk).update(
        status=SupplyStatus.FAILED,
        lease_until=None,
        failure=message,
        report=report,
        finished_at=timezone.now(),
    )
    audit_record(
        actor=None,
        action="supply_failed",
        agency=supply.agency,
        dataset_slug=supply.dataset.slug,
        target=supply,
        detail={"stage": stage, "failure": message},
        system="pipeline",
    )


def reject(claim: Claim, rejection: SupplyRejected) -> None:
    """Refuse the whole supply: nothing of it is loaded."""
    report = {
        **claim.supply.report,
        **rejection.report,
        "problems": rejection.problems,
    }
    Supply.objects.filter(pk=claim.supply.pk, status=claim.stage).update(
        status=SupplyStatus.REJECTED,
        lease_until=None,
        progress=100,
        report=report,
        accepted_count=0,
        finished_at=timezone.now(),
        **rejection.counts,
    )
    stage_clear(claim.supply.pk)
    audit_record(
        actor=None,
        action="supply_rejected",
        agency=claim.supply.agency,
        dataset_slug=claim.supply.dataset.slug,
        target=claim.supply,
        detail={"problems": rejection.problems},
        system="pipeline",
    )


# -- validate ---------------------------------------------------------------------------------


def _counted(frames: list[pd.DataFrame]) -> tuple[list[dict], dict[str, int]]:
    """The first REPORT_LIST_LIMIT entries and the count of each code, over all frames."""
    combined = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ERROR_COLUMNS)
    )
    counts = Counter(combined["code"]) if not combined.empty else Counter()
    listed = combined.head(REPORT_LIST_LIMIT).astype({"row": "int64"}).to_dict("records")
    return listed, dict(counts)


def validate(claim: Claim) -> None:
    supply, schema = claim.supply, claim.schema
    supplied = SuppliedFile(
        path=Path(supply.raw_path),
        data_key=claim.data_key,
        file_format=supply.file_format,
        max_bytes=settings.HUB_MAX_UPLOAD_BYTES,
    )
    # The next chunk is read and parsed while this one is validated.
    chunks = read_ahead(read_chunks(supplied, chunk_rows=settings.HUB_CHUNK_ROWS))
    try:
        first = next(chunks)
    except UnreadableFile as error:
        raise SupplyRejected([str(error)]) from error
    mapping = map_header(first.columns, schema)
    if mapping.problems:
        raise SupplyRejected(mapping.problems, dropped_columns=mapping.dropped)

    missing_values = schema.descriptor.get("missingValues", [""])
    period = (supply.period_start, supply.period_end)
    today = timezone.localdate()
    duplicates = DuplicateTracker(schema.primary_key)
    writer = StageWriter(supply.pk, "validated", claim.data_key)
    received = 0
    filled = pd.Series(0, index=schema.field_names)
    error_frames: list[pd.DataFrame] = []
    warning_frames: list[pd.DataFrame] = []
    expected = supply.declared_record_count or 0
    rejected_rows = RejectedRowsWriter(
        rejected_rows_path(supply), claim.data_key, headers=mapping.rename
    )
    with rejected_rows:
        try:
            for chunk in chain([first], chunks):
                # Unknown columns go no further than this line: they are never stored.
                known = chunk[list(mapping.rename)].rename(columns=mapping.rename)
                result = validate_chunk(
                    known, schema, missing_values=missing_values, today=today, period=period
                )
                repeats = duplicates.errors(result.accepted)
                errors = pd.concat([result.errors, repeats], ignore_index=True)
                accepted = result.accepted.drop(index=repeats["row"])
                if mapping.latitude and mapping.longitude:
                    coordinates = chunk.loc[accepted.index, [mapping.latitude, mapping.longitude]]
                    accepted[LATITUDE] = pd.to_numeric(coordinates.iloc[:, 0], errors="coerce")
                    accepted[LONGITUDE] = pd.to_numeric(coordinates.iloc[:, 1], errors="coerce")
                # A chunk whose every row was rejected goes no further: the later stages
                # expect rows.
                if not accepted.empty:
                    writer.write(accepted)
                rejected_rows.write(chunk, errors)
                received += len(chunk)
                filled = filled.add(result.filled, fill_value=0)
                error_frames.append(errors)
                warning_frames.append(result.warnings)
                claim.progress(received / expected if expected else 0.5)
        except UnreadableFile as error:
            writer.discard()
            raise SupplyRejected([str(error)], dropped_columns=mapping.dropped) from error
    if not received:
        writer.discard()
        # An empty supply would supersede the period's records with none.
        raise SupplyRejected(
            ["The file has its header row but no rows of data, so there is nothing to load. "
             "Supply the file with its rows; if the period had no records, tell the "
             "co-ordinator rather than supplying an empty file."],
            dropped_columns=mapping.dropped,
        )  # fmt: skip

    errors_listed, error_counts = _counted(error_frames)
    warnings_listed, warning_counts = _counted(warning_frames)
    rejected_count = sum(frame["row"].nunique() for frame in error_frames if not frame.empty)
    if supply.declared_record_count is not None and supply.declared_record_count != received:
        warning_counts["declared_count_differs"] = 1
        warnings_listed.insert(
            0,
            {
                "row": None,
                "field": "",
                "code": "declared_count_differs",
                "message": f"The form declared {supply.declared_record_count} records; "
                f"the file has {received}.",
            },
        )
    report = {
        "errors": errors_listed,
        "error_counts": error_counts,
        "warnings": warnings_listed,
        "warning_counts": warning_counts,
        "dropped_columns": mapping.dropped,
        # Each of the supplier's columns and the field it was read as, so that the report
        # and the rejected rows can speak of the columns by the supplier's own names.
        "header_mapping": mapping.rename,
        "geocoding_inputs": [c for c in (mapping.latitude, mapping.longitude) if c],
        "missing_optional_columns": mapping.missing_optional,
        "completeness": {
            name: round(100 * float(filled[name]) / received, 1) if received else 0.0
            for name in schema.field_names
        },
    }
    counts = {"record_count": received, "rejected_count": rejected_count}
    if rejected_count == received:
        writer.discard()
        # Loading none of its rows would supersede the period's records with nothing.
        raise SupplyRejected(
            [f"Every row of the file was rejected ({received:,} of {received:,}), so nothing "
             "was loaded and any earlier supply for the period stands. The problems are "
             "listed below and in the rejected rows file: correct them in your file and "
             "supply it again."],
            counts=counts,
            **report,
        )  # fmt: skip
    writer.commit()
    advance(claim, report=report, **counts, accepted_count=received - rejected_count)


# -- geocode ----------------------------------------------------------------------------------


def primary_group(schema: DatasetSchema) -> LocationGroup | None:
    """The location a record is mapped and extracted by: where it happened, else the home,
    else the site."""
    by_role = {group.role: group for group in schema.locations}
    return by_role.get("event") or by_role.get("home") or by_role.get("site")


def _chunks_with_progress(
    claim: Claim, stage_in: str, prepare: Callable[[pd.DataFrame], T] | None = None
) -> Iterator[pd.DataFrame | T]:
    """The stage's input chunks, each passed through ``prepare`` if given, made one chunk
    ahead in a thread (which must not touch the database) while the caller works on the last;
    progress is recorded, and the lease renewed, after each."""
    total = max(stage_chunk_count(claim.supply.pk, stage_in), 1)
    chunks = stage_read(claim.supply.pk, stage_in, claim.data_key)
    if prepare is not None:
        chunks = map(prepare, chunks)
    for number, chunk in enumerate(read_ahead(chunks), 1):
        yield chunk
        claim.progress(number / total)


def geocode(claim: Claim) -> None:
    from sanitise.geocode import LocationInput, geocode_frame
    from sanitise.reference import gazetteer_current

    schema = claim.schema
    gazetteer = gazetteer_current()
    area = gazetteer.area_for(
        claim.supply.agency.partnership.postcode_areas, name=str(claim.supply.agency.partnership)
    )
    primary = primary_group(schema)
    groups = [
        LocationInput.from_group(
            group,
            latitude=LATITUDE if group is primary else None,
            longitude=LONGITUDE if group is primary else None,
        )
        for group in schema.locations
    ]
    writer = StageWriter(claim.supply.pk, "geocoded", claim.data_key)
    warnings: list[dict] = []
    for chunk in _chunks_with_progress(claim, "validated"):
        if groups and not chunk.empty:
            result = geocode_frame(chunk, groups=groups, gazetteer=gazetteer, area=area)
            chunk = chunk.join(result.frame)
            warnings.extend(result.errors + result.warnings)
        writer.write(chunk)
    writer.commit()
    report = dict(claim.supply.report)
    report["warnings"] = (report.get("warnings", []) + _plain(warnings))[:REPORT_LIST_LIMIT]
    counts = Counter(report.get("warning_counts", {}))
    counts.update(warning["code"] for warning in warnings)
    report["warning_counts"] = dict(counts)
    advance(claim, report=report)


def _plain(entries: list[dict]) -> list[dict]:
    """Report entries as JSON-ready values (row numbers from numpy become ints)."""
    return [
        {**entry, "row": int(entry["row"]) if entry.get("row") is not None else None}
        for entry in entries
    ]


# -- sanitise ---------------------------------------------------------------------------------


def _linked_event_dates(claim: Claim, chunk: pd.DataFrame) -> pd.Series | None:
    """For records with no date of their own, the date of the record they link to."""
    for fields, slug in claim.schema.links:
        if len(fields) != 1 or fields[0] not in chunk:
            continue
        refs = chunk[fields[0]].dropna().astype(str).unique().tolist()
        rows = (
            Record.objects.filter(
                partnership=claim.supply.agency.partnership,
                dataset__slug=slug,
                supply__status__in=LOADED_STATUSES,
                supply__superseded_by__isnull=True,
            )
            .annotate(ref=KeyTextTransform(fields[0], "data"))
            .filter(ref__in=refs)
            .values_list("ref", "event_date")
        )
        found = dict(rows)
        dates = pd.Series(
            pd.to_datetime(list(found.values())), index=list(found), dtype="datetime64[ns]"
        )
        matched = dates.reindex(chunk[fields[0]].astype(str)).to_numpy()
        return pd.Series(matched, index=chunk.index, dtype="datetime64[ns]")
    return None


def _event_dates(claim: Claim, chunk: pd.DataFrame) -> pd.Series:
    """Each record's event date: its own, else its linked record's, else the period start."""
    period_start = pd.Timestamp(claim.supply.period_start)
    if claim.schema.event_date:
        dates = pd.to_datetime(chunk[claim.schema.event_date])
    else:
        linked = _linked_event_dates(claim, chunk)
        dates = linked if linked is not None else pd.Series(pd.NaT, index=chunk.index)
    return dates.fillna(period_start)


def sanitise(claim: Claim) -> None:
    from sanitise.reference import gazetteer_current
    from sanitise.services import sanitise_frame

    schema = claim.schema
    gazetteer = gazetteer_current()
    records_out = StageWriter(claim.supply.pk, "sanitised", claim.data_key)
    identifying_out = StageWriter(claim.supply.pk, "identifying", claim.data_key)
    counts: Counter = Counter({method: 0 for method in LocationMethod.values})
    for chunk in _chunks_with_progress(claim, "geocoded"):
        event_dates = _event_dates(claim, chunk)
        fields = chunk[[name for name in schema.field_names if name in chunk]]
        result = sanitise_frame(
            fields, chunk, schema=schema, gazetteer=gazetteer, event_date=event_dates
        )
        records = result.records
        records[EVENT_DATE] = event_dates
        records[EVENT_TIME] = chunk[schema.event_time] if schema.event_time else None
        records_out.write(records)
        if result.identifying is not None:
            identifying_out.write(result.identifying)
        counts.update(result.location_counts)
    records_out.commit()
    identifying_out.commit()
    report = {**claim.supply.report, "locations": dict(counts)}
    advance(claim, report=report)


# -- load -------------------------------------------------------------------------------------

RECORD_COLUMNS = [
    "partnership_id",
    "dataset_id",
    "supply_id",
    "row_number",
    "event_date",
    "event_time",
    "easting",
    "northing",
    "postcode",
    "location_method",
    "data",
]


def _record_table(claim: Claim, records: pd.DataFrame) -> pa.Table:
    """One chunk of sanitised records as the warehouse table's columns (RECORD_COLUMNS)."""
    primary = primary_group(claim.schema)
    role = primary.role if primary else None
    typed = {
        "easting": f"{role}_easting",
        "northing": f"{role}_northing",
        "postcode": f"{role}_postcode",
        "location_method": f"{role}_location_method",
    }
    count = len(records)

    def located(column: str) -> pd.Series:
        source = typed[column]
        if role and source in records:
            return records[source]
        return pd.Series(None, index=records.index, dtype=object)

    def metres(column: str) -> pa.Array:
        rounded = pd.to_numeric(located(column)).round().astype("Int64")
        return pa.array(rounded, type=pa.int64(), from_pandas=True)

    def text(values: pd.Series, missing: str | None = None) -> pa.Array:
        array = pa.array(values, type=pa.string(), from_pandas=True)
        return array if missing is None else pc.fill_null(array, missing)

    event_dates = pa.array(pd.to_datetime(records[EVENT_DATE]), from_pandas=True)
    rest = records.drop(
        columns=[EVENT_DATE, EVENT_TIME, *(c for c in typed.values() if c in records)]
    )
    columns = {
        "partnership_id": pa.repeat(claim.supply.agency.partnership_id, count),
        "dataset_id": pa.repeat(claim.supply.dataset_id, count),
        "supply_id": pa.repeat(str(claim.supply.pk), count),
        "row_number": pa.array(records.index, type=pa.int64()),
        "event_date": pc.cast(event_dates, options=copytext.TO_DATE),
        "event_time": text(records[EVENT_TIME]),
        "easting": metres("easting"),
        "northing": metres("northing"),
        "postcode": text(located("postcode"), ""),
        "location_method": text(located("location_method"), LocationMethod.UNLOCATED),
        "data": copytext.json_objects(rest),
    }
    return pa.table([columns[name] for name in RECORD_COLUMNS], names=RECORD_COLUMNS)


def _copy_payload(claim: Claim, records: pd.DataFrame) -> tuple[int, pa.Buffer]:
    """A chunk's row count and its COPY text (nothing when it is empty)."""
    if records.empty:
        return 0, pa.py_buffer(b"")
    return len(records), copytext.copy_text(_record_table(claim, records))


def _copy(cursor, table: str, columns: list[str], payload: pa.Buffer) -> None:
    """COPY text made by ``copytext.copy_text`` into ``table``."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cursor.copy_expert(statement.as_string(cursor.connection), pa.BufferReader(payload), COPY_BLOCK)


def load(claim: Claim) -> None:
    """Put the supply's records in the warehouse in one transaction, all or nothing."""
    supply = claim.supply
    record_table = Record._meta.db_table
    identifying_table = IdentifyingRecord._meta.db_table
    personal = claim.schema.kind != DatasetKind.DEPERSONALISED
    with transaction.atomic():
        # A lost lease means another worker has this stage now; stop before writing anything.
        held = Supply.objects.select_for_update().filter(pk=supply.pk, status=claim.stage)
        if not held.exists():
            return
        with connection.cursor() as cursor:
            # One load at a time per partnership: linked records (a victim and its offence)
            # loading at once would each miss the other's uncommitted rows.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [supply.agency.partnership_id])
            # Foreign keys checked as each row arrives, not queued (a million queued checks
            # hold memory) and run at commit, after the stage has recorded its end.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        Record.objects.filter(supply=supply).delete()
        with connection.cursor() as cursor:
            loaded = 0
            # The next chunk's COPY text is made (in a thread) while PostgreSQL takes this one.
            payloads = _chunks_with_progress(
                claim, "sanitised", prepare=partial(_copy_payload, claim)
            )
            for rows, payload in payloads:
                if rows:
                    _copy(cursor, record_table, RECORD_COLUMNS, payload)
                    loaded += rows
            if personal:
                _load_identifying(claim, cursor, record_table, identifying_table)
            _date_linked_records(cursor, claim)
            counts_load(supply=supply)
        superseded = list(
            Supply.objects.current()
            .filter(
                agency=supply.agency,
                dataset=supply.dataset,
                period_start=supply.period_start,
                period_end=supply.period_end,
            )
            .exclude(pk=supply.pk)
            .values_list("pk", flat=True)
        )
        Supply.objects.filter(pk__in=superseded).update(superseded_by=supply)
        report = {**supply.report, "superseded": [str(pk) for pk in superseded]}
        advance(claim, report=report, accepted_count=loaded)


def _load_identifying(claim: Claim, cursor, record_table: str, identifying_table: str) -> None:
    """Encrypt each record's identifying fields with the supply's key, bound to its row."""
    cursor.execute(
        "CREATE TEMPORARY TABLE identifying_load "
        "(row_number integer PRIMARY KEY, ciphertext bytea) ON COMMIT DROP"
    )
    supply_id = str(claim.supply.pk)
    for chunk in stage_read(claim.supply.pk, "identifying", claim.data_key):
        if chunk.empty:
            continue
        lines = copytext.json_objects(chunk).to_pylist()
        ciphertexts = [
            "\\x"
            + encrypt_bytes(
                line.encode(), claim.data_key, context=f"{supply_id}:{row}".encode()
            ).hex()
            for row, line in zip(chunk.index, lines, strict=True)
        ]
        table = pa.table({"row_number": pa.array(chunk.index), "ciphertext": ciphertexts})
        _copy(cursor, "identifying_load", table.column_names, copytext.copy_text(table))
    cursor.execute(
        sql.SQL(
            "INSERT INTO {identifying} (record_id, supply_id, ciphertext) "
            "SELECT r.id, r.supply_id, l.ciphertext FROM {records} r "
            "JOIN identifying_load l ON l.row_number = r.row_number WHERE r.supply_id = %s"
        ).format(
            identifying=sql.Identifier(identifying_table), records=sql.Identifier(record_table)
        ),
        [supply_id],
    )


def _date_linked_records(cursor, claim: Claim) -> None:
    """Records dated by a link (offender, victim) take their offence's date, both when they
    arrive after the offence and when the offence arrives after them."""
    slug = claim.supply.dataset.slug
    ids = dict(Dataset.objects.filter(is_active=True).values_list("slug", "pk"))
    for dataset in Dataset.objects.filter(is_active=True):
        if dataset.schema.event_date is not None:
            continue
        for fields, target in dataset.schema.links:
            if len(fields) != 1 or slug not in (dataset.slug, target) or target not in ids:
                continue
            params = {
                "linked": dataset.pk,
                "target": ids[target],
                "partnership": claim.supply.agency.partnership_id,
                "supply": str(claim.supply.pk),
                "key": fields[0],
                "loaded": list(LOADED_STATUSES),
            }
            # This supply's records are the linked ones, or the ones linked to: one selective
            # statement for each (an OR of the two defeats the planner).
            own = "r" if slug == dataset.slug else "o"
            # With nothing on the other side of the link yet (offences arrive before their
            # victims), there is nothing to date: skip a statement that reads every record of
            # this supply.
            other_side = Record.objects.filter(
                partnership_id=claim.supply.agency.partnership_id,
                dataset_id=ids[target] if own == "r" else dataset.pk,
            )
            if not other_side.exists():
                continue
            cursor.execute(
                sql.SQL(
                    "UPDATE {records} r SET event_date = o.event_date, event_time = o.event_time "
                    "FROM {records} o JOIN {supplies} s ON s.id = o.supply_id "
                    "WHERE {own}.supply_id = %(supply)s "
                    "AND r.dataset_id = %(linked)s AND r.partnership_id = %(partnership)s "
                    "AND o.dataset_id = %(target)s AND o.partnership_id = %(partnership)s "
                    "AND (s.status = ANY(%(loaded)s) OR s.id = %(supply)s) "
                    "AND s.superseded_by_id IS NULL "
                    "AND o.data ->> %(key)s = r.data ->> %(key)s"
                ).format(
                    records=sql.Identifier(Record._meta.db_table),
                    supplies=sql.Identifier(Supply._meta.db_table),
                    own=sql.Identifier(own),
                ),
                params,
            )


# -- report -----------------------------------------------------------------------------------


def report(claim: Claim) -> None:
    from django.core.mail import send_mail
    from django.urls import reverse

    supply = claim.supply
    summary = {
        **supply.report,
        "currency_days": (timezone.localdate(supply.created_at) - supply.period_end).days,
        "received": supply.record_count,
        "accepted": supply.accepted_count,
        "rejected": supply.rejected_count,
    }
    stage_clear(supply.pk)
    advance(claim, report=summary)
    if supply.uploaded_by.email:
        url = settings.HUB_SITE_URL + reverse("supply-detail", args=[supply.pk])
        send_mail(
            subject=f"Supply of {supply.dataset.name} processed",
            message=(
                f"Your supply of {supply.dataset.name} for {supply.period_start:%d/%m/%Y} to "
                f"{supply.period_end:%d/%m/%Y} has been processed: {supply.accepted_count} "
                f"records accepted, {supply.rejected_count} rejected.\n\n"
                f"Read the report at {url}"
            ),
            from_email=None,
            recipient_list=[supply.uploaded_by.email],
            fail_silently=True,
        )


STAGE_FUNCTIONS: dict[str, Callable[[Claim], None]] = {
    SupplyStatus.VALIDATING: validate,
    SupplyStatus.GEOCODING: geocode,
    SupplyStatus.SANITISING: sanitise,
    SupplyStatus.LOADING: load,
    SupplyStatus.REPORTING: report,
}


def run_stage(supply_id, stage: str) -> str | None:
    """Claim and run one stage; returns the stage to queue next, if any.

    A stage that is not this supply's turn, or is held by a live worker, is skipped quietly:
    duplicate deliveries of a task are expected.
    """
    taken = claim(supply_id, stage)
    if taken is None:
        return None
    try:
        STAGE_FUNCTIONS[stage](taken)
    except SupplyRejected as rejection:
        reject(taken, rejection)
        return None
    except Exception:
        # The traceback goes to the worker's log; the supply row gets a message free of data.
        logger.exception("Supply %s failed at %s", supply_id, stage)
        fail(taken.supply, stage, f"An internal error stopped the {stage} stage.")
        return None
    status = Supply.objects.filter(pk=supply_id).values_list("status", flat=True).first()
    return status if status in STAGES else None
