"""The benchmark: a synthetic police offence supply through the real pipeline, and the
warehouse at scale.

Everything happens in a partnership of its own ("bench", SYNTHETIC data only, users who cannot
sign in), so a hub's real or demo data are never touched, and what a run creates it deletes.

``bench_run`` generates a police_crime_offence file deterministically from the loaded
gazetteer's real Code-Point Open postcodes, supplies it through ``supply_create`` to a Celery
worker process it starts, and times each stage from the supply's audit trail. In the same run,
on the same file, it measures the limits and the peer the pipeline is judged against: a raw
``COPY FROM`` into an unlogged table and Frictionless ``validate``; then a CSV extract of the
loaded records through the extract service beside a raw ``COPY TO`` of the same rows.

``bench_fill`` puts synthetic sanitised records of several datasets over three years straight
into the records table by COPY; ``bench_scale`` then times what analysts do at that size.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import platform
import resource
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.conf import settings
from django.db import connection
from django.http import QueryDict
from django.utils import timezone
from psycopg2 import sql

from datasets.choices import DatasetKind, LocationMethod, SupplyStatus
from datasets.models import FINISHED_STATUSES, Dataset, IdentifyingRecord, Record, Supply
from datasets.services import catalogue_sync, supply_create
from datasets.summary import counts_recount
from hub.choices import AgencyType, Role
from hub.models import Agency, AuditEntry, Partnership, User
from hub.services import agency_ensure, audit_record, membership_grant, partnership_ensure
from hub.uploads import encrypted_upload
from hub.workers import worker_start, worker_stop

SYSTEM = "bench"
SEED = 20260901
DATASET = "police_crime_offence"
PARTNERSHIP_SLUG = "bench"
SUPPLIER, ANALYST = "bench_supplier", "bench_analyst"
FILL_FILENAME = "bench-fill.csv"
# Share of each kind of location in the generated file; the rest have none.
LOCATION_MIX = {
    "coordinates": 0.35,
    "address": 0.20,
    "address_postcode": 0.10,
    "postcode": 0.33,
}
BAD_ROW_SHARE = 0.003
SMALL_POSTCODE_SHARE = 0.04
FRICTIONLESS_ROWS = 100_000
OFFENCE_CODES = ["105A", "105B", "008N", "028/01", "030/01", "045/00", "058C", "049/00", "092A"]
ENTRY_METHODS = ["Forced rear door", "Insecure window", "Front door kicked", "Key used"]
PROPERTY = ["Cash", "Laptop", "Mobile phone", "Vehicle", "Bicycle", "Jewellery"]
WEAPONS = ["Knife", "Blunt instrument", "Hands/feet", "Firearm"]
FILE_COLUMNS = [
    "crime_ref", "ho_offence_code", "committed_from_date", "committed_from_time",
    "committed_to_date", "committed_to_time", "address", "postcode", "easting", "northing",
    "method_of_entry", "property_stolen", "weapon", "flag_distraction_burglary", "flag_drugs",
    "flag_alcohol", "flag_racial", "flag_domestic",
]  # fmt: skip
# Every "HH:MM" of the day, looked up by minute: no string formatting per row.
CLOCK = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)], dtype=object)
RSS_SAMPLE_SECONDS = 0.05
POLL_SECONDS = 0.1
WAIT_SECONDS = 3600

# bench_fill: each dataset's share of the records, and the agency that supplies it.
FILL_DATASETS = {
    "police_crime_offence": (0.40, "Benchmark Police"),
    "police_incident": (0.20, "Benchmark Police"),
    "council_asb": (0.15, "Benchmark Council"),
    "ae_assault": (0.10, "Benchmark NHS Trust"),
    "ambulance_callout": (0.10, "Benchmark Ambulance"),
    "fire_incident": (0.05, "Benchmark Fire"),
}
AGENCIES = [
    ("Benchmark Police", AgencyType.POLICE_FORCE),
    ("Benchmark Council", AgencyType.LOCAL_AUTHORITY),
    ("Benchmark NHS Trust", AgencyType.NHS_TRUST),
    ("Benchmark Ambulance", AgencyType.AMBULANCE),
    ("Benchmark Fire", AgencyType.FIRE_RESCUE),
]
RECORD_COLUMNS = [
    "partnership_id", "dataset_id", "supply_id", "row_number", "event_date", "event_time",
    "easting", "northing", "postcode", "location_method", "data",
]  # fmt: skip


class BenchFailed(RuntimeError):
    """The benchmark could not produce its figures; the message says why."""


# -- the bench partnership --------------------------------------------------------------------


@dataclass(frozen=True)
class BenchWorld:
    partnership: Partnership
    agencies: dict[str, Agency]
    supplier: User
    analyst: User


def bench_world() -> BenchWorld:
    """The bench partnership (WN, like the demo), its ISP, agencies and two users; idempotent.

    Loads the catalogue, and the demo's WN gazetteer when no postcode centroids are loaded
    (a hub with real reference data keeps it).
    """
    from sanitise.choices import GazetteerKind
    from sanitise.demo import demo_gazetteer_load
    from sanitise.models import GazetteerVersion
    from sharing.choices import AccessLevel, SignatureTier
    from sharing.services.isp import isp_ensure, signature_record
    from sharing.services.profiles import access_profile_assign, access_profile_ensure

    catalogue_sync(system=SYSTEM)
    if not GazetteerVersion.objects.filter(kind=GazetteerKind.CODEPOINT).exists():
        demo_gazetteer_load()
    partnership = partnership_ensure(
        name="Benchmark partnership (SYNTHETIC)", slug=PARTNERSHIP_SLUG, postcode_areas=["WN"]
    )
    year = timezone.localdate().year
    isp = isp_ensure(
        partnership=partnership,
        version=f"{year}.bench",
        adopted_on=datetime.date(year, 1, 1),
        review_due=datetime.date(year + 2, 1, 1),
        acting_user=None,
        system=SYSTEM,
    )
    agencies = {}
    for name, agency_type in AGENCIES:
        agency = agency_ensure(
            partnership=partnership, name=name, agency_type=agency_type, acting_user=None,
            system=SYSTEM,
        )  # fmt: skip
        if not agency.signatures.filter(isp=isp).exists():
            signature_record(
                isp=isp, agency=agency, tier=SignatureTier.CORE, signed_on=isp.adopted_on,
                signatory_name="Benchmark signatory", acting_user=None, system=SYSTEM,
            )  # fmt: skip
        agencies[name] = agency
    users = {}
    for username, agency_name, role in [
        (SUPPLIER, "Benchmark Police", Role.SUPPLIER),
        (ANALYST, "Benchmark Council", Role.ANALYST),
    ]:
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": "Benchmark", "last_name": role.title()}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        membership_grant(
            user=user, agency=agencies[agency_name], roles=[role], acting_user=None,
            system=SYSTEM,
        )  # fmt: skip
        users[username] = user
    profile = access_profile_ensure(
        partnership=partnership,
        name="Benchmark analysts",
        description="Depersonalised records of every depersonalised dataset.",
        levels={
            dataset: AccessLevel.DEPERSONALISED
            for dataset in Dataset.objects.filter(is_active=True, kind=DatasetKind.DEPERSONALISED)
        },
        acting_user=None,
        system=SYSTEM,
    )
    if not profile.users.filter(pk=users[ANALYST].pk).exists():
        access_profile_assign(
            profile=profile, holder=users[ANALYST], acting_user=None, system=SYSTEM
        )
    return BenchWorld(partnership, agencies, users[SUPPLIER], users[ANALYST])


# -- the synthetic file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """The partnership's postcodes (real Code-Point Open) and gazetteer addresses."""

    postcodes: np.ndarray
    eastings: np.ndarray
    northings: np.ndarray
    small: np.ndarray  # fewer than four households (or none known)
    addresses: np.ndarray
    address_postcodes: np.ndarray


