from django.db import models


class GazetteerKind(models.TextChoices):
    """The reference sets an import can refresh."""

    CODEPOINT = "codepoint", "Postcode centroids (Code-Point Open)"
    HOUSEHOLDS = "households", "Households per postcode"
    ADDRESSES = "addresses", "Address gazetteer"
    PLACES = "places", "Non-addressable places"
    AREA_LOOKUP = "area_lookup", "Postcodes' output areas, LSOAs, MSOAs, wards and authorities"
    AREA_NAMES = "area_names", "Names of areas"
    BOUNDARIES = "boundaries", "Area boundaries"
    AREA_STATISTICS = "area_statistics", "Area statistics (population, households, deprivation)"


class AreaKind(models.TextChoices):
    """The areas people plan and report by, from the smallest. Names as the ONS gives them."""

    OA = "oa", "Output area"
    LSOA = "lsoa", "Lower layer super output area (LSOA)"
    MSOA = "msoa", "Middle layer super output area (MSOA)"
    WARD = "ward", "Electoral ward"
    LAD = "lad", "Local authority"


class AreaIndicator(models.TextChoices):
    """What an area statistic measures: the denominators of rates and the VLI's context."""

    POPULATION = "population", "Residents (all ages)"
    POPULATION_15_24 = "population_15_24", "Residents aged 15 to 24"
    HOUSEHOLDS = "households", "Households"
    IMD_SCORE = "imd_score", "Index of Multiple Deprivation score"
    IMD_RANK = "imd_rank", "Index of Multiple Deprivation rank (1 is the most deprived)"
    IMD_DECILE = "imd_decile", "Index of Multiple Deprivation decile (1 is the most deprived)"
    INCOME_SCORE = "income_score", "Income deprivation (the share of residents)"
    EMPLOYMENT_SCORE = "employment_score", "Employment deprivation (the share of working age)"
    EDUCATION_SCORE = "education_score", "Education, skills and training deprivation score"


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


# How close each method's location is to where the record happened: one figure per method,
# never per record, since a record's own offset from its centroid, or how far it was moved,
# would point back at the address, or at the small postcode it was moved from. None: the
# method has no figure to give (the move is to the nearest postcode of four or more
# households however far that is; a place's size is not recorded).
LOCATION_PRECISION_M: dict[str, int | None] = {
    # A unit postcode's centroid stands for its addresses (about 15 on average): typically
    # within about 100 m of them in towns, further in the countryside.
    LocationMethod.CENTROID: 100,
    LocationMethod.MOVED: None,
    LocationMethod.PLACE: None,
    # The site's own coordinates (supplied, or its address matched), at worst its postcode's
    # centroid.
    LocationMethod.SITE: 100,
    LocationMethod.UNLOCATED: None,
}
LOCATION_PRECISION_TEXT: dict[str, str] = {
    LocationMethod.CENTROID: "Within about 100 m in towns (the postcode's addresses lie around "
    "its centroid); further in the countryside.",
    LocationMethod.MOVED: "No fixed figure: the centroid of the nearest postcode with four or "
    "more households, usually a neighbouring one, further in the countryside. How far each "
    "record was moved is not kept, so that its own postcode cannot be worked out.",
    LocationMethod.PLACE: "The centre of the named place (a park, a car park): as close as the "
    "place is small; its size is not recorded.",
    LocationMethod.SITE: "Within about 100 m: the site's own coordinates, or at worst its "
    "postcode's centroid.",
    LocationMethod.UNLOCATED: "None: the record has no location.",
}


class SanitiseAuditAction(models.TextChoices):
    GAZETTEER_IMPORTED = "gazetteer_imported", "Reference data imported"
