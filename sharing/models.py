import datetime
import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from datasets.models import Dataset
from hub.choices import SignatureTier
from hub.models import Agency, Partnership
from hub.workdays import working_day_after, working_days_between
from sharing.choices import (
    AccessLevel,
    DocumentKind,
    ExtractFormat,
    ExtractStatus,
    FoiAnswer,
    FoiStatus,
    LegalBasis,
    ProtectiveMarking,
    RequestStatus,
    WorkspaceView,
)


class AccessProfile(models.Model):
    """A named set of dataset access levels, assigned to users or groups (e.g. "Partnership
    analysts"). The levels a user holds are the highest over their profiles, held as
    django-guardian object permissions and capped by their agency's ISP tier."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, related_name="access_profiles"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="access_profiles"
    )
    groups = models.ManyToManyField(Group, blank=True, related_name="access_profiles")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partnership", "name"], name="profile_unique_name"),
        ]

    def __str__(self):
        return self.name


class AccessGrant(models.Model):
    profile = models.ForeignKey(AccessProfile, on_delete=models.CASCADE, related_name="grants")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=20, choices=AccessLevel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "dataset"], name="grant_unique_dataset"),
        ]

    def __str__(self):
        return f"{self.profile}: {self.level} on {self.dataset.slug}"


class SharedDataset(models.Model):
    """A dataset as shared within one partnership: the object that access profiles' levels
    are held on (django-guardian), so that a level granted in one partnership reaches no
    other partnership's records of the same dataset."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "dataset"], name="shared_dataset_unique"
            ),
        ]
        permissions = [
            ("extract_aggregate", "Extract aggregate counts"),
            ("extract_depersonalised", "Extract depersonalised records"),
            ("extract_personal", "Extract personal data"),
        ]

    def __str__(self):
        return f"{self.dataset.slug} in {self.partnership}"


class Extract(models.Model):
    """A file of a dataset's records or counts, made for one analyst, kept encrypted until it
    expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="extracts"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="extracts")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="extracts")
    linked_dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    level = models.CharField(max_length=20, choices=AccessLevel.choices)
    file_format = models.CharField(max_length=10, choices=ExtractFormat.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    area = models.JSONField(default=dict, blank=True)
    fields = models.JSONField(default=list, blank=True)
    # A personal-level extract exists under a request, and is deleted when the request ends.
    data_request = models.ForeignKey(
        "PersonalDataRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="extracts",
    )
    category = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    status = models.CharField(
        max_length=20, choices=ExtractStatus.choices, default=ExtractStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    data_key_wrapped = models.BinaryField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    failure = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.level} extract of {self.dataset.slug} by {self.created_by}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ExtractStatus.COMPLETED, ExtractStatus.FAILED, ExtractStatus.EXPIRED)


class PersonalDataRequest(models.Model):
    """An analyst's case for personal-level access to a personalised dataset (guidance §2.4):
    decided by the supplying agency's DLO (and its Caldicott Guardian for health data),
    time-limited, and ended when its purpose is complete."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="data_requests"
    )
    requester_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    supplying_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="data_requests"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    purpose = models.TextField()
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices)
    legal_basis_detail = models.CharField(max_length=500, blank=True)
    records_needed = models.TextField(help_text="Which records, and why no fewer will do.")
    period_start = models.DateField()
    period_end = models.DateField()
    days_needed = models.PositiveSmallIntegerField()
    # The scope a decision covers, and all an approval grants: these fields of the dataset
    # (identifying ones included) and, if given, only these postcode districts.
    fields = models.JSONField(default=list)
    area = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    dlo_decision_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dlo_decided_at = models.DateTimeField(null=True, blank=True)
    caldicott_needed = models.BooleanField(default=False)
    caldicott_decision_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    caldicott_decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.requester} for {self.dataset.slug} from {self.supplying_agency}"