def reference_load(partnership: Partnership) -> Reference:
    from sanitise.models import Address, PostcodeCentroid, PostcodeHouseholds

    rows = list(
        PostcodeCentroid.objects.filter(area__in=partnership.postcode_areas)
        .order_by("postcode")
        .values_list("postcode", "easting", "northing")
    )
    if not rows:
        raise BenchFailed(f"No postcode centroids are loaded for {partnership.postcode_areas}.")
    postcodes, eastings, northings = (np.array(column) for column in zip(*rows, strict=True))
    households = dict(
        PostcodeHouseholds.objects.filter(postcode__in=postcodes.tolist()).values_list(
            "postcode", "households"
        )
    )
    small = np.array([households.get(postcode, 0) < 4 for postcode in postcodes.tolist()])
    addresses = list(
        Address.objects.filter(postcode__in=postcodes.tolist())
        .order_by("uprn")
        .values_list("address", "postcode")
    )
    if not addresses:
        raise BenchFailed("No gazetteer addresses are loaded for the partnership's postcodes.")
    address_text, address_postcodes = (
        np.array(column, dtype=object) for column in zip(*addresses, strict=True)
    )
    return Reference(
        postcodes=postcodes.astype(object),
        eastings=eastings.astype(float),
        northings=northings.astype(float),
        small=small,
        addresses=address_text,
        address_postcodes=address_postcodes,
    )


