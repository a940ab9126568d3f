"""Latitude/longitude to the National Grid with OSTN15 (convertbng), against published points.

OSTN15 is the National Grid's definition: it reproduces the OS's own transformation to about
a millimetre at the OS test points, so the tolerance is 0.01 m. pyproj here has no OSTN15 grid
(no network, not bundled) and falls back to a Helmert transformation off by metres.
"""

import numpy as np
import pyproj
import pytest

from sanitise.geocode import latlong_to_bng

TOLERANCE_METRES = 0.01
# (name, ETRS89 latitude, longitude, OSGB36 easting, northing)
PUBLISHED = [
    # OS "Transformations and OSGM15 User Guide", Annexe A worked example (Caister Water Tower).
    ("Caister Water Tower", 52.658007833, 1.716073973, 651409.804, 313177.450),
    # OS OSTN15 developer pack test point TP01 (TestInput/TestOutput_ETRStoOSGB).
    ("TP01", 49.92226393730, -6.29977752014, 91492.146, 11318.804),
]


@pytest.mark.parametrize(("name", "lat", "lon", "easting", "northing"), PUBLISHED)
def test_conversion_matches_the_published_grid_reference(name, lat, lon, easting, northing):
    eastings, northings = latlong_to_bng(np.array([lat]), np.array([lon]))

    assert abs(eastings[0] - easting) <= TOLERANCE_METRES, name
    assert abs(northings[0] - northing) <= TOLERANCE_METRES, name


def test_pyproj_without_the_ostn15_grid_would_miss_by_more_than_a_metre():
    _, lat, lon, easting, northing = PUBLISHED[0]
    transformer = pyproj.Transformer.from_crs(4258, 27700, always_xy=True, allow_ballpark=True)
    if "OSTN15" in transformer.description:
        pytest.skip("this pyproj has the OSTN15 grid")

    e, n = transformer.transform(lon, lat)

    assert np.hypot(e - easting, n - northing) > 1.0


def test_points_outside_great_britain_and_bad_values_give_nan():
    eastings, northings = latlong_to_bng(
        np.array([48.85, np.nan, 95.0, 53.545]), np.array([2.35, -2.6, -2.6, -2.632])
    )

    assert np.isnan(eastings[:3]).all() and np.isnan(northings[:3]).all()
    assert 350000 < eastings[3] < 360000 and 400000 < northings[3] < 410000
