from django.db import models


class SignatureTier(models.TextChoices):
    """The group an agency signs the ISP in (guidance §2.2.4)."""

    CORE = "core", "Core (central role)"
    ASSOCIATE = "associate", "Associate (occasional, depersonalised only)"


class AccessLevel(models.TextChoices):
    """What a user may extract from a dataset, lowest first (each includes those below)."""

    NONE = "none", "None"
    AGGREGATE = "aggregate", "Aggregate counts, small numbers suppressed"
    DEPERSONALISED = "depersonalised", "Depersonalised (sanitised) records"
    PERSONAL = "personal", "Personal data"


LEVEL_ORDER = [
    AccessLevel.NONE,
    AccessLevel.AGGREGATE,
    AccessLevel.DEPERSONALISED,
    AccessLevel.PERSONAL,
]
# The django-guardian object permission on a Dataset that grants each level.
LEVEL_PERMISSIONS = {
    AccessLevel.AGGREGATE: "datasets.extract_aggregate",
    AccessLevel.DEPERSONALISED: "datasets.extract_depersonalised",
    AccessLevel.PERSONAL: "datasets.extract_personal",
}


class ExtractStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Ready to download"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired and deleted"


class ExtractFormat(models.TextChoices):
    CSV = "csv", "CSV (zipped with its metadata)"
    XLSX = "xlsx", "Excel workbook (data and metadata sheets)"
    GEOJSON = "geojson", "GeoJSON (WGS84 points)"