def _pick(rng, values: list[str], count: int, share: float) -> np.ndarray:
    """``values`` for a ``share`` of rows, None for the others."""
    chosen = np.array(values, dtype=object)[rng.integers(0, len(values), count)]
    return np.where(rng.random(count) < share, chosen, None)


def _iso_dates(start: datetime.date, offsets: np.ndarray) -> np.ndarray:
    days = np.datetime64(start, "D") + offsets.astype("timedelta64[D]")
    return np.datetime_as_string(days, unit="D").astype(object)


def offence_file(
    *, rows: int, period: tuple[datetime.date, datetime.date], reference: Reference, seed: int
) -> tuple[pa.Table, dict]:
    """A police_crime_offence supply of ``rows`` rows, the same for the same arguments.

    Locations as LOCATION_MIX: coordinates near a postcode centroid, an address alone, an
    address with its postcode, a postcode alone, or nothing; a share of the postcodes have
    fewer than four households. About BAD_ROW_SHARE of the rows are wrong in one way the
    validation rejects. Returns the table (field names as header) and what went into it.
    """
    rng = np.random.default_rng(seed)
    start, end = period
    kinds = np.array([*LOCATION_MIX, "none"])
    weights = np.array([*LOCATION_MIX.values(), 1 - sum(LOCATION_MIX.values())])
    kind = kinds[rng.choice(len(kinds), rows, p=weights)]

    postcode_index = rng.integers(0, len(reference.postcodes), rows)
    small_postcodes = np.flatnonzero(reference.small)
    if len(small_postcodes):
        to_small = rng.random(rows) < SMALL_POSTCODE_SHARE
        picks = rng.integers(0, len(small_postcodes), int(to_small.sum()))
        postcode_index[to_small] = small_postcodes[picks]
    address_index = rng.integers(0, len(reference.addresses), rows)
    with_coordinates = kind == "coordinates"
    with_address = np.isin(kind, ["address", "address_postcode"])
    # Supplied points are the agency's own geocoding: within about 60 m of the centroid.
    eastings = np.round(reference.eastings[postcode_index] + rng.normal(0, 60, rows))
    northings = np.round(reference.northings[postcode_index] + rng.normal(0, 60, rows))
    postcode = np.where(kind == "postcode", reference.postcodes[postcode_index], None)
    postcode = np.where(
        kind == "address_postcode", reference.address_postcodes[address_index], postcode
    )

    day_count = (end - start).days + 1
    days = rng.integers(0, day_count, rows)
    # Offences cluster in the evening and at night, as recorded crime does.
    minutes = np.where(
        rng.random(rows) < 0.45,
        (rng.integers(21 * 60, 28 * 60, rows)) % (24 * 60),
        rng.integers(0, 24 * 60, rows),
    )
    has_to = rng.random(rows) < 0.3
    to_days = np.minimum(days + rng.integers(0, 3, rows), day_count - 1)
    flags = {
        name: np.where(rng.random(rows) < share, "Y", "N").astype(object)
        for name, share in [
            ("flag_distraction_burglary", 0.01), ("flag_drugs", 0.08), ("flag_alcohol", 0.3),
            ("flag_racial", 0.02), ("flag_domestic", 0.2),
        ]
    }  # fmt: skip
    columns = {
        "crime_ref": ("BN/" + np.char.zfill(np.arange(1, rows + 1).astype(str), 8)).astype(object),
        "ho_offence_code": np.array(OFFENCE_CODES, dtype=object)[
            rng.integers(0, len(OFFENCE_CODES), rows)
        ],
        "committed_from_date": _iso_dates(start, days),
        "committed_from_time": CLOCK[minutes],
        "committed_to_date": np.where(has_to, _iso_dates(start, to_days), None),
        "committed_to_time": np.where(has_to, CLOCK[(minutes + 30) % (24 * 60)], None),
        "address": np.where(with_address, reference.addresses[address_index], None),
        "postcode": postcode,
        "easting": np.where(with_coordinates, eastings.astype(np.int64).astype(str), None),
        "northing": np.where(with_coordinates, northings.astype(np.int64).astype(str), None),
        "method_of_entry": _pick(rng, ENTRY_METHODS, rows, 0.1),
        "property_stolen": _pick(rng, PROPERTY, rows, 0.2),
        "weapon": _pick(rng, WEAPONS, rows, 0.05),
        **flags,
    }

    bad = np.flatnonzero(rng.random(rows) < BAD_ROW_SHARE)
    how = rng.integers(0, 4, len(bad))
    columns["committed_from_date"][bad[how == 0]] = f"{start.year}-13-45"  # no such date
    columns["ho_offence_code"][bad[how == 1]] = None  # a required field missing
    columns["flag_domestic"][bad[how == 2]] = "maybe"  # not a boolean
    columns["easting"][bad[how == 3]] = "9999999"  # off the National Grid
    columns["northing"][bad[how == 3]] = "400000"

    table = pa.table({name: pa.array(columns[name], type=pa.string()) for name in FILE_COLUMNS})
    made = {
        "rows": rows,
        "bad_rows": len(bad),
        "locations": {name: int((kind == name).sum()) for name in kinds},
        "small_postcode_rows": int(
            reference.small[postcode_index][kind == "postcode"].sum()
            + reference.small[postcode_index][with_coordinates].sum()
        ),
    }
    return table, made


