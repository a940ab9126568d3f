"""The hotspot map's API and page: what each level of access may see on it."""

import math

import numpy as np
import pytest
from convertbng.cutil import convert_lonlat
from django.conf import settings
from django.db.models import Q

from datasets.demo import last_month
from datasets.models import Record
from hub.models import AuditEntry
from sanitise.models import Place, PostcodeCentroid
from sharing.disclosure import perturbed
from sharing.workspace.map import count_classes, hex_bin, hex_polygons, intensity_classes
from tests.conftest import sign_in

MAP = "/api/v1/workspace/map/"
PAGE = "/workspace/map/"
ROW_HEIGHT = math.sqrt(3) / 2  # between rows of pointy-topped hexagons, per metre across flats


# -- the binning, without the database -----------------------------------------------------------


def test_each_point_goes_to_its_nearest_hexagon_centre_and_no_record_is_lost():
    rng = np.random.default_rng(7)
    eastings = rng.uniform(350_000, 365_000, 500).round()
    northings = rng.uniform(398_000, 410_000, 500).round()
    counts = rng.integers(1, 5, 500)
    size = 400

    binned = hex_bin(
        eastings=eastings, northings=northings, counts=counts, size=size,
        key_sums=np.zeros_like(counts),
    )  # fmt: skip

    assert binned["count"].sum() == counts.sum()
    # The oracle: the lattice's centres around each point, the nearest found by brute force.
    centres_e, centres_n = [], []
    for dr in range(-2, 3):
        for dq in range(-2, 3):
            rows = np.round(northings / (size * ROW_HEIGHT)) + dr
            columns = np.round(eastings / size - rows / 2) + dq
            centres_e.append(size * (columns + rows / 2))
            centres_n.append(size * ROW_HEIGHT * rows)
    centres_e, centres_n = np.stack(centres_e), np.stack(centres_n)
    nearest = np.argmin(np.hypot(centres_e - eastings, centres_n - northings), axis=0)
    columns = np.arange(len(eastings))
    for e, n, count, centre in zip(
        eastings,
        northings,
        counts,
        zip(centres_e[nearest, columns], centres_n[nearest, columns], strict=True),
        strict=True,
    ):
        alone = hex_bin(
            eastings=np.array([e]), northings=np.array([n]), counts=np.array([count]), size=size,
            key_sums=np.array([0]),
        )  # fmt: skip
        assert (alone["easting"][0], alone["northing"][0]) == pytest.approx(centre)
        assert math.hypot(e - centre[0], n - centre[1]) <= size / math.sqrt(3) + 1e-6


def test_hexagons_are_closed_rings_of_the_given_width_across_flats():
    [ring] = hex_polygons(eastings=np.array([358_000.0]), northings=np.array([405_000.0]), size=400)
    ring = ring[0]
    assert len(ring) == 7 and ring[0] == ring[-1]
    # Pointy-topped: the first side is the eastern flat, 200 m from the centre.
    lon, lat = convert_lonlat([358_200.0], [405_000.0])
    east_side = ((ring[0][0] + ring[1][0]) / 2, (ring[0][1] + ring[1][1]) / 2)
    assert east_side == pytest.approx((lon[0], lat[0]), abs=1e-5)


