from django.db import models


class AccessLevel(models.TextChoices):
    """What a user may extract from a dataset, lowest first (each includes those below)."""

    NONE = "none", "None"
    AGGREGATE = "aggregate", "Aggregate counts, perturbed"
    DEPERSONALISED = "depersonalised", "Depersonalised (sanitised) records"
    PERSONAL = "personal", "Personal data"


LEVEL_ORDER = [
    AccessLevel.NONE,
    AccessLevel.AGGREGATE,
    AccessLevel.DEPERSONALISED,
    AccessLevel.PERSONAL,
]
# The django-guardian object permission on a SharedDataset (a dataset in one partnership)
# that grants each level.
LEVEL_PERMISSIONS = {
    AccessLevel.AGGREGATE: "extract_aggregate",
    AccessLevel.DEPERSONALISED: "extract_depersonalised",
    AccessLevel.PERSONAL: "extract_personal",
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


class LegalBasis(models.TextChoices):
    """The gateways for sharing personal data for community safety (guidance §2.4)."""

    CDA_S115 = "cda_s115", "Crime and Disorder Act 1998, s115"
    DPA_S29 = "dpa_s29", "Data Protection Act, s29 (crime and taxation exemption)"
    CJCSA = "cjcsa", "Criminal Justice and Court Services Act 2000"
    CONSENT = "consent", "Consent of the data subject"
    OTHER = "other", "Other (state it)"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Awaiting decision"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    ENDED = "ended", "Ended (expired or purpose complete)"


class DocumentKind(models.TextChoices):
    """The intelligence products of guidance §2.3, and anything else the partnership keeps."""

    STRATEGIC_ASSESSMENT = "strategic_assessment", "Strategic assessment"
    PROBLEM_PROFILE = "problem_profile", "Problem profile"
    TACTICAL_ASSESSMENT = "tactical_assessment", "Tactical assessment"
    OTHER = "other", "Other"


class ProtectiveMarking(models.TextChoices):
    """Government Security Classifications. The guidance's RESTRICTED ("intelligence documents
    should usually be marked as RESTRICTED", under "Protectively marked information") is
    OFFICIAL-SENSITIVE today. Nothing above OFFICIAL belongs on the hub: SECRET is not offered."""

    OFFICIAL = "official", "OFFICIAL"
    OFFICIAL_SENSITIVE = "official_sensitive", "OFFICIAL-SENSITIVE"


class FoiStatus(models.TextChoices):
    CONSULTING = "consulting", "Consulting the originating agency"
    ANSWERED = "answered", "Answered by the originating agency"
    RELEASED = "released", "Released"
    WITHDRAWN = "withdrawn", "Withdrawn"


class FoiAnswer(models.TextChoices):
    """What the originating agency's DLO says about releasing its information (§2.4.2.4)."""

    AGREE = "agree", "Agree to release"
    AGREE_REDACTED = "agree_redacted", "Agree to release with redactions"
    OBJECT = "object", "Object to release"


class WorkspaceView(models.TextChoices):
    """The analyst's views a query can be saved from."""

    MAP = "map", "Hotspot map"
    COUNTS = "counts", "Counts over time and by area"
    LINKED = "linked", "Linked crime view"
    COMPARE = "compare", "Cross-agency comparison"
    AREAS = "areas", "Areas"
    VLI = "vli", "Vulnerable Localities Index"