def csv_write(table: pa.Table, path: Path) -> None:
    pa_csv.write_csv(table, str(path), pa_csv.WriteOptions(quoting_style="needed"))


# -- measuring --------------------------------------------------------------------------------


def machine_info() -> dict:
    import psutil

    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "postgresql": postgres,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "chunk_rows": settings.HUB_CHUNK_ROWS,
        "measured_at": timezone.now().isoformat(timespec="seconds"),
    }


class RssSampler:
    """The largest resident memory of a process and its children, sampled in a thread."""

    def __init__(self, pid: int):
        import psutil

        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self._process, *self._process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                return
            self._stop.wait(RSS_SAMPLE_SECONDS)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def bench_worker(work_dir: Path) -> Iterator:
    """A worker process of its own on a queue of its own; tasks this process sends go there
    while it runs, so a hub's own workers never take the benchmark's work."""
    from hub.celery import app

    queue = f"bench-{uuid.uuid4().hex[:12]}"
    previous = app.conf.task_default_queue
    process = worker_start(queue=queue, log_path=work_dir / f"{queue}.log")
    app.conf.task_default_queue = queue
    try:
        yield process
    finally:
        app.conf.task_default_queue = previous
        worker_stop(process)


def _wait(load: Callable[[], object], done: Callable[[object], bool]) -> object:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        current = load()
        if done(current):
            return current
        if time.monotonic() > deadline:
            raise BenchFailed("Gave up waiting for the worker after an hour.")
        time.sleep(POLL_SECONDS)


def _rate(rows: int, seconds: float) -> int:
    return round(rows / seconds) if seconds > 0 else 0


def stage_times(supply: Supply) -> dict[str, dict]:
    """Each stage's seconds, from the previous stage's end (or the upload) to its own end, as
    the audit trail recorded them."""
    entries = AuditEntry.objects.filter(
        action="supply_stage_done", object_type=Supply._meta.label, object_id=str(supply.pk)
    ).order_by("id")
    stages, previous = {}, supply.created_at
    for entry in entries:
        seconds = (entry.created_at - previous).total_seconds()
        stages[entry.detail["stage"]] = {
            "s": round(seconds, 3),
            "rows_per_s": _rate(supply.record_count or 0, seconds),
        }
        previous = entry.created_at
    return stages


def copy_from_file(path: Path, columns: list[str]) -> float:
    """Seconds to COPY the CSV into an unlogged table of text columns: the limit for storing it."""
    table = sql.Identifier(f"bench_copy_{uuid.uuid4().hex[:12]}")
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE UNLOGGED TABLE {} ({})").format(
                table,
                sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in columns),
            )
        )
        try:
            with path.open("rb") as source:
                started = time.perf_counter()
                cursor.copy_expert(
                    sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)").format(table),
                    source,
                )
                return time.perf_counter() - started
        finally:
            cursor.execute(sql.SQL("DROP TABLE {}").format(table))


def frictionless_validate(path: Path, dataset: Dataset, rows: int) -> dict:
    """Frictionless ``validate`` of the file's first ``rows`` rows against the dataset's Table
    Schema (the hub's own keys taken out), with every error counted."""
    from frictionless import Resource, Schema

    descriptor = dataset.descriptor
    standard = {"name", "title", "description", "type", "format", "constraints", "trueValues",
                "falseValues"}  # fmt: skip
    schema = Schema.from_descriptor(
        {
            "fields": [
                {key: value for key, value in spec.items() if key in standard}
                for spec in descriptor["fields"]
            ],
            "primaryKey": descriptor.get("primaryKey", []),
            "missingValues": descriptor.get("missingValues", [""]),
        }
    )
    # Frictionless opens only paths relative to a base folder it is given.
    resource = Resource(
        path=path.name, basepath=str(path.parent), schema=schema, format="csv", encoding="utf-8"
    )
    started = time.perf_counter()
    report = resource.validate(limit_rows=rows, limit_errors=rows * len(descriptor["fields"]))
    seconds = time.perf_counter() - started
    checked = report.tasks[0].stats.get("rows") or rows
    return {
        "rows": checked,
        "s": round(seconds, 3),
        "rows_per_s": _rate(checked, seconds),
        "errors": len(report.tasks[0].errors),
    }


