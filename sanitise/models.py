"""Reference data for geocoding and sanitisation, refreshed only by the import services.

Every row carries the ``GazetteerVersion`` of the import that wrote it, so the hub can say
where each centroid, count, address and place came from and whether it is synthetic.
"""

from django.db import models

from sanitise.choices import GazetteerKind


class GazetteerVersion(models.Model):
    """One import of reference data: what changed, when, from where, and whether synthetic."""

    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20, choices=GazetteerKind.choices)
    source = models.CharField(max_length=500, help_text="The file, folder or package imported.")
    row_count = models.PositiveIntegerField(help_text="Rows imported by this version.")
    synthetic = models.BooleanField(
        default=False, help_text="Made up for the demo; never use for a real partnership."
    )
    detail = models.JSONField(
        default=dict, blank=True, help_text="What changed: areas, rows added, removed, changed."
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        label = " (synthetic)" if self.synthetic else ""
        return f"v{self.pk} {self.get_kind_display()}{label}: {self.row_count} rows"


class PostcodeCentroid(models.Model):
    """A postcode's centroid as published in Ordnance Survey Code-Point Open."""

    postcode = models.CharField(max_length=8, primary_key=True, help_text='Canonical, "WN1 1AA".')
    area = models.CharField(max_length=2, db_index=True, help_text="Postcode area, e.g. WN.")
    positional_quality = models.PositiveSmallIntegerField()
    easting = models.PositiveIntegerField()
    northing = models.PositiveIntegerField()
    version = models.ForeignKey(GazetteerVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["postcode"]

    def __str__(self):
        return self.postcode


class PostcodeHouseholds(models.Model):
    """How many households a postcode has: the guidance's test is at least four."""

    postcode = models.CharField(max_length=8, primary_key=True)
    households = models.PositiveIntegerField()
    version = models.ForeignKey(GazetteerVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["postcode"]
        verbose_name_plural = "postcode households"

    def __str__(self):
        return f"{self.postcode}: {self.households}"


class Address(models.Model):
    """A property-precise address, as exported from a council LLPG or AddressBase."""

    uprn = models.BigIntegerField(primary_key=True)
    address = models.CharField(max_length=500)
    postcode = models.CharField(max_length=8, db_index=True)
    easting = models.FloatField()
    northing = models.FloatField()
    version = models.ForeignKey(GazetteerVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["uprn"]
        verbose_name_plural = "addresses"

    def __str__(self):
        return self.address


class Place(models.Model):
    """A non-addressable place (park, car park, station) and its centre."""

    name = models.CharField(max_length=200, unique=True)
    easting = models.FloatField()
    northing = models.FloatField()
    version = models.ForeignKey(GazetteerVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
