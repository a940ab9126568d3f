from django.db import models

from hub.models import Agency, Partnership
from sharing.choices import SignatureTier


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
