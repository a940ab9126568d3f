from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from hub.choices import AgencyType, Role, SignatureTier


class User(AbstractUser):
    """A person who signs in; what they may do follows from their agency memberships."""

    class Meta:
        ordering = ["username"]


class Partnership(models.Model):
    """A Community Safety Partnership: the owner of the hub's data and its ISP."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    postcode_areas = ArrayField(
        models.CharField(max_length=2),
        default=list,
        help_text="Postcode areas the partnership covers, e.g. WN.",
    )
    local_authorities = ArrayField(
        models.CharField(max_length=9),
        default=list,
        blank=True,
        help_text="ONS codes of the local authorities it covers, e.g. E08000010 (Wigan): its "
        "wards, LSOAs and MSOAs are those of these authorities.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Agency(models.Model):
    """A partner agency (guidance §2.2). Its ISP tier follows from its signature."""

    partnership = models.ForeignKey(Partnership, on_delete=models.PROTECT, related_name="agencies")
    name = models.CharField(max_length=200)
    agency_type = models.CharField(max_length=40, choices=AgencyType.choices)
    designated_liaison_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="liaison_for",
        help_text="The officer the agency nominated to facilitate information sharing (§2.2.1).",
    )
    # Who consented to the agency becoming a partner, as the guidance requires (§2.2.4).
    partner_consent = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        constraints = [
            models.UniqueConstraint(fields=["partnership", "name"], name="agency_unique_name"),
        ]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A user's place in an agency and the roles they hold there."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency__name", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency"], name="membership_unique_user_agency"
            ),
        ]

    def __str__(self):
        return f"{self.user} at {self.agency} ({', '.join(self.roles)})"

    def role_labels(self) -> str:
        return ", ".join(Role(role).label for role in self.roles)


class AuditEntry(models.Model):
    """One thing that happened: written by services, never edited or deleted by the application."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # PROTECT: the database must never rewrite a hashed column itself. People and agencies
    # are deactivated or withdrawn, not deleted, while the trail names them.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as text too, so the trail still names the person after the account is removed.
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Whose business the entry is: only that partnership's co-ordinator (and DLOs, within
    # it) read it; none means the whole hub's, read by the hub's staff. Protected, as
    # clearing it would break the chain.
    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dataset_slug = models.CharField(max_length=60, blank=True, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # A hash chain: each entry's hash covers its content and the previous entry's hash, so an
    # entry edited, removed or reordered in the database breaks the chain (verify_audit).
    previous_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username or '-'} {self.action}"


class ApiToken(models.Model):
    """A user's API token. Only its SHA-256 is kept: the key is shown once, when issued."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token"
    )
    digest = models.CharField(max_length=64, unique=True)
    # The key's first characters, so that its holder can tell which key this is.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.prefix}… of {self.user}"


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
