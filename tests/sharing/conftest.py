"""Fixtures of the sharing tests: prisons that supply releases, and an approved request."""

from __future__ import annotations

import pytest

from datasets.models import Dataset
from hub.choices import AgencyType, Role
from sharing.access import access_decision
from sharing.services.requests import request_decide
from tests.datasets.test_pipeline import csv_bytes, supply, wait_for
from tests.factories import RELEASE_HEADER, ask, member, postcode_in, signed_agency


@pytest.fixture
def prisons(personas, celery_worker_process, api_client):
    """Two prisons of the partnership supplying October's releases: Hindley one in WN1 and one
    in WN4, Garth one in WN4. The analyst asks Hindley's DLO for WN4's names."""
    from sanitise.demo import demo_gazetteer_load

    demo_gazetteer_load()
    world = dict(personas)
    for key, name in (("hindley", "HMP Hindley"), ("garth", "HMP Garth")):
        world[key] = signed_agency(name, AgencyType.PRISON)
        world[f"{key}_supplier"] = member(world[key], f"{key}_supplier", [Role.SUPPLIER])
        world[f"{key}_dlo"] = member(world[key], f"{key}_dlo", [Role.DLO])
    wn1, wn4 = postcode_in("WN1"), postcode_in("WN4")
    files = {
        "hindley": [
            ["Arthur Wigan", "M", "01/02/1990", "burglary", "10/10/2026", "1 Mill Lane", wn1],
            ["Bella Hindley", "F", "03/04/1985", "theft", "20/10/2026", "2 Mill Lane", wn4],
        ],
        "garth": [
            ["Cyril Garth", "M", "05/06/1970", "robbery", "15/10/2026", "3 Mill Lane", wn4],
        ],
    }
    for key, rows in files.items():
        supply_id = supply(
            api_client, world[f"{key}_supplier"], csv_bytes(RELEASE_HEADER, rows),
            dataset="prison_release",
        )  # fmt: skip
        assert wait_for(api_client, supply_id)["status"] == "completed"
    return world


@pytest.fixture
def approved(personas):
    hindley = signed_agency("HMP Hindley", AgencyType.PRISON)
    dlo = member(hindley, "hindley_dlo", [Role.DLO])
    data_request = ask(personas["analyst"], hindley)
    request_decide(data_request=data_request, approve=True, reason="ok", acting_user=dlo)
    releases = Dataset.objects.get(slug="prison_release")
    assert access_decision(user=personas["analyst"], dataset=releases).level == "personal"
    return {**personas, "request": data_request, "releases": releases, "hindley": hindley}
