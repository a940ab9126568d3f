"""Measuring: the machine, workers of the benchmark's own and their memory, stage times from the
audit trail, and the limits and peer the pipeline is judged against (raw COPY FROM, Frictionless
``validate``, an extract beside raw COPY TO); p50/p95 of repeated calls with their plans."""

from __future__ import annotations

import json
import os
import platform
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from datasets.bench.world import BenchFailed, BenchWorld
from datasets.models import Dataset, Record, Supply
from hub.models import AuditEntry
from hub.workers import worker_start, worker_stop

RSS_SAMPLE_SECONDS = 0.05
POLL_SECONDS = 0.1
WAIT_SECONDS = 3600


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
    with bench_workers(work_dir, count=1) as [process]:
        yield process


@contextmanager
def bench_workers(work_dir: Path, *, count: int) -> Iterator[list]:
    """``count`` worker processes sharing one queue of their own, each ready before this
    yields; tasks this process sends go to that queue while they run."""
    from hub.celery import app

    queue = f"bench-{uuid.uuid4().hex[:12]}"
    previous = app.conf.task_default_queue
    processes = []
    try:
        for number in range(count):
            log_path = work_dir / f"{queue}-{number}.log"
            processes.append(worker_start(queue=queue, log_path=log_path))
        app.conf.task_default_queue = queue
        yield processes
    finally:
        app.conf.task_default_queue = previous
        for process in processes:
            worker_stop(process)


def wait_for(load: Callable[[], object], done: Callable[[object], bool]) -> object:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        current = load()
        if done(current):
            return current
        if time.monotonic() > deadline:
            raise BenchFailed("Gave up waiting for the worker after an hour.")
        time.sleep(POLL_SECONDS)


def rate(rows: int, seconds: float) -> int:
    return round(rows / seconds) if seconds > 0 else 0


def stage_seconds(supplies: list[Supply]) -> dict[str, float]:
    """Seconds spent on each stage of these supplies, summed, from the end of the stage before
    it (any of the supplies', or the first upload) to its own end, as the audit trail recorded
    them: for one worker that never waits, its time on each stage."""
    entries = AuditEntry.objects.filter(
        action="supply_stage_done",
        object_type=Supply._meta.label,
        object_id__in=[str(supply.pk) for supply in supplies],
    ).order_by("id")
    seconds, previous = {}, min(supply.created_at for supply in supplies)
    for entry in entries:
        stage = entry.detail["stage"]
        seconds[stage] = seconds.get(stage, 0.0) + (entry.created_at - previous).total_seconds()
        previous = entry.created_at
    return seconds


def stage_times(supply: Supply) -> dict[str, dict]:
    """Each stage's seconds and rows/s for one supply, from the upload on."""
    return {
        stage: {"s": round(seconds, 3), "rows_per_s": rate(supply.record_count or 0, seconds)}
        for stage, seconds in stage_seconds([supply]).items()
    }


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
        "rows_per_s": rate(checked, seconds),
        "errors": len(report.tasks[0].errors),
    }


def copy_to_devnull(query: sql.Composable, params: dict) -> float:
    """Seconds to COPY the query's rows out as CSV, read and thrown away; as an extract reads
    them, by one process (sharing.reading.scans_in_stored_order)."""
    from sharing.reading import scans_in_stored_order

    with scans_in_stored_order(), connection.cursor() as cursor:
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
    extract = wait_for(
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
        "rows_per_s": rate(extract.row_count, worker_seconds),
        "download_bytes": downloaded,
        "download_s": round(finished - built, 3),
        "start_to_download_s": round(finished - started, 3),
    }


def records_vacuum() -> float:
    """Seconds to VACUUM ANALYZE the records table."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(Record._meta.db_table)))
    return time.perf_counter() - started


def extract_copy_to(extract) -> float:
    """Seconds for a raw COPY TO of the rows the extract holds (the same SELECT)."""
    from sharing.access import extract_scope_check
    from sharing.services.extract_build import extract_query

    scope = extract_scope_check(extract=extract, route="bench")
    select, params, _ = extract_query(extract, scope).records()
    return copy_to_devnull(select, params)


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


def timed(call: Callable[[], object], runs: int) -> tuple[dict, tuple[object, object]]:
    """p50 and p95 of ``runs`` calls in milliseconds after a first call, timed apart (a
    process's first call also fills its caches and PostgreSQL's), and the slowest statement
    of the last."""
    started = time.perf_counter()
    call()
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(runs):
        statements = _Statements()
        with connection.execute_wrapper(statements):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    figures = {
        "first_ms": round(first, 1),
        "runs": runs,
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
    }
    return figures, statements.slowest()


def as_json(figures: dict) -> str:
    return json.dumps(figures, indent=2, default=str)
