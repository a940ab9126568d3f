"""``bench_run``: the synthetic file supplied through ``supply_create`` to a Celery worker
process it starts, each stage timed from the supply's audit trail; on the same file, raw
``COPY FROM`` into an unlogged table and Frictionless ``validate``; then a CSV extract of the
loaded records through the extract service beside a raw ``COPY TO`` of the same rows."""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from pathlib import Path

from datasets.bench.measure import (
    RssSampler,
    bench_worker,
    copy_from_file,
    extract_copy_to,
    extract_timed,
    frictionless_validate,
    machine_info,
    rate,
    stage_times,
    wait_for,
)
from datasets.bench.synthetic import (
    FILE_COLUMNS,
    SEED,
    csv_write,
    offence_file,
    previous_month,
    reference_load,
)
from datasets.bench.world import DATASET, BenchFailed, bench_clear, bench_world
from datasets.choices import SupplyStatus
from datasets.models import FINISHED_STATUSES, Dataset, Supply
from datasets.services.supplies import supply_create
from hub.uploads import encrypted_upload

FRICTIONLESS_ROWS = 100_000


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
                supply = wait_for(
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
            "end_to_end_rows_per_s": rate(rows, end_to_end),
            "stages": stage_times(supply),
            "worker_peak_rss_mb": round(max(sampler.peak, children_peak) / 2**20, 1),
            "worker_peak_rss_sampled_mb": round(sampler.peak / 2**20, 1),
        }
        copy_from = {"s": round(copy_seconds, 3), "rows_per_s": rate(rows, copy_seconds)}
        peer = frictionless_validate(path, dataset, min(rows, FRICTIONLESS_ROWS))

        with bench_worker(work_dir):
            extract, extract_figures = extract_timed(world=world, dataset=dataset, period=period)
            extracts.append(extract)
        copy_to_seconds = extract_copy_to(extract)
        extract_figures["copy_to"] = {
            "s": round(copy_to_seconds, 3),
            "rows_per_s": rate(extract.row_count, copy_to_seconds),
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
