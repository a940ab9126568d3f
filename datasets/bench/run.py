"""``bench_run``: the synthetic file supplied through ``supply_create`` to a Celery worker
process it starts, each stage timed from the supply's audit trail; on the same file, raw
``COPY FROM`` into an unlogged table and Frictionless ``validate``; then a CSV extract of the
loaded records through the extract service beside a raw ``COPY TO`` of the same rows; then
small files end to end, and one batch of supplies on one worker and on two."""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from collections.abc import Sequence
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
    records_vacuum,
    stage_times,
)
from datasets.bench.supplies import (
    BATCH_ROWS,
    BATCH_SUPPLIES,
    SMALL_ROWS,
    completed_check,
    end_to_end_seconds,
    small_files_timed,
    supply_finished,
    supply_submit,
    upload_file,
    workers_timed,
)
from datasets.bench.synthetic import (
    FILE_COLUMNS,
    SEED,
    months_before,
    offence_csv,
    previous_month,
    reference_load,
)
from datasets.bench.world import DATASET, bench_clear, bench_world
from datasets.models import Dataset

FRICTIONLESS_ROWS = 100_000


def bench_run(
    *, rows: int, seed: int = SEED, keep: bool = False, small_rows: Sequence[int] = SMALL_ROWS,
    batch_supplies: int = BATCH_SUPPLIES, batch_rows: int = BATCH_ROWS,
) -> dict:  # fmt: skip
    """Run the benchmark; returns its figures as one JSON-ready dict."""
    world = bench_world()
    dataset = Dataset.objects.get(slug=DATASET)
    period = previous_month()
    # Every other supply has a month of its own before the main one's: none supersedes another.
    earlier = months_before(period, len(small_rows) + 2 * batch_supplies)
    work_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    supplies, extracts = [], []
    try:
        started = time.perf_counter()
        reference = reference_load(world.partnership)
        path = work_dir / f"{DATASET}.csv"
        made = offence_csv(path=path, rows=rows, period=period, reference=reference, seed=seed)
        made["generate_s"] = round(time.perf_counter() - started, 3)

        copy_seconds = copy_from_file(path, FILE_COLUMNS)
        with bench_worker(work_dir) as worker:
            started = time.perf_counter()
            upload = upload_file(path)
            upload_seconds = time.perf_counter() - started
            with RssSampler(worker.pid) as sampler:
                supply = supply_submit(
                    world=world, dataset=dataset, upload=upload, period=period, rows=rows
                )
                supplies.append(supply)
                supply = supply_finished(supply)
        # The solo worker ran every stage in its own process, now ended and waited for: the
        # kernel's peak for this process's children is the worker's.
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        completed_check(supply)
        end_to_end = end_to_end_seconds(supply)
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

        # The first read of a load's rows writes their hint bits (and, with data checksums,
        # logs their pages again): whoever reads them first pays, as autovacuum does not
        # visit a large table after one load. That extract is timed apart; then the extract
        # and the raw COPY TO are timed on the same pages, vacuumed.
        with bench_worker(work_dir):
            first, first_figures = extract_timed(world=world, dataset=dataset, period=period)
            extracts.append(first)
            vacuum_seconds = records_vacuum()
            extract, extract_figures = extract_timed(world=world, dataset=dataset, period=period)
            extracts.append(extract)
        extract_figures["first_after_load"] = {
            key: first_figures[key] for key in ("s", "rows_per_s")
        }
        extract_figures["vacuum_s"] = round(vacuum_seconds, 3)
        copy_to_seconds = extract_copy_to(extract)
        extract_figures["copy_to"] = {
            "s": round(copy_to_seconds, 3),
            "rows_per_s": rate(extract.row_count, copy_to_seconds),
        }

        small_files = small_files_timed(
            world=world, dataset=dataset, reference=reference, work_dir=work_dir,
            sizes=small_rows, months=earlier[: len(small_rows)], seed=seed, supplies=supplies,
        )  # fmt: skip
        workers = workers_timed(
            world=world, dataset=dataset, reference=reference, work_dir=work_dir,
            batch_supplies=batch_supplies, batch_rows=batch_rows,
            months=earlier[len(small_rows) :], seed=seed, supplies=supplies,
        )  # fmt: skip
        return {
            "benchmark": "pipeline",
            "machine": machine_info(),
            "file": made,
            "pipeline": pipeline,
            "copy_from": copy_from,
            "frictionless": peer,
            "extract": extract_figures,
            "small_files": small_files,
            "workers": workers,
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
