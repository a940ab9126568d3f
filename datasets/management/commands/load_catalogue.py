from django.core.management.base import BaseCommand, CommandError

from datasets.catalogue import CatalogueError
from datasets.services.catalogue import catalogue_sync


class Command(BaseCommand):
    help = "Bring the dataset catalogue in step with the schema files in datasets/schemas/."

    def handle(self, *args, **options):
        try:
            result = catalogue_sync(system="load_catalogue")
        except CatalogueError as error:
            raise CommandError(f"The catalogue was not changed: {error}") from error
        self.stdout.write(
            f"Catalogue: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged, {len(result.retired)} retired."
        )
