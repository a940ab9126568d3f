import uuid
from functools import cached_property

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Cast, Floor, Random

from datasets.catalogue import DatasetSchema, schema_from_descriptor
from datasets.choices import (
    DatasetKind,
    DatasetTier,
    FileFormat,
    LocationMethod,
    SupplyFrequency,
    SupplyStatus,
)
from hub.choices import AgencyType
from hub.models import Agency, Partnership


class Dataset(models.Model):
    """A minimum dataset of the catalogue, kept in step with its schema file."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    section = models.CharField(max_length=20, blank=True)
    tier = models.CharField(max_length=20, choices=DatasetTier.choices)
    kind = models.CharField(max_length=30, choices=DatasetKind.choices)
    supplier_types = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    description = models.TextField(blank=True)
    descriptor = models.JSONField(help_text="The schema file as loaded.")
    schema_sha256 = models.CharField(max_length=64)
    # A schema file removed from the catalogue retires its dataset; supplies keep pointing at it.
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Retention overrides (guidance §2.4: kept no longer than needed); empty = the default.
    records_retention_months = models.PositiveIntegerField(
        blank=True,
        null=True,
        validators=[MinValueValidator(1)],
        help_text="Months records are kept after their event date (or period); "
        "empty uses HUB_RECORDS_RETENTION_MONTHS.",
    )
    identifying_retention_days = models.PositiveIntegerField(
        blank=True,
        null=True,
        validators=[MinValueValidator(1)],
        help_text="Days identifying fields are kept after their event date (or period); "
        "empty uses HUB_IDENTIFYING_RETENTION_DAYS.",
    )

    class Meta:
        ordering = ["tier", "name"]

    def __str__(self):
        return self.name

    def supplier_labels(self) -> list[str]:
        return [AgencyType(agency_type).label for agency_type in self.supplier_types]

    @property
    def records_retention(self) -> int:
        """Months its records are kept: the dataset's own retention, or the hub's default."""
        return self.records_retention_months or settings.HUB_RECORDS_RETENTION_MONTHS

    @property
    def identifying_retention(self) -> int:
        """Days its identifying fields are kept: the dataset's own, or the hub's default."""
        return self.identifying_retention_days or settings.HUB_IDENTIFYING_RETENTION_DAYS

    @cached_property
    def schema(self) -> DatasetSchema:
        return schema_from_descriptor(self.descriptor, where=self.slug)


class SupplyQuerySet(models.QuerySet):
    def current(self):
        """The supplies whose records count: completed and not superseded by a re-supply of
        the same agency, dataset and period. The one definition of "current"."""
        return self.filter(status=SupplyStatus.COMPLETED, superseded_by__isnull=True)


class Supply(models.Model):
    """One file an agency supplied for one dataset and period, with its §3.4 metadata."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="supplies")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="supplies")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supplies"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Guidance §3.4: the metadata that travels with every supply.
    period_start = models.DateField()
    period_end = models.DateField()
    supplier_name = models.CharField(max_length=200)
    supplier_contact = models.CharField(max_length=200)
    caveats = models.TextField(blank=True, help_text="Caveats and conditions of use.")
    field_notes = models.TextField(blank=True, help_text="Fields that are not self-explanatory.")
    coding_systems = models.TextField(blank=True, help_text="E.g. the ethnicity codes used.")
    geocoding_method = models.TextField(blank=True, help_text="How coordinates were determined.")
    declared_record_count = models.PositiveIntegerField(null=True, blank=True)
    # The agency had nothing to report for the period: a supply with no file and no records.
    nil_return = models.BooleanField(default=False)

    # The raw file, encrypted; its data key is kept only wrapped by the master key.
    original_filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=10, choices=FileFormat.choices, blank=True)
    file_size = models.BigIntegerField()
    file_sha256 = models.CharField(max_length=64)
    raw_path = models.CharField(max_length=500, blank=True)
    data_key_wrapped = models.BinaryField()
    master_key_id = models.CharField(max_length=16)
    raw_deleted_at = models.DateTimeField(null=True, blank=True)

    # Pipeline state. A stage holds a lease while it works; an expired lease means its worker
    # died and the reaper may hand the stage to another.
    status = models.CharField(
        max_length=20, choices=SupplyStatus.choices, default=SupplyStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Drawn afresh by each claim: only the worker holding it may write the stage's outcome.
    claim_token = models.UUIDField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True)

    record_count = models.PositiveIntegerField(null=True, blank=True)
    accepted_count = models.PositiveIntegerField(null=True, blank=True)
    rejected_count = models.PositiveIntegerField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="supersedes"
    )
    # Taken back by its agency: its records count nowhere and are deleted.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supplies_withdrawn",
    )
    withdrawal_reason = models.TextField(blank=True)

    objects = SupplyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "supplies"
        indexes = [models.Index(fields=["agency", "dataset", "period_start", "period_end"])]

    def __str__(self):
        return f"{self.dataset.slug} from {self.agency} for {self.period_start}–{self.period_end}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


