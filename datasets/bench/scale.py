"""The warehouse at scale: ``bench_fill`` puts synthetic sanitised records of several datasets
over three years straight into the records table by COPY; ``bench_scale`` then times what
analysts do at that size."""

from __future__ import annotations

import datetime
import gc
import io
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection
from django.http import QueryDict
from django.utils import timezone
from psycopg2 import sql

from datasets.bench.measure import bench_worker, explain, extract_timed, machine_info, rate, timed
from datasets.bench.synthetic import CLOCK, OFFENCE_CODES, SEED, previous_month, reference_load
from datasets.bench.world import (
    DATASET,
    PARTNERSHIP_SLUG,
    SYSTEM,
    BenchFailed,
    bench_clear,
    bench_world,
)
from datasets.choices import LocationMethod, SupplyStatus
from datasets.models import Dataset, Record, Supply
from datasets.storage import FIELD_PREFIX, stored_columns
from datasets.summary import counts_recount
from hub.services import audit_record
from hub.startup import long_lived_freeze

FILL_FILENAME = "bench-fill.csv"
# bench_fill: each dataset's share of the records, and the agency that supplies it.
FILL_DATASETS = {
    "police_crime_offence": (0.40, "Benchmark Police"),
    "police_incident": (0.20, "Benchmark Police"),
    "council_asb": (0.15, "Benchmark Council"),
    "ae_assault": (0.10, "Benchmark NHS Trust"),
    "ambulance_callout": (0.10, "Benchmark Ambulance"),
    "fire_incident": (0.05, "Benchmark Fire"),
}


def fill_months(months: int, today: datetime.date | None = None) -> list[datetime.date]:
    """The first days of the ``months`` whole months up to last month, oldest first."""
    first, _ = previous_month(today)
    starts = [first]
    for _ in range(months - 1):
        starts.append((starts[-1] - datetime.timedelta(days=1)).replace(day=1))
    return starts[::-1]


def _month_end(start: datetime.date) -> datetime.date:
    return (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)


def _fill_fields(
    rng, dataset: Dataset, number: int, count: int, sector: np.ndarray
) -> dict[str, pa.Array]:
    """The records' sanitised fields that the dataset stores, by column, built column-wise."""
    refs = np.strings.add(f"F{number:04d}/", np.arange(count).astype(np.dtypes.StringDType()))
    flags = rng.random(count) < 0.3
    if dataset.slug == "police_crime_offence":
        codes = np.array(OFFENCE_CODES, dtype=object)[rng.integers(0, len(OFFENCE_CODES), count)]
        fields = {"crime_ref": refs, "ho_offence_code": codes, "flag_alcohol": flags,
                  "address": sector}  # fmt: skip
    else:
        types = np.array(["street", "home", "licensed_premises", "other"], dtype=object)
        fields = {"incident_ref": refs, "patient_ref": refs, "flag_domestic": flags,
                  "incident_type": types[rng.integers(0, 4, count)]}  # fmt: skip
    stored = stored_columns(dataset.schema)
    return {
        FIELD_PREFIX + name: pa.array(values.astype(object) if values.dtype.kind != "b" else values)
        for name, values in fields.items()
        if name in stored
    }


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
                    **_fill_fields(rng, datasets[slug], number, count, sectors[where]),
                }
            )
            copy = sql.SQL(
                "COPY {} ({}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (postcode))"
            ).format(table, sql.SQL(", ").join(map(sql.Identifier, frame.column_names)))
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
        "rows_per_s": rate(filled, seconds),
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
            workspace=workspace_query(user=world.analyst, params=years, route="bench"),
            breakdown=None,
        )

    # Timed as the web server runs them, its start-up objects set apart (hub/wsgi.py); the
    # process is handed back as it was.
    long_lived_freeze()
    try:
        counts_figures, counts_statement = timed(counts, runs)
        map_figures, map_statement = timed(
            lambda: map_view(acting_user=world.analyst, params=month), runs
        )
    finally:
        gc.unfreeze()
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
        "targets_ms": {"counts_p95": 300, "map_p95": 150},
        "plans": {
            "counts": explain(*counts_statement),
            "map": explain(*map_statement),
        },
    }
