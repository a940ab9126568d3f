import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from datasets.models import Dataset
from hub.models import Agency, Partnership
from sharing.choices import AccessLevel, ExtractFormat, ExtractStatus, SignatureTier


class InformationSharingProtocol(models.Model):
    """A version of the partnership's ISP: the agreement every sharing agency signs (§2.2)."""

    partnership = models.ForeignKey(Partnership, on_delete=models.PROTECT, related_name="isps")
    version = models.CharField(max_length=20)
    adopted_on = models.DateField(help_text="Date the responsible authorities adopted it.")
    review_due = models.DateField(help_text="Signatures lapse if it is not reviewed by then.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partnership", "-adopted_on"]
        verbose_name = "information sharing protocol"
        constraints = [
            models.UniqueConstraint(fields=["partnership", "version"], name="isp_unique_version"),
        ]

    def __str__(self):
        return f"{self.partnership} ISP v{self.version}"


class Signature(models.Model):
    """An agency's signature of one ISP version, in a tier."""

    isp = models.ForeignKey(
        InformationSharingProtocol, on_delete=models.CASCADE, related_name="signatures"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="signatures")
    tier = models.CharField(max_length=20, choices=SignatureTier.choices)
    signed_on = models.DateField()
    signatory_name = models.CharField(max_length=200)
    withdrawn_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["isp", "agency__name"]
        constraints = [
            models.UniqueConstraint(fields=["isp", "agency"], name="signature_unique_agency"),
        ]

    def __str__(self):
        return f"{self.agency} signed {self.isp} ({self.tier})"


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