FINISHED_STATUSES = (
    SupplyStatus.COMPLETED,
    SupplyStatus.REJECTED,
    SupplyStatus.FAILED,
    SupplyStatus.WITHDRAWN,
)

# The last day a supply may fall due: every month has it, so no period's due date is skipped.
LAST_DUE_DAY = 28


class SupplySchedule(models.Model):
    """How often an agency is expected to supply a dataset, and by when.

    Periods are calendar months or quarters; a period's supply is due on ``due_day`` of the
    month after the period ends.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="supply_schedules")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="schedules")
    frequency = models.CharField(
        max_length=10, choices=SupplyFrequency.choices, default=SupplyFrequency.MONTHLY
    )
    due_day = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(LAST_DUE_DAY)],
        help_text="The day of the month after the period ends by which the supply is due.",
    )
    last_reminded_period = models.DateField(
        null=True,
        blank=True,
        help_text="The start of the last period whose missing supply the suppliers were "
        "reminded of.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency__name", "dataset__name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "dataset"], name="schedule_unique_dataset"),
            models.CheckConstraint(
                condition=models.Q(due_day__gte=1, due_day__lte=LAST_DUE_DAY),
                name="schedule_due_day_in_month",
            ),
        ]

    def __str__(self):
        return f"{self.dataset.slug} from {self.agency}, {self.frequency}, due day {self.due_day}"


# Record keys for cell-key perturbation (sharing.disclosure): uniform over 0..4095, as the ONS
# uses for administrative data.
RECORD_KEY_RANGE = 4096


class Record(models.Model):
    """A depersonalised record in the warehouse: typed common columns and the other fields.

    One table for every dataset; its remaining sanitised fields are typed columns named
    ``f_<field>`` (datasets.storage). Location columns are the sanitised primary location only
    (a postcode centroid, a place or a site).
    """

    id = models.BigAutoField(primary_key=True)
    # Copies of the supply's partnership and dataset, so that queries need not join supplies.
    # The supply's own foreign keys guard them; checking them again for every record cost a
    # third of a load's time, and the covering index below serves every query that uses them.
    # For the same reason the supply is not checked per record either: the load commits its
    # records in the transaction that locks the supply's row and checks it is still loading,
    # and deleting a supply deletes them.
    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    supply = models.ForeignKey(
        Supply, on_delete=models.CASCADE, related_name="records", db_constraint=False
    )
    row_number = models.PositiveIntegerField(help_text="The record's row in the supplied file.")
    event_date = models.DateField(null=True)
    event_time = models.TimeField(null=True)
    easting = models.IntegerField(null=True)
    northing = models.IntegerField(null=True)
    postcode = models.CharField(max_length=8, blank=True)
    location_method = models.CharField(max_length=12, choices=LocationMethod.choices)
    # The areas of the sanitised postcode (sanitise.models.PostcodeAreas), set at load and
    # re-derived when a new lookup is imported, so that counts by area never join.
    oa_code = models.CharField(max_length=9, blank=True, db_default="")
    lsoa_code = models.CharField(max_length=9, blank=True, db_default="")
    msoa_code = models.CharField(max_length=9, blank=True, db_default="")
    ward_code = models.CharField(max_length=9, blank=True, db_default="")
    lad_code = models.CharField(max_length=9, blank=True, db_default="")
    # The dataset's own fields are typed columns of this table too, f_<field>, added from the
    # schema files by load_catalogue (datasets.storage), not by migrations.
    # Never shown, never exported. The pipeline derives it from what the record says
    # (datasets.pipeline.record_table.record_keys); a record stored any other way draws one
    # at random.
    record_key = models.SmallIntegerField(
        db_default=Cast(Floor(Random() * RECORD_KEY_RANGE), models.SmallIntegerField()),
        editable=False,
    )

    class Meta:
        indexes = [
            # Covering: the workspace's counts and map read a dataset's period from the index
            # alone (an index-only scan), never the records' rows.
            models.Index(
                fields=["dataset", "event_date"],
                include=[
                    "partnership",
                    "supply",
                    "postcode",
                    "easting",
                    "northing",
                    "record_key",
                    "ward_code",
                    "lsoa_code",
                ],  # fmt: skip
                name="record_dataset_date_cover",
            ),
        ]

    def __str__(self):
        return f"{self.dataset_id} record {self.pk} (row {self.row_number})"


class IdentifyingRecord(models.Model):
    """The identifying fields of a personalised record, apart and encrypted with the supply's key.

    Joined to its record only for users whose access allows personal data.
    """

    record = models.OneToOneField(Record, on_delete=models.CASCADE, primary_key=True)
    supply = models.ForeignKey(Supply, on_delete=models.CASCADE, related_name="+")
    ciphertext = models.BinaryField()

    def __str__(self):
        return f"identifying fields of record {self.record_id}"


class MonthlySummary(models.Model):
    """What the records' summaries hold: how many records a supply has per event month and
    area, and the sum of their keys.

    Kept exactly in step with the records by ``datasets.summary``, in the transactions that
    change them (a supply's load, the retention purge), and deleted with the supply. Superseded
    supplies keep theirs, as they keep their records: readers take current supplies only.
    Records with no event date are not counted, as no period holds them.
    """

    supply = models.ForeignKey(Supply, on_delete=models.CASCADE, related_name="+", db_index=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+", db_index=False)
    partnership = models.ForeignKey(Partnership, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the records' event month.")
    district = models.CharField(
        max_length=8, blank=True, help_text="The postcode district; empty for unlocated records."
    )
    # The records' areas (Record): an LSOA lies in one MSOA and one authority, so these add
    # rows only where a district or a ward is split.
    lsoa_code = models.CharField(max_length=9, blank=True, default="")
    msoa_code = models.CharField(max_length=9, blank=True, default="")
    ward_code = models.CharField(max_length=9, blank=True, default="")
    lad_code = models.CharField(max_length=9, blank=True, default="")
    count = models.PositiveIntegerField()
    # The sum of the records' keys: the cell key of any sum of these rows (sharing.disclosure).
    key_sum = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


# A summary row's areas, and its key: a supply's records in a month and those areas.
SUMMARY_AREAS = ["district", "ward_code", "lsoa_code", "msoa_code", "lad_code"]
SUMMARY_KEY = ["supply", "dataset", "partnership", "month", *SUMMARY_AREAS]


class RecordMonthlyCount(MonthlySummary):
    """Records per supply, event month, postcode district and area: the workspace's counts
    over years read these few rows rather than millions of records."""

    class Meta:
        constraints = [
            # Led by the supply: a load's recount and the supply's deletion find its rows here.
            models.UniqueConstraint(fields=SUMMARY_KEY, name="record_monthly_count_unique")
        ]
        indexes = [
            # Covering: a dataset's counts over a period come from the index alone.
            models.Index(
                fields=["dataset", "partnership", "month"],
                include=["supply", *SUMMARY_AREAS, "count", "key_sum"],
                name="record_monthly_count_read",
            )
        ]

    def __str__(self):
        return f"{self.count} records of {self.supply_id} in {self.month:%Y-%m} {self.district}"


class RecordMonthlyPoint(MonthlySummary):
    """Records per supply, event month and sanitised point (a postcode centroid, place or
    site; none for unlocated records), with the point's areas: the hotspot map's whole months
    read a row per point rather than every record there."""

    easting = models.IntegerField(null=True)
    northing = models.IntegerField(null=True)

    class Meta:
        constraints = [
            # Led by the supply, as the counts' is; unlocated records share one row.
            models.UniqueConstraint(
                fields=[*SUMMARY_KEY, "easting", "northing"],
                name="record_monthly_point_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [
            # Covering: a dataset's points over a period come from the index alone.
            models.Index(
                fields=["dataset", "partnership", "month"],
                include=["supply", "easting", "northing", *SUMMARY_AREAS, "count", "key_sum"],
                name="record_monthly_point_read",
            )
        ]

    def __str__(self):
        return f"{self.count} records of {self.supply_id} in {self.month:%Y-%m} at a point"
