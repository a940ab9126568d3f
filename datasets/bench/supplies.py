"""Supplies of the synthetic file through the real path (``supply_create`` to benchmark workers,
waited for until finished), and the figures made of several: small files end to end beside raw
``COPY FROM``, and one batch of supplies processed by one worker and then by two."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from datasets.bench.measure import (
    bench_worker,
    bench_workers,
    copy_from_file,
    rate,
    stage_seconds,
    wait_for,
)
from datasets.bench.synthetic import FILE_COLUMNS, Reference, offence_csv
from datasets.bench.world import DATASET, BenchFailed, BenchWorld
from datasets.choices import SupplyStatus
from datasets.models import FINISHED_STATUSES, Dataset, Supply
from datasets.services.supplies import supply_create
from hub.uploads import EncryptedUpload, encrypted_upload

SMALL_ROWS = (10_000, 100_000)
BATCH_SUPPLIES = 4
BATCH_ROWS = 100_000

Period = tuple[datetime.date, datetime.date]


def upload_file(path: Path) -> EncryptedUpload:
    return encrypted_upload(name=path.name, data=path.read_bytes())


def supply_submit(
    *, world: BenchWorld, dataset: Dataset, upload: EncryptedUpload, period: Period, rows: int
) -> Supply:
    """A supply of the bench police force through the service, queued for the workers."""
    return supply_create(
        acting_user=world.supplier, agency=world.agencies["Benchmark Police"], dataset=dataset,
        upload=upload, period_start=period[0], period_end=period[1], supplier_name="Benchmark",
        supplier_contact="bench@example.invalid", caveats="SYNTHETIC benchmark data.",
        declared_record_count=rows,
    )  # fmt: skip


def supply_finished(supply: Supply) -> Supply:
    return wait_for(
        lambda: Supply.objects.get(pk=supply.pk),
        lambda current: current.status in FINISHED_STATUSES,
    )


def completed_check(supply: Supply) -> None:
    if supply.status != SupplyStatus.COMPLETED:
        raise BenchFailed(f"The supply ended {supply.status}: {supply.failure or supply.report}")


def end_to_end_seconds(supply: Supply) -> float:
    """Queued to completed, as the supply records it."""
    return (supply.finished_at - supply.created_at).total_seconds()


def small_files_timed(
    *, world: BenchWorld, dataset: Dataset, reference: Reference, work_dir: Path,
    sizes: Sequence[int], months: list[Period], seed: int, supplies: list[Supply],
) -> list[dict]:  # fmt: skip
    """A file of each size (each of its own month) supplied end to end, beside a raw COPY FROM
    of it. Adds the supplies to ``supplies``."""
    figures = []
    for number, (rows, period) in enumerate(zip(sizes, months, strict=True)):
        path = work_dir / f"{DATASET}-small-{number}.csv"
        offence_csv(path=path, rows=rows, period=period, reference=reference, seed=seed + number)
        copy_seconds = copy_from_file(path, FILE_COLUMNS)
        # A fresh worker for each, as for the main figure: a worker's first supply pays for its
        # one-off start-up work, and every size should pay it alike.
        with bench_worker(work_dir):
            supply = supply_submit(
                world=world, dataset=dataset, upload=upload_file(path), period=period, rows=rows
            )
            supplies.append(supply)
            supply = supply_finished(supply)
        completed_check(supply)
        seconds = end_to_end_seconds(supply)
        figures.append(
            {
                "rows": rows,
                "accepted": supply.accepted_count,
                "end_to_end_s": round(seconds, 3),
                "end_to_end_rows_per_s": rate(rows, seconds),
                "copy_from": {"s": round(copy_seconds, 3), "rows_per_s": rate(rows, copy_seconds)},
                "time_over_copy_from": round(seconds / copy_seconds, 2),
            }
        )
    return figures


def workers_timed(
    *, world: BenchWorld, dataset: Dataset, reference: Reference, work_dir: Path,
    batch_supplies: int, batch_rows: int, months: list[Period], seed: int,
    supplies: list[Supply],
) -> dict:  # fmt: skip
    """The same batch of ``batch_supplies`` files of ``batch_rows`` rows submitted at once to
    one worker, then to two on one queue. Each supply has a month of its own (``months``, two
    batches' worth), so none supersedes another. Adds the supplies to ``supplies``."""
    common = {"world": world, "dataset": dataset, "reference": reference, "work_dir": work_dir,
              "rows": batch_rows, "seed": seed, "supplies": supplies}  # fmt: skip
    one, one_batch = _batch_timed(workers=1, months=months[:batch_supplies], **common)
    two, _ = _batch_timed(workers=2, months=months[batch_supplies : 2 * batch_supplies], **common)
    return {
        "supplies": batch_supplies,
        "rows_per_supply": batch_rows,
        "one_worker": {
            **one,
            "seconds_by_stage": {
                stage: round(seconds, 3) for stage, seconds in stage_seconds(one_batch).items()
            },
        },
        "two_workers": two,
        "speed_up": round(two["rows_per_s"] / max(one["rows_per_s"], 1), 2),
    }


def _batch_timed(
    *, world: BenchWorld, dataset: Dataset, reference: Reference, work_dir: Path, workers: int,
    months: list[Period], rows: int, seed: int, supplies: list[Supply],
) -> tuple[dict, list[Supply]]:  # fmt: skip
    """A file of ``rows`` rows for each month, supplied at once to ``workers`` workers and
    timed from the first supply made to the last finished; the figures and the supplies."""
    uploads = []
    for number, period in enumerate(months):
        path = work_dir / f"{DATASET}-batch-{workers}-{number}.csv"
        # The same seeds for every batch: the same rows, on other dates.
        offence_csv(path=path, rows=rows, period=period, reference=reference, seed=seed + number)
        # Encrypted first, so that the supplies go in one straight after another.
        uploads.append((upload_file(path), period))
    batch = []
    with bench_workers(work_dir, count=workers):
        for upload, period in uploads:
            supply = supply_submit(
                world=world, dataset=dataset, upload=upload, period=period, rows=rows
            )
            supplies.append(supply)
            batch.append(supply)
        batch = [supply_finished(supply) for supply in batch]
    for supply in batch:
        completed_check(supply)
    wall = (
        max(supply.finished_at for supply in batch) - min(supply.created_at for supply in batch)
    ).total_seconds()
    received = sum(supply.record_count for supply in batch)
    figures = {
        "workers": workers,
        "completed": len(batch),
        "received": received,
        "accepted": sum(supply.accepted_count for supply in batch),
        "rejected": sum(supply.rejected_count for supply in batch),
        "wall_s": round(wall, 3),
        "rows_per_s": rate(received, wall),
    }
    return figures, batch
