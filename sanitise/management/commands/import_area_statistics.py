from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanitise.area_imports import area_statistics_import
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

    def handle(self, *args, csv, **options):
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