def copy_to_devnull(query: sql.Composable, params: dict) -> float:
    """Seconds to COPY the query's rows out as CSV, read and thrown away."""
    with connection.cursor() as cursor:
        bound = cursor.mogrify(query, params).decode()
        with open(os.devnull, "wb") as sink:
            started = time.perf_counter()
            cursor.copy_expert(
                sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
                    sql.SQL(bound)
                ),
                sink,
            )
            return time.perf_counter() - started


def extract_timed(*, world: BenchWorld, dataset: Dataset, period) -> tuple[object, dict]:
    """A CSV extract through the extract service and the worker, then downloaded in full."""
    from sharing.choices import ExtractFormat, ExtractStatus
    from sharing.models import Extract
    from sharing.services.extracts import extract_download, extract_request

    started = time.perf_counter()
    extract = extract_request(
        acting_user=world.analyst, dataset=dataset, period_start=period[0],
        period_end=period[1], file_format=ExtractFormat.CSV,
    )  # fmt: skip
    extract = _wait(
        lambda: Extract.objects.get(pk=extract.pk),
        lambda current: current.status not in (ExtractStatus.QUEUED, ExtractStatus.RUNNING),
    )
    if extract.status != ExtractStatus.COMPLETED:
        raise BenchFailed(f"The extract {extract.status}: {extract.failure}")
    built = time.perf_counter()
    downloaded = sum(
        len(part) for part in extract_download(extract=extract, acting_user=world.analyst)
    )
    finished = time.perf_counter()
    worker_seconds = (extract.finished_at - extract.created_at).total_seconds()
    return extract, {
        "rows": extract.row_count,
        "s": round(worker_seconds, 3),
        "rows_per_s": _rate(extract.row_count, worker_seconds),
        "download_bytes": downloaded,
        "download_s": round(finished - built, 3),
        "start_to_download_s": round(finished - started, 3),
    }


def extract_copy_to(extract) -> float:
    """Seconds for a raw COPY TO of the rows the extract holds (the same SELECT)."""
    from sharing.access import extract_scope_check
    from sharing.services.extract_build import extract_query

    scope = extract_scope_check(extract=extract, route="bench")
    select, params, _ = extract_query(extract, scope).records()
    return copy_to_devnull(select, params)


# -- clearing up ------------------------------------------------------------------------------


def bench_clear(*, supplies: list[Supply], extracts: list = ()) -> None:
    """Delete what a benchmark made: extracts and their files, supplies with their records,
    raw files and work in progress; audited."""
    from datasets.rejected_rows import rejected_rows_path
    from datasets.staging import stage_clear

    for extract in extracts:
        if extract.file_path:
            Path(extract.file_path).unlink(missing_ok=True)
        extract.delete()
    ids = [str(supply.pk) for supply in supplies]
    with connection.cursor() as cursor:
        # In SQL: Django's cascade would fetch every record into memory first.
        for model in (IdentifyingRecord, Record):
            cursor.execute(
                sql.SQL("DELETE FROM {} WHERE supply_id = ANY(%s::uuid[])").format(
                    sql.Identifier(model._meta.db_table)
                ),
                [ids],
            )
    for supply in supplies:
        if supply.raw_path:
            Path(supply.raw_path).unlink(missing_ok=True)
        rejected_rows_path(supply).unlink(missing_ok=True)
        stage_clear(supply.pk)
    Supply.objects.filter(pk__in=ids).delete()
    if ids:
        audit_record(
            actor=None, action="bench_cleared", detail={"supplies": len(ids),
            "extracts": len(extracts)}, system=SYSTEM,
        )  # fmt: skip


# -- the benchmark ----------------------------------------------------------------------------


