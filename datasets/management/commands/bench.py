from django.core.management.base import BaseCommand, CommandError

from datasets.bench.measure import as_json
from datasets.bench.run import bench_run
from datasets.bench.scale import bench_scale
from datasets.bench.supplies import BATCH_ROWS, BATCH_SUPPLIES, SMALL_ROWS
from datasets.bench.synthetic import SEED
from datasets.bench.world import BenchFailed


class Command(BaseCommand):
    help = (
        "Benchmark the pipeline on a synthetic police offence supply (a real worker, real "
        "PostgreSQL) beside raw COPY and Frictionless, the extract beside COPY TO, small files "
        "end to end and a batch of supplies on one worker and on two; or, "
        "with --scale, the workspace and extracts over what bench_fill put in. Prints JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the file")
        parser.add_argument(
            "--small-rows", type=int, nargs="+", default=list(SMALL_ROWS),
            help="rows in each small file, timed end to end one after another",
        )  # fmt: skip
        parser.add_argument(
            "--batch-supplies", type=int, default=BATCH_SUPPLIES,
            help="supplies in the batch timed on one worker and on two",
        )  # fmt: skip
        parser.add_argument(
            "--batch-rows", type=int, default=BATCH_ROWS, help="rows in each supply of the batch"
        )
        parser.add_argument("--seed", type=int, default=SEED)
        parser.add_argument(
            "--keep", action="store_true", help="keep the supplies, their records and the extract"
        )
        parser.add_argument("--scale", action="store_true", help="time queries at scale instead")
        parser.add_argument("--runs", type=int, default=20, help="--scale: runs of each query")
        parser.add_argument(
            "--extract-runs", type=int, default=5, help="--scale: one-month extracts to time"
        )

    def handle(
        self, *args, rows, small_rows, batch_supplies, batch_rows, seed, keep, scale, runs,
        extract_runs, **options,
    ):  # fmt: skip
        if min(rows, batch_supplies, batch_rows, *small_rows) < 1:
            raise CommandError("Rows and supplies must be at least 1.")
        try:
            if scale:
                figures = bench_scale(runs=runs, extract_runs=extract_runs)
            else:
                figures = bench_run(
                    rows=rows, seed=seed, keep=keep, small_rows=small_rows,
                    batch_supplies=batch_supplies, batch_rows=batch_rows,
                )  # fmt: skip
        except BenchFailed as failure:
            raise CommandError(str(failure)) from failure
        self.stdout.write(as_json(figures))
