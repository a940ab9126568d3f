"""The benchmark's smoke run: the real pipeline on a small file, the fill and the scale
queries, checked for every figure they promise (never for how fast they were)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from datasets.bench.scale import FILL_FILENAME
from datasets.bench.synthetic import offence_file, previous_month, reference_load
from datasets.bench.world import PARTNERSHIP_SLUG, bench_world
from datasets.models import Record, Supply
from hub.models import AuditEntry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _run(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def _figure(figures: dict, path: str):
    value = figures
    for key in path.split("."):
        assert key in value, f"{path} missing from the benchmark's JSON"
        value = value[key]
    return value


PIPELINE_FIGURES = [
    "machine.cpu_model", "machine.cores", "machine.ram_gb", "machine.postgresql",
    "file.rows", "file.bad_rows", "file.locations", "file.small_postcode_rows",
    "pipeline.end_to_end_s", "pipeline.end_to_end_rows_per_s", "pipeline.worker_peak_rss_mb",
    "copy_from.rows_per_s", "frictionless.rows_per_s", "frictionless.errors",
    "extract.rows_per_s", "extract.start_to_download_s", "extract.copy_to.rows_per_s",
    "extract.first_after_load.rows_per_s", "extract.vacuum_s",
    "ratios.pipeline_time_over_copy_from", "ratios.pipeline_speed_over_frictionless",
    "ratios.extract_time_over_copy_to",
]  # fmt: skip
STAGES = ["loading", "reporting"]
# Small enough to be quick: two small files and a batch of two supplies.
SMALL = ["--small-rows", "1000", "3000", "--batch-supplies", "2", "--batch-rows", "2000"]


def test_the_benchmark_runs_the_real_pipeline_and_prints_every_figure():
    figures = _run("bench", "--rows", "10000", *SMALL)

    for path in PIPELINE_FIGURES:
        assert _figure(figures, path) is not None
    pipeline = figures["pipeline"]
    assert pipeline["supply_status"] == "completed"
    assert pipeline["received"] == 10000
    # The planted bad rows were rejected by validation, and only those.
    assert 0 < pipeline["rejected"] <= figures["file"]["bad_rows"]
    assert pipeline["accepted"] == 10000 - pipeline["rejected"]
    assert list(pipeline["stages"]) == STAGES
    assert all(stage["s"] > 0 for stage in pipeline["stages"].values())
    assert pipeline["locations"]["moved"] > 0  # some postcodes had under four households
    assert pipeline["worker_peak_rss_mb"] > 0
    assert figures["frictionless"]["rows"] == 10000
    assert figures["frictionless"]["errors"] > 0  # the peer found the planted errors too
    assert figures["extract"]["rows"] == pipeline["accepted"]
    assert figures["extract"]["download_bytes"] > 0

    small = figures["small_files"]
    assert [file["rows"] for file in small] == [1000, 3000]
    for file in small:
        assert 0 < file["accepted"] <= file["rows"]
        assert file["end_to_end_s"] > 0 and file["end_to_end_rows_per_s"] > 0
        assert file["copy_from"]["s"] > 0 and file["copy_from"]["rows_per_s"] > 0
        assert file["time_over_copy_from"] > 0

    workers = figures["workers"]
    assert workers["supplies"] == 2 and workers["rows_per_supply"] == 2000
    one, two = workers["one_worker"], workers["two_workers"]
    assert (one["workers"], two["workers"]) == (1, 2)
    for run in (one, two):
        assert run["completed"] == 2
        assert run["received"] == 4000
        assert run["accepted"] + run["rejected"] == 4000 and run["rejected"] > 0
        assert run["wall_s"] > 0 and run["rows_per_s"] > 0
    assert one["accepted"] == two["accepted"]  # the same batch both times
    assert list(one["seconds_by_stage"]) == STAGES
    # The one worker was busy from the first supply to the last: its stages fill the time.
    assert sum(one["seconds_by_stage"].values()) == pytest.approx(one["wall_s"], abs=0.1)
    assert workers["speed_up"] > 0


def test_the_benchmark_leaves_nothing_behind():
    _run("bench", "--rows", "2000", "--small-rows", "500", "--batch-supplies", "1",
         "--batch-rows", "500")  # fmt: skip

    assert not Supply.objects.filter(agency__partnership__slug=PARTNERSHIP_SLUG).exists()
    assert not Record.objects.exists()
    assert AuditEntry.objects.filter(action="bench_cleared").exists()


def test_the_same_seed_makes_the_same_file():
    world = bench_world()
    reference = reference_load(world.partnership)
    period = previous_month()
    first, _ = offence_file(rows=3000, period=period, reference=reference, seed=7)
    again, _ = offence_file(rows=3000, period=period, reference=reference, seed=7)
    other, _ = offence_file(rows=3000, period=period, reference=reference, seed=8)

    assert first.equals(again)
    assert not first.equals(other)


def test_the_fill_and_the_scale_queries_give_every_figure():
    filled = _run("bench_fill", "--records", "20000", "--months", "3")

    assert filled["records"] == 20000
    assert Record.objects.count() == 20000
    assert Supply.objects.filter(original_filename=FILL_FILENAME).count() == filled["supplies"]
    # Every record is on a centroid the gazetteer knows, or unlocated.
    assert not Record.objects.filter(location_method="centroid", easting__isnull=True).exists()

    figures = _run("bench", "--scale", "--runs", "2", "--extract-runs", "1")

    assert figures["records"] == 20000
    for name in ["counts_month_by_district_3_years", "map_one_month"]:
        assert figures[name]["runs"] == 2
        assert figures[name]["first_ms"] > 0
        assert figures[name]["p50_ms"] > 0 and figures[name]["p95_ms"] > 0
    extract = figures["extract_one_month_start_to_download"]
    assert extract["rows"] > 0 and extract["p50_ms"] > 0
    assert any("Execution Time" in line for line in figures["plans"]["counts"])
    assert any("Execution Time" in line for line in figures["plans"]["map"])

    cleared = _run("bench_fill", "--clear")
    assert cleared["cleared_supplies"] == filled["supplies"]
    assert not Record.objects.exists()
