from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanitise.imports import households_import
from sanitise.readers import ReferenceImportError


class Command(BaseCommand):
    help = (
        "Set the number of households of each postcode listed in a postcode,households CSV; "
        "postcodes not listed keep their counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path, help="CSV with the header postcode,households")

    def handle(self, *args, csv, **options):
        if not csv.is_file():
            raise CommandError(f"{csv}: no such file; nothing was imported.")
        try:
            result = households_import(path=csv)
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        changes = ", ".join(f"{count} {change}" for change, count in result.detail.items())
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: {result.version.row_count} household counts "
            f"imported ({changes})."
        )
