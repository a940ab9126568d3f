from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanitise.area_imports import area_statistics_import, ward_statistics_derive
from sanitise.readers import ReferenceImportError


class Command(BaseCommand):
    help = (
        "Import figures for areas from the English Indices of Deprivation 2019 File 7, ONS "
        "population estimates by single year of age, a Census households table, or the hub's "
        "own area_code,indicator,value CSV. The figures given replace those stored; others "
        "stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path, help="the CSV file")
        parser.add_argument(
            "--wards-from-lsoas", nargs="*", metavar="LAD", default=None,
            help="then derive ward figures from the LSOAs' (of these local authorities, or "
            "all): each LSOA's counts shared among its wards by its postcodes",
        )  # fmt: skip

    def handle(self, *args, csv, wards_from_lsoas, **options):
        try:
            result = area_statistics_import(source=str(csv))
        except ReferenceImportError as error:
            raise CommandError(str(error)) from error
        detail = result.detail
        self.stdout.write(
            f"Gazetteer version {result.version.pk}: {result.version.row_count} figures for "
            f"{detail['areas']} areas ({', '.join(detail['indicators'])}; {detail['added']} "
            f"added, {detail['changed']} changed)."
        )
        if detail.get("attribution"):
            self.stdout.write(detail["attribution"])
        if wards_from_lsoas is not None:
            derived = ward_statistics_derive(lad_codes=wards_from_lsoas)
            self.stdout.write(
                f"Ward figures derived from LSOAs: {derived.version.row_count} figures."
                if derived
                else "No ward figures derived: the LSOAs have no figures."
            )
