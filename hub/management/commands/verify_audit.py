from django.core.management.base import BaseCommand, CommandError

from hub.models import AuditEntry
from hub.services import audit_verify


class Command(BaseCommand):
    help = "Check the audit trail's hash chain; name the first entry that was changed or removed."

    def handle(self, *args, **options):
        broken = audit_verify()
        if broken is not None:
            when = broken.created_at.strftime("%Y-%m-%d %H:%M:%S")
            raise CommandError(
                f"The audit trail is broken at entry {broken.pk} ({when}, {broken.action}): "
                "it, or the entry before it, was changed or removed."
            )
        self.stdout.write(f"The audit trail is whole: {AuditEntry.objects.count()} entries.")