class Document(models.Model):
    """An intelligence product in the partnership's library (strategic assessment, problem
    profile, …), seen only by its audience: named agencies and/or every agency signed in a
    listed ISP tier. Its file is the latest of its versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partnership = models.ForeignKey(Partnership, on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=DocumentKind.choices)
    marking = models.CharField(
        "protective marking",
        max_length=30,
        choices=ProtectiveMarking.choices,
        default=ProtectiveMarking.OFFICIAL_SENSITIVE,
    )
    description = models.TextField(blank=True)
    audience_agencies = models.ManyToManyField(
        Agency, blank=True, related_name="addressed_documents"
    )
    audience_tiers = ArrayField(
        models.CharField(max_length=20, choices=SignatureTier.choices), default=list, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.title


class DocumentVersion(models.Model):
    """One uploaded file of a document, numbered 1, 2, … and stored encrypted under its own
    data key; the highest number is the current one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=500, blank=True, help_text="What changed.")
    file_path = models.CharField(max_length=500)
    data_key_wrapped = models.BinaryField()
    master_key_id = models.CharField(max_length=16)
    original_filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "number"], name="document_version_unique_number"
            ),
        ]

    def __str__(self):
        return f"{self.document} v{self.number}"


# FOIA s.10(1): a response "not later than the twentieth working day following the date of
# receipt".
FOI_WORKING_DAYS = 20


class FoiRequest(models.Model):
    """A Freedom of Information request that touches information another partner originated:
    the originating agency is consulted before anything is released (guidance §2.2, §2.4.2.4)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, related_name="foi_requests"
    )
    reference = models.CharField(
        max_length=60, help_text="The reference of the body that received the request."
    )
    received_on = models.DateField()
    requester = models.CharField(
        "requester",
        max_length=200,
        help_text=(
            "Who asked, in general terms (e.g. a journalist, a member of the public). "
            "No name or contact details: the consultation does not need them."
        ),
    )
    request_text = models.TextField("what is asked")
    originating_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="foi_requests"
    )
    datasets = models.ManyToManyField(Dataset, blank=True, related_name="+")
    status = models.CharField(
        max_length=20, choices=FoiStatus.choices, default=FoiStatus.CONSULTING, db_index=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    answer = models.CharField(max_length=20, choices=FoiAnswer.choices, blank=True)
    answer_reasons = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    released_on = models.DateField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Filled only when the co-ordinator released over the originating agency's objection.
    release_over_objection_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_on", "-created_at"]
        verbose_name = "FOI request"
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "reference"], name="foi_unique_reference"
            ),
        ]

    def __str__(self):
        return f"FOI {self.reference}"

    @property
    def is_open(self) -> bool:
        return self.status in (FoiStatus.CONSULTING, FoiStatus.ANSWERED)

    @property
    def deadline(self) -> datetime.date:
        """The statutory deadline: the twentieth working day after receipt (FOIA s.10(1))."""
        return working_day_after(self.received_on, FOI_WORKING_DAYS)

    def working_days_left(self, today: datetime.date | None = None) -> int:
        """Working days from ``today`` to the deadline; 0 on the day, negative once past."""
        today = today or timezone.localdate()
        if today <= self.deadline:
            return working_days_between(today, self.deadline)
        return -working_days_between(self.deadline, today)

    def deadline_note(self, today: datetime.date | None = None) -> str:
        """How the request stands against its deadline, in words."""
        if self.status == FoiStatus.RELEASED and self.released_on:
            late = working_days_between(self.deadline, self.released_on)
            return f"released {_working_days(late)} late" if late else "released in time"
        if not self.is_open:
            return ""
        today = today or timezone.localdate()
        left = self.working_days_left(today)
        if left > 0:
            return f"{_working_days(left)} left"
        if today == self.deadline:
            return "due today"
        return f"overdue by {_working_days(-left)}" if left else "overdue"


def _working_days(count: int) -> str:
    return f"{count} working day{'' if count == 1 else 's'}"


class SavedQuery(models.Model):
    """An analyst's filters for a workspace view, to run again (e.g. next month) and share
    with colleagues of the same agency, who see only what their own access allows."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queries"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    view = models.CharField(max_length=20, choices=WorkspaceView.choices)
    params = models.JSONField(default=dict)
    # Rolling period: the last N whole months at each run, instead of the saved dates.
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
