from django.core.management.base import BaseCommand

from datasets.summary import summaries_rebuild


class Command(BaseCommand):
    help = (
        "Recount every supply's monthly counts and points from its records, one partnership "
        "at a time. Run once after an upgrade that changes them, when every worker runs the "
        "new code."
    )

    def handle(self, *args, **options):
        recounted = summaries_rebuild()
        self.stdout.write(f"Recounted the summaries of {recounted} supplies.")
