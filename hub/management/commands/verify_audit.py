from django.core.management.base import BaseCommand, CommandError

from hub.anchor import public_key_text
from hub.audit import audit_verify

SHOWN = 50  # problems listed; the rest are counted


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain and every signed checkpoint of it; name each entry "
        "changed, removed or cut off, and each checkpoint that is forged."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--public-key",
            action="store_true",
            help="Print the public key of HUB_AUDIT_SIGNING_KEY (for "
            "HUB_AUDIT_PREVIOUS_PUBLIC_KEYS once that key is replaced) and stop.",
        )

    def handle(self, *args, **options):
        if options["public_key"]:
            self.stdout.write(public_key_text())
            return
        check = audit_verify()
        if not check.whole:
            lines = [problem.message for problem in check.problems[:SHOWN]]
            if len(check.problems) > SHOWN:
                lines.append(f"… and {len(check.problems) - SHOWN} more.")
            raise CommandError(
                f"The audit trail is not as it was: {len(check.problems)} problem(s).\n"
                + "\n".join(lines)
            )
        self.stdout.write(
            f"The audit trail is whole: {check.entries} entries, {check.checkpoints} "
            "signed checkpoints."
        )
        if check.newest is None:
            self.stdout.write(
                "No checkpoint has been signed yet, so entries cut from the end would not show."
            )
        else:
            self.stdout.write(
                f"The newest checkpoint names entry {check.newest.entry_id} "
                f"(signed {check.newest.signed_at}); the trail ends at entry {check.head_id}."
            )
