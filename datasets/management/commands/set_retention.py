import getpass

from django.core.management.base import BaseCommand, CommandError

from datasets.models import Dataset
from datasets.services.retention import RetentionInvalid, dataset_retention_set

DEFAULT = "default"


def _number_or_default(value: str) -> int | str:
    return DEFAULT if value == DEFAULT else int(value)


def _or_none(value: int | str | None) -> int | None:
    """None (the hub's default) for 'default'."""
    return None if value == DEFAULT else value


class Command(BaseCommand):
    help = (
        "Set how long a dataset's records (months) and identifying fields (days) are kept; "
        "'default' returns to the hub's default. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset", help="the dataset's identifier, e.g. police_crime_offence")
        parser.add_argument("--records-months", type=_number_or_default)
        parser.add_argument("--identifying-days", type=_number_or_default)

    def handle(self, *args, dataset: str, records_months, identifying_days, **options):
        try:
            found = Dataset.objects.get(slug=dataset)
        except Dataset.DoesNotExist as error:
            raise CommandError(f"There is no dataset {dataset!r}.") from error
        # An option not given keeps the dataset's current setting.
        if records_months is None:
            records_months = found.records_retention_months
        if identifying_days is None:
            identifying_days = found.identifying_retention_days
        try:
            found = dataset_retention_set(
                dataset=found,
                records_retention_months=_or_none(records_months),
                identifying_retention_days=_or_none(identifying_days),
                operator=getpass.getuser(),
            )
        except RetentionInvalid as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{found.slug}: records kept {found.records_retention} months, "
            f"identifying fields {found.identifying_retention} days."
        )
