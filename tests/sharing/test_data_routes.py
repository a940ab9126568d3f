"""The data-route matrix: every route that hands out records or counts × every persona ×
datasets at each level, asserting the most detailed thing each persona receives.

Outcomes, most detailed first: "depersonalised" (an extract of records), "points" (the map's
sanitised points), "aggregate" (an extract of counts), "classes" (the map's intensity classes
only), "counts" (a counting page or its CSV), "explorer" (the explorer page), "none" (404, or
403 for an extract). The rows are the policy, written out.

Every answer also says how the disclosure gate released its counts (the X-Hub-Release label:
"exact" or "perturbed"), and the matrix asserts it: "counts exact", "explorer perturbed".
"""

from __future__ import annotations

import pytest

from sharing.disclosure import RELEASE_HEADER
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

OFFENCES, FIRE, VICTIMS, RELEASES = (
    "police_crime_offence", "fire_incident", "police_crime_victim", "prison_release",
)  # fmt: skip
PERIOD = {"period_start": "2026-01-01", "period_end": "2026-10-31"}


def extract(api_client, user, dataset: str, **extra) -> str:
    api_client.force_authenticate(user)
    body = {"dataset": dataset, "format": "csv", **PERIOD, **extra}
    response = api_client.post("/api/v1/extracts/", body, format="json")
    assert response.status_code in (201, 403), response.content
    return response.json()["level"] if response.status_code == 201 else "none"


def map_layers(api_client, user, dataset: str, **extra) -> str:
    api_client.force_authenticate(user)
    response = api_client.get("/api/v1/workspace/map/", {"dataset": dataset, **PERIOD, **extra})
    assert response.status_code in (200, 404), response.content
    if response.status_code == 404:
        return "none"
    assert response[RELEASE_HEADER] in ("exact", "perturbed")
    return "points" if response.json()["points"] is not None else "classes"


def page(client, user, path: str, params: dict, outcome: str) -> str:
    sign_in(client, user)
    response = client.get(path, params)
    assert response.status_code in (200, 404), (path, response.status_code)
    return f"{outcome} {response[RELEASE_HEADER]}" if response.status_code == 200 else "none"


def counts(client, user, dataset, **extra) -> str:
    return page(client, user, "/workspace/counts/", {"dataset": dataset, **PERIOD, **extra},
                "counts")  # fmt: skip


def counts_csv(client, user, dataset, **extra) -> str:
    return page(client, user, "/workspace/counts.csv", {"dataset": dataset, **PERIOD, **extra},
                "counts")  # fmt: skip


def explorer(client, user, dataset, **extra) -> str:
    return page(client, user, f"/workspace/datasets/{dataset}/", extra, "explorer")


ROUTES = ["extract", "map", "counts", "counts.csv", "explorer"]
NONE = ("none",) * 5
EXACT = ("counts exact", "counts exact", "explorer exact")
PERTURBED = ("counts perturbed", "counts perturbed", "explorer perturbed")
# persona → dataset → outcome on each route, in the order of ROUTES.
# fmt: off
MATRIX = {
    "analyst": {
        OFFENCES: ("depersonalised", "points", *EXACT),
        FIRE: ("depersonalised", "points", *EXACT),
        VICTIMS: ("depersonalised", "points", *EXACT),
        # personal data are had only under a request; no profile covers the releases
        RELEASES: NONE,
    },
    "associate_analyst": {
        # k-anonymous records and their exact counts, but no points for associate partners
        OFFENCES: ("depersonalised", "classes", *EXACT),
        FIRE: ("aggregate", "classes", *PERTURBED),
        VICTIMS: ("aggregate", "classes", *PERTURBED),
        RELEASES: NONE,
    },
    # the agency withdrew from the ISP: nothing, whatever the profile says
    "lapsed_analyst": {OFFENCES: NONE, FIRE: NONE, VICTIMS: NONE, RELEASES: NONE},
    "police_supplier": {OFFENCES: NONE, FIRE: NONE, VICTIMS: NONE, RELEASES: NONE},
    "dlo_police": {OFFENCES: NONE, FIRE: NONE, VICTIMS: NONE, RELEASES: NONE},
    "coordinator": {OFFENCES: NONE, FIRE: NONE, VICTIMS: NONE, RELEASES: NONE},
    "outsider": {OFFENCES: NONE, FIRE: NONE, VICTIMS: NONE, RELEASES: NONE},
    # an analyst in two partnerships acts in Yonder, where their profile is: the demo
    # partnership's offences are not theirs, Yonder's victims are
    "two_places": {
        OFFENCES: NONE,
        FIRE: NONE,
        VICTIMS: ("depersonalised", "points", *EXACT),
        RELEASES: NONE,
    },
    # being the police's DLO adds nothing to what they have as the council's analyst
    "analyst_and_dlo": {
        OFFENCES: ("depersonalised", "points", *EXACT),
        FIRE: ("depersonalised", "points", *EXACT),
        VICTIMS: ("depersonalised", "points", *EXACT),
        RELEASES: NONE,
    },
}
# fmt: on


@pytest.fixture
def people(personas):
    return {
        **personas,
        "two_places": factories.two_places_analyst(),
        "analyst_and_dlo": factories.analyst_and_dlo(),
    }


def receive(route: str, clients, user, dataset: str, **extra) -> str:
    client, api_client = clients
    if route == "extract":
        return extract(api_client, user, dataset, **extra)
    if route == "map":
        return map_layers(api_client, user, dataset, **extra)
    handler = {"counts": counts, "counts.csv": counts_csv, "explorer": explorer}[route]
    return handler(client, user, dataset, **extra)


@pytest.mark.parametrize("persona", MATRIX)
def test_the_data_route_matrix(client, api_client, people, persona):
    expected = {
        (dataset, route): outcome
        for dataset, outcomes in MATRIX[persona].items()
        for route, outcome in zip(ROUTES, outcomes, strict=True)
    }

    received = {
        (dataset, route): receive(route, (client, api_client), people[persona], dataset)
        for dataset, route in expected
    }

    assert received == expected


@pytest.mark.parametrize("route", ROUTES)
def test_naming_the_partnership_without_a_profile_there_gets_nothing(
    client, api_client, people, route
):
    received = receive(
        route, (client, api_client), people["two_places"], VICTIMS, partnership="wigan-leigh"
    )

    assert received == "none"


def test_every_persona_and_route_has_a_row(people):
    for persona in MATRIX:
        assert persona in people
        assert set(MATRIX[persona]) == {OFFENCES, FIRE, VICTIMS, RELEASES}