def test_intensity_classes_are_fifths_by_rank_and_ties_share_the_lowest():
    assert intensity_classes(np.arange(1, 11)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert intensity_classes(np.array([10, 10, 10, 10, 50])).tolist() == [1, 1, 1, 1, 5]
    assert intensity_classes(np.array([], dtype=int)).tolist() == []


def test_record_level_classes_are_fifths_of_the_largest_count():
    assert count_classes(np.array([1, 1, 1, 2, 6, 10])).tolist() == [1, 1, 1, 1, 3, 5]


# -- the API, on the demo's processed supplies ---------------------------------------------------


def get_map(client, user, **params):
    start, end = last_month()
    client.force_authenticate(user)
    return client.get(MAP, {"period_start": str(start), "period_end": str(end), **params})


def located(slug):
    start, end = last_month()
    return Record.objects.filter(dataset__slug=slug, event_date__range=(start, end)).exclude(
        Q(easting=None) | Q(northing=None)
    )


def hexes_from_records(slug, size):
    points = np.array(list(located(slug).values_list("easting", "northing", "record_key")))
    return hex_bin(
        eastings=points[:, 0].astype(float),
        northings=points[:, 1].astype(float),
        counts=np.ones(len(points), dtype=np.int64),
        key_sums=points[:, 2].astype(np.int64),
        size=size,
    )


def perturbed_hexes(slug, size):
    """The hexagons a user short of exact counts is shown: perturbed counts, small ones out."""
    expected = hexes_from_records(slug, size)
    expected["count"] = perturbed(expected["count"], expected["key_sum"])
    return expected[expected["count"] >= settings.HUB_EXTRACT_SMALL_NUMBER]


@pytest.mark.parametrize("slug", ["police_crime_offence", "ae_assault"])
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_hex_counts_add_up_to_the_located_records_for_record_level_access(
    supplied, api_client, slug
):
    start, end = last_month()
    response = get_map(api_client, supplied["analyst"], dataset=slug)

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    count = located(slug).count()
    everything = Record.objects.filter(dataset__slug=slug, event_date__range=(start, end)).count()
    assert body["precise"] is True
    assert sum(f["properties"]["count"] for f in body["hexes"]["features"]) == count > 0
    assert sum(f["properties"]["count"] for f in body["points"]["features"]) == count
    assert body["total"] == everything
    assert body["unlocated"] == everything - count
    assert len(body["hexes"]["features"]) == len(hexes_from_records(slug, 400))
    assert body["outline"]["features"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_points_are_only_the_stored_sanitised_centroids_and_places(supplied, api_client):
    sanitised = set(PostcodeCentroid.objects.values_list("easting", "northing")) | {
        (round(e), round(n)) for e, n in Place.objects.values_list("easting", "northing")
    }
    for slug in ("police_crime_offence", "ae_assault"):
        body = get_map(api_client, supplied["analyst"], dataset=slug).json()
        stored = set(located(slug).values_list("easting", "northing"))

        points = body["points"]["features"]
        at = [(p["properties"]["easting"], p["properties"]["northing"]) for p in points]
        assert len(at) == len(set(at)) == len(stored)
        assert set(at) == stored
        assert set(at) <= sanitised
        lon, lat = convert_lonlat([float(e) for e, _ in at], [float(n) for _, n in at])
        coordinates = [p["geometry"]["coordinates"] for p in points]
        assert np.allclose(coordinates, np.stack([lon, lat], axis=-1), atol=1e-6)


def assert_no_numbers(body):
    """Nothing a count could be read from: only the intensity class on each hexagon."""
    assert body["precise"] is False
    assert body["points"] is None and body["total"] is None and body["unlocated"] is None
    for feature in body["hexes"]["features"]:
        assert set(feature["properties"]) == {"class"}
        assert feature["properties"]["class"] in {1, 2, 3, 4, 5}
    assert all(not f["properties"].get("count") for f in body["outline"]["features"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_aggregate_access_gets_concentrations_without_points_or_numbers(supplied, api_client):
    response = get_map(api_client, supplied["associate_analyst"], dataset="ae_assault")

    assert response.status_code == 200, response.content
    assert '"count"' not in response.content.decode()
    body = response.json()
    assert_no_numbers(body)
    expected = perturbed_hexes("ae_assault", 400)
    assert len(body["hexes"]["features"]) == len(expected) > 0
    assert sorted(f["properties"]["class"] for f in body["hexes"]["features"]) == sorted(
        intensity_classes(expected["count"].to_numpy()).tolist()
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_aggregate_access_never_sees_a_hexagon_under_the_small_number(supplied, api_client):
    large = perturbed_hexes("police_crime_victim", 1600)
    # The demo's victims are spread thinly: most hexagons hold fewer than the threshold.
    assert 0 < len(large) < len(hexes_from_records("police_crime_victim", 1600))

    response = get_map(
        api_client, supplied["associate_analyst"], dataset="police_crime_victim", hex="1600"
    )

    assert response.status_code == 200, response.content
    assert '"count"' not in response.content.decode()
    body = response.json()
    assert_no_numbers(body)
    rings = hex_polygons(
        eastings=large["easting"].to_numpy(dtype=float),
        northings=large["northing"].to_numpy(dtype=float),
        size=1600,
    )
    assert sorted(f["geometry"]["coordinates"] for f in body["hexes"]["features"]) == sorted(rings)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_aggregate_access_cannot_ask_for_hexagons_small_enough_to_isolate_a_postcode(
    supplied, api_client
):
    response = get_map(api_client, supplied["associate_analyst"], dataset="ae_assault", hex="100")
    assert response.status_code == 400
    assert "hex must be one of 400, 800, 1600" in response.json()["detail"]
    # Nor any size but the fixed ones: each other grid would be another placing to compare.
    assert (
        get_map(
            api_client, supplied["associate_analyst"], dataset="ae_assault", hex="401"
        ).status_code
        == 400
    )
    analyst = get_map(api_client, supplied["analyst"], dataset="ae_assault", hex="100")
    assert analyst.status_code == 200


@pytest.mark.parametrize("username", ["lapsed_analyst", "outsider", "police_supplier"])
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_dataset_you_may_not_see_does_not_exist(supplied, api_client, username):
    response = get_map(api_client, supplied[username], dataset="police_crime_offence")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such dataset."}
    # Refused by the access gate, which audits it once.
    assert (
        AuditEntry.objects.filter(
            actor=supplied[username],
            action="access_refused",
            dataset_slug="police_crime_offence",
            detail__route="map",
        ).count()
        == 1
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_missing_dataset_is_the_same_404(supplied, api_client):
    response = get_map(api_client, supplied["analyst"], dataset="no_such_dataset")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such dataset."}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"weekdays": "8"}, "Days are 1"),
        ({"hour_from": "25"}, "Hours are 0 to 24"),
        ({"period_start": "last tuesday"}, "period_start must be a date"),
        ({"category": "crime_ref", "values": "x"}, "cannot be filtered by 'crime_ref'"),
        ({"hex": "wide"}, "hex must be a whole number"),
    ],
)
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_bad_filter_is_a_400_naming_it(supplied, api_client, params, named):
    response = get_map(api_client, supplied["analyst"], dataset="police_crime_offence", **params)
    assert response.status_code == 400
    assert named in response.json()["detail"]
    refusal = AuditEntry.objects.get(actor=supplied["analyst"], action="map_refused")
    assert named in refusal.detail["reason"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_night_filter_keeps_only_night_records(supplied, api_client):
    analyst = supplied["analyst"]
    all_day = get_map(api_client, analyst, dataset="police_crime_offence").json()
    night = get_map(
        api_client, analyst, dataset="police_crime_offence", hour_from="21", hour_to="4"
    ).json()

    start, end = last_month()
    expected = Record.objects.filter(
        dataset__slug="police_crime_offence", event_date__range=(start, end)
    ).filter(Q(event_time__hour__gte=21) | Q(event_time__hour__lt=4))
    assert 0 < night["total"] == expected.count() < all_day["total"]
    assert sum(f["properties"]["count"] for f in night["hexes"]["features"]) == (
        expected.exclude(easting=None).count()
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_every_map_view_is_audited_with_its_filters(supplied, api_client):
    analyst = supplied["analyst"]
    start, end = last_month()
    get_map(
        api_client,
        analyst,
        dataset="police_crime_offence",
        hour_from="21",
        hour_to="4",
        weekdays="5,6",
        districts="WN1",
    )

    entry = AuditEntry.objects.get(actor=analyst, action="map_viewed")
    assert entry.dataset_slug == "police_crime_offence"
    assert entry.detail["filters"] == {
        "dataset": "police_crime_offence",
        "period_start": str(start),
        "period_end": str(end),
        "hour_from": "21",
        "hour_to": "4",
        "weekdays": "5,6",
        "districts": "WN1",
    }
    assert entry.detail["level"] == "depersonalised"
    assert entry.agency is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_page_is_for_analysts_only(supplied, client):
    sign_in(client, supplied["analyst"])
    page = client.get(PAGE)
    assert page.status_code == 200
    assert b'data-api-url="/api/v1/workspace/map/"' in page.content
    assert b"vendor/leaflet/leaflet.js" in page.content and b"hub/map.js" in page.content
    assert b"<script>" not in page.content  # the page must run under a CSP without inline script
    for username in ("lapsed_analyst", "outsider", "police_supplier"):
        sign_in(client, supplied[username])
        assert client.get(PAGE).status_code == 404
    client.logout()
    assert client.get(PAGE).status_code == 302
    assert client.get(MAP, {"dataset": "police_crime_offence"}).status_code in (401, 403)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_page_marks_aggregate_datasets_and_passes_the_chosen_days_as_one_filter(
    supplied, client
):
    sign_in(client, supplied["associate_analyst"])
    page = client.get(
        PAGE, {"dataset": "ae_assault", "weekdays": ["6", "7"], "hex": "800", "values": "x"}
    )
    text = page.content.decode()
    assert 'name="values" value="x"' in text and "generator" not in text
    assert 'value="ae_assault" selected' in text
    assert "(concentrations only)" in text
    assert "dataset=ae_assault" in text and "weekdays=6%2C7" in text and "hex=800" in text
