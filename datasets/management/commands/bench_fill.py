from django.core.management.base import BaseCommand

from datasets.bench.measure import as_json
from datasets.bench.scale import bench_fill, bench_fill_clear
from datasets.bench.synthetic import SEED


class Command(BaseCommand):
    help = (
        "Fill the warehouse with synthetic sanitised records of several datasets over three "
        "years, by COPY, in the bench partnership (for manage.py bench --scale). Prints JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=30_000_000)
        parser.add_argument("--months", type=int, default=36)
        parser.add_argument("--seed", type=int, default=SEED)
        parser.add_argument(
            "--clear", action="store_true", help="delete what earlier fills put in, and stop"
        )

    def handle(self, *args, records, months, seed, clear, **options):
        if clear:
            self.stdout.write(as_json({"cleared_supplies": bench_fill_clear()}))
            return
        filled = bench_fill(records=records, months=months, seed=seed)
        self.stdout.write(as_json(filled))
