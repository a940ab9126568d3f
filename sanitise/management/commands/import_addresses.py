from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanitise.imports import addresses_import
from sanitise.readers import ReferenceImportError


class Command(BaseCommand):
    help = (
        "Replace the address gazetteer with a uprn,address,postcode,easting,northing CSV "
        "(an LLPG or AddressBase export)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "csv", type=Path, help="CSV with the header uprn,address,postcode,easting,northing"
        )

    def handle(self, *args, csv, **options):
        if not csv.is_file():
            raise CommandError(f"{csv}: no such file; nothing was imported.")
        try:
            result = addresses_import(path=csv)
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        changes = ", ".join(f"{count} {change}" for change, count in result.detail.items())
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: {result.version.row_count} addresses "
            f"imported ({changes})."
        )
