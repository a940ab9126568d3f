from django.core.management.base import BaseCommand, CommandError

from hub.crypto import master_key_id, master_keys
from hub.key_rotation import master_key_census, master_key_rotate


class Command(BaseCommand):
    help = (
        "Re-wrap every data key still under a previous master key (HUB_PREVIOUS_MASTER_KEYS) "
        "with the current one (HUB_MASTER_KEY). Safe to stop and run again. With --check, "
        "count the data keys under each master key instead, and fail if any is not configured."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="count keys per master key; change nothing"
        )
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")

    def handle(self, *args, check: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if check:
            self._check()
            return
        report = master_key_rotate(
            batch_size=batch_size,
            on_batch=lambda label, done: self.stdout.write(f"{label}: {done} re-wrapped"),
        )
        for label, count in sorted(report.rewrapped.items()):
            self.stdout.write(f"{label}: {count} data keys re-wrapped under {report.key_id}")
        problems = [
            f"{label}: {count} in use by another process; run the command again"
            for label, count in sorted((+report.in_use).items())
        ] + [
            f"{label}: {count} under master key {key_id}, which is not configured"
            for label, ids in sorted(report.unreadable.items())
            for key_id, count in sorted(ids.items())
        ]
        if problems:
            raise CommandError("Not every data key was re-wrapped:\n" + "\n".join(problems))
        self.stdout.write(
            f"Every data key is under master key {report.key_id}; "
            "the previous master keys can be removed."
        )

    def _check(self) -> None:
        current = master_key_id()
        configured = set(master_keys())
        missing: dict[str, int] = {}
        to_rewrap = 0
        for label, counts in master_key_census().items():
            for key_id, count in sorted(counts.items()):
                if key_id == current:
                    state = "current"
                elif key_id in configured:
                    state = "previous"
                    to_rewrap += count
                else:
                    state = "NOT CONFIGURED"
                    missing[key_id] = missing.get(key_id, 0) + count
                self.stdout.write(f"{label}: {count} under {key_id} ({state})")
        if missing:
            raise CommandError(
                "Data keys under master keys that are not configured: "
                + ", ".join(f"{key_id} ({count})" for key_id, count in sorted(missing.items()))
                + ". Add them to HUB_PREVIOUS_MASTER_KEYS; those files cannot be read."
            )
        if to_rewrap:
            self.stdout.write(f"{to_rewrap} data keys to re-wrap: run rotate_master_key.")
        else:
            self.stdout.write(f"Every data key is under the current master key {current}.")