def previous_month(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    end = (today or timezone.localdate()).replace(day=1) - datetime.timedelta(days=1)
    return end.replace(day=1), end


def bench_run(*, rows: int, seed: int = SEED, keep: bool = False) -> dict:
    """Run the benchmark; returns its figures as one JSON-ready dict."""
    world = bench_world()
    dataset = Dataset.objects.get(slug=DATASET)
    period = previous_month()
    work_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    supplies, extracts = [], []
    try:
        started = time.perf_counter()
        table, made = offence_file(
            rows=rows, period=period, reference=reference_load(world.partnership), seed=seed
        )
        path = work_dir / f"{DATASET}.csv"
        csv_write(table, path)
        made["bytes"] = path.stat().st_size
        made["generate_s"] = round(time.perf_counter() - started, 3)

        copy_seconds = copy_from_file(path, FILE_COLUMNS)
        with bench_worker(work_dir) as worker:
            started = time.perf_counter()
            upload = encrypted_upload(name=path.name, data=path.read_bytes())
            upload_seconds = time.perf_counter() - started
            with RssSampler(worker.pid) as sampler:
                supply = supply_create(
                    acting_user=world.supplier, agency=world.agencies["Benchmark Police"],
                    dataset=dataset, upload=upload, period_start=period[0], period_end=period[1],
                    supplier_name="Benchmark", supplier_contact="bench@example.invalid",
                    caveats="SYNTHETIC benchmark data.", declared_record_count=rows,
                )  # fmt: skip
                supplies.append(supply)
                supply = _wait(
                    lambda: Supply.objects.get(pk=supply.pk),
                    lambda current: current.status in FINISHED_STATUSES,
                )
        # The solo worker ran every stage in its own process, now ended and waited for: the
        # kernel's peak for this process's children is the worker's.
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        if supply.status != SupplyStatus.COMPLETED:
            raise BenchFailed(
                f"The supply ended {supply.status}: {supply.failure or supply.report}"
            )
        end_to_end = (supply.finished_at - supply.created_at).total_seconds()
        pipeline = {
            "supply_status": supply.status,
            "received": supply.record_count,
            "accepted": supply.accepted_count,
            "rejected": supply.rejected_count,
            "locations": supply.report.get("locations", {}),
            "upload_encrypt_s": round(upload_seconds, 3),
            "end_to_end_s": round(end_to_end, 3),
            "end_to_end_rows_per_s": _rate(rows, end_to_end),
            "stages": stage_times(supply),
            "worker_peak_rss_mb": round(max(sampler.peak, children_peak) / 2**20, 1),
            "worker_peak_rss_sampled_mb": round(sampler.peak / 2**20, 1),
        }
        copy_from = {"s": round(copy_seconds, 3), "rows_per_s": _rate(rows, copy_seconds)}
        peer = frictionless_validate(path, dataset, min(rows, FRICTIONLESS_ROWS))

        with bench_worker(work_dir):
            extract, extract_figures = extract_timed(world=world, dataset=dataset, period=period)
            extracts.append(extract)
        copy_to_seconds = extract_copy_to(extract)
        extract_figures["copy_to"] = {
            "s": round(copy_to_seconds, 3),
            "rows_per_s": _rate(extract.row_count, copy_to_seconds),
        }
        return {
            "benchmark": "pipeline",
            "machine": machine_info(),
            "file": made,
            "pipeline": pipeline,
            "copy_from": copy_from,
            "frictionless": peer,
            "extract": extract_figures,
            "ratios": {
                "pipeline_time_over_copy_from": round(end_to_end / copy_seconds, 2),
                "pipeline_speed_over_frictionless": round(
                    pipeline["end_to_end_rows_per_s"] / max(peer["rows_per_s"], 1), 1
                ),
                "extract_time_over_copy_to": round(
                    extract_figures["s"] / max(copy_to_seconds, 1e-9), 2
                ),
            },
            "targets": {
                "end_to_end_rows_per_s": 150_000,
                "pipeline_time_over_copy_from": 3.3,
                "worker_peak_rss_mb": 1024,
                "extract_rows_per_s": 500_000,
            },
        }
    finally:
        if not keep:
            bench_clear(supplies=supplies, extracts=extracts)
        shutil.rmtree(work_dir, ignore_errors=True)


# -- the warehouse at scale -------------------------------------------------------------------


def fill_months(months: int, today: datetime.date | None = None) -> list[datetime.date]:
    """The first days of the ``months`` whole months up to last month, oldest first."""
    first, _ = previous_month(today)
    starts = [first]
    for _ in range(months - 1):
        starts.append((starts[-1] - datetime.timedelta(days=1)).replace(day=1))
    return starts[::-1]


def _month_end(start: datetime.date) -> datetime.date:
    return (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)


def _fill_data(rng, slug: str, number: int, count: int, sector: np.ndarray) -> np.ndarray:
    """The records' sanitised other fields as JSON text, built column-wise."""
    refs = np.strings.add(f"F{number:04d}/", np.arange(count).astype(np.dtypes.StringDType()))
    flag = np.where(rng.random(count) < 0.3, "true", "false").astype(np.dtypes.StringDType())
    if slug == "police_crime_offence":
        codes = np.array(OFFENCE_CODES, dtype=np.dtypes.StringDType())[
            rng.integers(0, len(OFFENCE_CODES), count)
        ]
        parts = ['{"crime_ref": "', refs, '", "ho_offence_code": "', codes,
                 '", "flag_alcohol": ', flag, ', "address": "', sector, '"}']  # fmt: skip
    else:
        types = np.array(["street", "home", "licensed_premises", "other"],
                         dtype=np.dtypes.StringDType())[rng.integers(0, 4, count)]  # fmt: skip
        parts = ['{"incident_ref": "', refs, '", "incident_type": "', types,
                 '", "flag_domestic": ', flag, "}"]  # fmt: skip
    text = parts[0]
    for part in parts[1:]:
        text = np.strings.add(text, part)
    return text


def bench_fill(*, records: int, months: int = 36, seed: int = SEED) -> dict:
    """Fill the warehouse with ``records`` synthetic sanitised records of several datasets
    over ``months`` months, by COPY, as completed supplies of the bench partnership; each
    month's supply of each dataset holds its share. Returns what was filled."""
    world = bench_world()
    reference = reference_load(world.partnership)
    # Sanitised records sit on centroids of postcodes with four or more households.
    safe = ~reference.small
    postcodes = reference.postcodes[safe].astype(str)
    eastings = reference.eastings[safe].astype(np.int64)
    northings = reference.northings[safe].astype(np.int64)
    sectors = np.array([p[:-2] for p in postcodes], dtype=np.dtypes.StringDType())
    rng = np.random.default_rng(seed)
    starts = fill_months(months)
    datasets = {d.slug: d for d in Dataset.objects.filter(slug__in=FILL_DATASETS)}
    started = time.perf_counter()
    filled, number = 0, 0
    table = sql.Identifier(Record._meta.db_table)
    copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (postcode))").format(
        table, sql.SQL(", ").join(map(sql.Identifier, RECORD_COLUMNS))
    )
    for slug, (share, agency_name) in FILL_DATASETS.items():
        per_month = np.full(months, int(records * share) // months)
        per_month[-1] += int(records * share) - per_month.sum()
        for start, count in zip(starts, per_month.tolist(), strict=True):
            number += 1
            end = _month_end(start)
            supply = Supply.objects.create(
                dataset=datasets[slug], agency=world.agencies[agency_name],
                uploaded_by=world.supplier, period_start=start, period_end=end,
                supplier_name="Benchmark fill", supplier_contact="bench@example.invalid",
                caveats="SYNTHETIC benchmark fill.", original_filename=FILL_FILENAME,
                file_format="csv", file_size=0, file_sha256="0" * 64, data_key_wrapped=b"",
                master_key_id="bench", status=SupplyStatus.COMPLETED, progress=100,
                finished_at=timezone.now(), record_count=count, accepted_count=count,
                rejected_count=0, report={"bench_fill": True},
            )  # fmt: skip
            where = rng.integers(0, len(postcodes), count)
            located = rng.random(count) >= 0.02
            moved = rng.random(count) < 0.06
            minutes = rng.integers(0, 24 * 60, count)
            days = np.datetime64(start, "D") + rng.integers(0, (end - start).days + 1, count)
            frame = pa.table(
                {
                    "partnership_id": pa.array(np.full(count, world.partnership.pk)),
                    "dataset_id": pa.array(np.full(count, datasets[slug].pk)),
                    "supply_id": pa.array(np.full(count, str(supply.pk), dtype=object)),
                    "row_number": pa.array(np.arange(2, count + 2)),
                    "event_date": pa.array(days),
                    "event_time": pa.array(CLOCK[minutes]),
                    "easting": pa.array(eastings[where], mask=~located),
                    "northing": pa.array(northings[where], mask=~located),
                    "postcode": pa.array(np.where(located, postcodes[where], "")),
                    "location_method": pa.array(
                        np.where(
                            located,
                            np.where(
                                moved, LocationMethod.MOVED.value, LocationMethod.CENTROID.value
                            ),
                            LocationMethod.UNLOCATED.value,
                        )  # fmt: skip
                    ),
                    "data": pa.array(
                        _fill_data(rng, slug, number, count, sectors[where]).astype(object)
                    ),
                }
            )
            buffer = io.BytesIO()
            pa_csv.write_csv(
                frame, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed")
            )
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.copy_expert(copy, buffer)
            # As a load would: the supply's monthly counts from its records just copied.
            counts_recount(supply_ids=[supply.pk])
            filled += count
    with connection.cursor() as cursor:
        # Fresh statistics for the planner, and a visibility map so index-only scans work.
        cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(table))
        cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(Supply._meta.db_table)))
    seconds = time.perf_counter() - started
    audit_record(
        actor=None, action="bench_filled", detail={"records": filled, "months": months,
        "supplies": number}, system=SYSTEM,
    )  # fmt: skip
    return {
        "records": filled,
        "supplies": number,
        "months": [starts[0].isoformat(), _month_end(starts[-1]).isoformat()],
        "s": round(seconds, 1),
        "rows_per_s": _rate(filled, seconds),
    }


