"""The demo's reference data: real WN centroids, synthetic everything else, loaded once."""

import pytest

from sanitise.demo import SYNTHETIC_UPRN_BASE, demo_gazetteer_load
from sanitise.models import Address, GazetteerVersion, Place, PostcodeCentroid, PostcodeHouseholds
from sanitise.reference import gazetteer_current

pytestmark = pytest.mark.django_db


def test_the_demo_reference_data_load_once_and_are_labelled():
    created = demo_gazetteer_load()

    assert [version.kind for version in created] == [
        "codepoint",
        "households",
        "addresses",
        "places",
    ]
    assert {version.kind: version.synthetic for version in created} == {
        "codepoint": False,
        "households": True,
        "addresses": True,
        "places": True,
    }
    assert demo_gazetteer_load() == []
    assert GazetteerVersion.objects.count() == 4

    centroids = PostcodeCentroid.objects.count()
    assert centroids > 7000
    assert PostcodeHouseholds.objects.count() == centroids
    assert PostcodeHouseholds.objects.filter(households__lt=4).exists()
    assert not Address.objects.filter(uprn__lt=SYNTHETIC_UPRN_BASE).exists()
    assert Place.objects.filter(name="Wigan North Western station").exists()
    gazetteer = gazetteer_current()
    assert gazetteer.synthetic == {"households", "addresses", "places"}
    assert gazetteer.area_for(["WN"]).contains([358016], [405780]).all()
