"""Reference data for geocoding and sanitisation, refreshed only by the import services.

Every row carries the ``GazetteerVersion`` of the import that wrote it, so the hub can say
where each centroid, count, address and place came from and whether it is synthetic.
"""

from django.db import models

from sanitise.choices import AreaIndicator, AreaKind, GazetteerKind


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


# ONS GSS codes are nine characters: E05014989 (a ward), E01006213 (an LSOA).
AREA_CODE_LENGTH = 9


class PostcodeAreas(models.Model):
    """The areas a postcode lies in, from an ONS postcode lookup (ONSPD, NSPL, PCD to OA,
    LSOA, MSOA and LAD) and Code-Point Open's ward and district codes. A record takes the
    areas of its sanitised postcode at load."""

    postcode = models.CharField(max_length=8, primary_key=True, help_text='Canonical, "WN1 1AA".')
    oa_code = models.CharField(max_length=AREA_CODE_LENGTH, blank=True)
    lsoa_code = models.CharField(max_length=AREA_CODE_LENGTH, blank=True)
    msoa_code = models.CharField(max_length=AREA_CODE_LENGTH, blank=True)
    ward_code = models.CharField(max_length=AREA_CODE_LENGTH, blank=True)
    lad_code = models.CharField(max_length=AREA_CODE_LENGTH, blank=True, db_index=True)
    version = models.ForeignKey(GazetteerVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["postcode"]
        verbose_name_plural = "postcode areas"

    def __str__(self):
        return f"{self.postcode}: {self.ward_code} {self.lsoa_code}"


class Area(models.Model):
    """A named area (ward, LSOA, MSOA, local authority, output area) and its boundary.

    ``boundary`` is a GeoJSON geometry in WGS84, simplified for the map. ``approximate``
    boundaries were drawn by the hub from its postcode centroids where no polygon was given.
    """

    code = models.CharField(max_length=AREA_CODE_LENGTH, primary_key=True)
    kind = models.CharField(max_length=4, choices=AreaKind.choices)
    name = models.CharField(max_length=200)
    lad_code = models.CharField(
        max_length=AREA_CODE_LENGTH, blank=True, help_text="The local authority it lies in."
    )
    boundary = models.JSONField(null=True, blank=True)
    approximate = models.BooleanField(default=False)
    label_longitude = models.FloatField(null=True, blank=True)
    label_latitude = models.FloatField(null=True, blank=True)
    version = models.ForeignKey(GazetteerVersion, on_delete=models.PROTECT, related_name="+")
    boundary_version = models.ForeignKey(
        GazetteerVersion, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["kind", "name"]
        indexes = [models.Index(fields=["lad_code", "kind"], name="area_lad_kind")]

    def __str__(self):
        return f"{self.name} ({self.code})"


class AreaStatistic(models.Model):
    """One published figure for an area: a denominator of rates or a VLI indicator."""

    area_code = models.CharField(max_length=AREA_CODE_LENGTH)
    indicator = models.CharField(max_length=20, choices=AreaIndicator.choices)
    value = models.FloatField()
    version = models.ForeignKey(GazetteerVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["area_code", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["area_code", "indicator"], name="area_statistic_unique")
        ]

    def __str__(self):
        return f"{self.area_code} {self.indicator} = {self.value}"