def bench_fill_clear() -> int:
    """Delete the records and supplies bench_fill made; returns how many supplies."""
    fill = list(
        Supply.objects.filter(
            agency__partnership__slug=PARTNERSHIP_SLUG, original_filename=FILL_FILENAME
        )
    )
    bench_clear(supplies=fill)
    return len(fill)


class _Statements:
    """Every statement Django runs while installed, with its parameters and duration."""

    def __init__(self):
        self.seen: list[tuple[float, object, object]] = []

    def __call__(self, execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            self.seen.append((time.perf_counter() - started, statement, params))

    def slowest(self) -> tuple[object, object]:
        _, statement, params = max(self.seen, key=lambda seen: seen[0])
        return statement, params


def explain(statement, params) -> list[str]:
    """EXPLAIN ANALYZE of a statement the hub ran, its plan's lines."""
    composed = statement if isinstance(statement, sql.Composable) else sql.SQL(statement)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) {}").format(composed), params)
        return [row[0] for row in cursor.fetchall()]


def _timed(call: Callable[[], object], runs: int) -> tuple[dict, tuple[object, object]]:
    """p50 and p95 of ``runs`` calls in milliseconds, and the slowest statement of the last."""
    times = []
    for _ in range(runs):
        statements = _Statements()
        with connection.execute_wrapper(statements):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    figures = {"runs": runs, "p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1)}
    return figures, statements.slowest()


def bench_scale(*, runs: int = 20, extract_runs: int = 5) -> dict:
    """p50/p95 of what an analyst does over the filled warehouse: counts by month × postcode
    district over three years, the hotspot map's data for one month, and a one-month CSV
    extract from request to download; with EXPLAIN ANALYZE of the two queries."""
    from sharing.workspace.counts import workspace_counts
    from sharing.workspace.filters import workspace_query
    from sharing.workspace.map import map_view

    world = bench_world()
    dataset = Dataset.objects.get(slug=DATASET)
    fill = Supply.objects.filter(
        agency__partnership=world.partnership, dataset=dataset, original_filename=FILL_FILENAME
    )
    if not fill.exists():
        raise BenchFailed("Nothing filled yet: run manage.py bench_fill first.")
    first = fill.order_by("period_start").first()
    last = fill.order_by("-period_start").first()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(Record._meta.db_table))
        )
        total = cursor.fetchone()[0]
    years = QueryDict(mutable=True)
    years.update(
        {"dataset": DATASET, "period_start": first.period_start.isoformat(),
         "period_end": last.period_end.isoformat()}
    )  # fmt: skip
    month = QueryDict(mutable=True)
    month.update(
        {"dataset": DATASET, "period_start": last.period_start.isoformat(),
         "period_end": last.period_end.isoformat()}
    )  # fmt: skip

    def counts() -> None:
        workspace_counts(
            workspace=workspace_query(user=world.analyst, params=years), breakdown=None
        )

    counts_figures, counts_statement = _timed(counts, runs)
    map_figures, map_statement = _timed(
        lambda: map_view(acting_user=world.analyst, params=month), runs
    )
    counts_figures["records_counted"] = Record.objects.filter(
        dataset=dataset, partnership=world.partnership
    ).count()
    map_figures["records_mapped"] = last.record_count

    extract_times, extracts = [], []
    work_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    try:
        with bench_worker(work_dir):
            for _ in range(extract_runs):
                extract, figures = extract_timed(
                    world=world, dataset=dataset, period=(last.period_start, last.period_end)
                )
                extracts.append(extract)
                extract_times.append(figures["start_to_download_s"] * 1000)
        p50, p95 = np.percentile(extract_times, [50, 95])
        extract_figures = {
            "runs": extract_runs,
            "rows": extracts[-1].row_count,
            "p50_ms": round(float(p50), 1),
            "p95_ms": round(float(p95), 1),
        }
    finally:
        bench_clear(supplies=[], extracts=extracts)
        shutil.rmtree(work_dir, ignore_errors=True)
    return {
        "benchmark": "scale",
        "machine": machine_info(),
        "records": total,
        "area": "postcode district (the hub holds no ward lookup)",
        "counts_month_by_district_3_years": counts_figures,
        "map_one_month": map_figures,
        "extract_one_month_start_to_download": extract_figures,
        "targets_ms": {"counts": 1000, "map": 300},
        "plans": {
            "counts": explain(*counts_statement),
            "map": explain(*map_statement),
        },
    }


def as_json(figures: dict) -> str:
    return json.dumps(figures, indent=2, default=str)
