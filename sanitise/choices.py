from django.db import models


class GazetteerKind(models.TextChoices):
    """The four reference sets an import can refresh."""

    CODEPOINT = "codepoint", "Postcode centroids (Code-Point Open)"
    HOUSEHOLDS = "households", "Households per postcode"
    ADDRESSES = "addresses", "Address gazetteer"
    PLACES = "places", "Non-addressable places"


class GeocodeMethod(models.TextChoices):
    """How a location group of a record was found, in the order the methods are tried."""

    SUPPLIED = "supplied", "Easting and northing supplied"
    ADDRESS = "address", "Address matched in the address gazetteer"
    POSTCODE = "postcode", "Postcode centroid"
    LATLONG = "latlong", "Latitude and longitude converted to the National Grid"
    PLACE = "place", "Named place matched in the places gazetteer"
    NONE = "none", "Not located"


class LocationMethod(models.TextChoices):
    """Where a sanitised record's location came from (guidance Appendix 1)."""

    CENTROID = "centroid", "Centroid of its postcode"
    MOVED = "moved", "Moved to the nearest postcode with at least four households"
    PLACE = "place", "Centre of a non-addressable place"
    SITE = "site", "A non-residential site, not moved"
    UNLOCATED = "unlocated", "Not located"


class SanitiseAuditAction(models.TextChoices):
    GAZETTEER_IMPORTED = "gazetteer_imported", "Reference data imported"
