from django.db import models

from sanitise.choices import LocationMethod  # noqa: F401 - the warehouse stores sanitise's methods


class DatasetTier(models.TextChoices):
    """Guidance §3.2: Table 1 (core) and Table 2 (peripheral) datasets."""

    CORE = "core", "Core"
    PERIPHERAL = "peripheral", "Peripheral"


class DatasetKind(models.TextChoices):
    DEPERSONALISED = "depersonalised", "Depersonalised"
    PERSONALISED = "personalised", "Personalised"
    SENSITIVE_PERSONALISED = "sensitive_personalised", "Sensitive personalised"


class FieldClass(models.TextChoices):
    IDENTIFYING = "identifying", "Identifying"
    REFERENCE = "reference", "Reference"
    QUASI = "quasi", "Quasi-identifier"
    ATTRIBUTE = "attribute", "Attribute"


class FieldType(models.TextChoices):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    TIME = "time"
    BOOLEAN = "boolean"


class LocationRole(models.TextChoices):
    EVENT = "event", "Where it happened"
    HOME = "home", "Where a person lives"
    SITE = "site", "A non-residential site"


class SupplyStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    LOADING = "loading", "Checking and loading"
    REPORTING = "reporting", "Writing the report"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel workbook (XLSX)"
    ZIP = "zip", "CSV inside a ZIP"
    XML = "xml", "ISTV XML submission"


class SupplyFrequency(models.TextChoices):
    """How often an agency supplies a dataset: the guidance asks for monthly or quarterly."""

    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class ScheduleStatus(models.TextChoices):
    """Where a scheduled supply stands for the latest period that has ended."""

    ON_TIME = "on_time", "On time"
    LATE = "late", "Supplied late"
    MISSING = "missing", "Missing"
    DUE = "due", "Due"


class QualityTrend(models.TextChoices):
    """How a supply's quality compares with the same agency's previous supply of the dataset."""

    BETTER = "better", "Better"
    WORSE = "worse", "Worse"
    MIXED = "mixed", "Better in some ways, worse in others"
    SAME = "same", "About the same"


class MonthCoverage(models.TextChoices):
    """Whether current supplies cover a month of a period (datasets.coverage): a month with no
    supply has nothing to count, which is not a count of 0."""

    SUPPLIED = "supplied", "Supplied"
    PARTIAL = "partial", "Partly supplied"
    NONE = "none", "No supply"
