from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanitise.imports import places_import
from sanitise.readers import ReferenceImportError


class Command(BaseCommand):
    help = (
        "Replace the gazetteer of non-addressable places (parks, car parks, stations) "
        "with a name,easting,northing CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path, help="CSV with the header name,easting,northing")

    def handle(self, *args, csv, **options):
        if not csv.is_file():
            raise CommandError(f"{csv}: no such file; nothing was imported.")
        try:
            result = places_import(path=csv)
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        changes = ", ".join(f"{count} {change}" for change, count in result.detail.items())
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: {result.version.row_count} places "
            f"imported ({changes})."
        )
