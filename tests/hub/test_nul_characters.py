"""A NUL character in any query or form field is a clear 400, never a server error: no value
the hub takes has one, and PostgreSQL text cannot hold it."""

from urllib.parse import urlencode

import pytest

from tests.conftest import sign_in

FILTERS = "dataset=police_crime_offence&period_start=2026-01-01&period_end=2026-02-01"
PAGES = [
    "/workspace/counts/", "/workspace/counts.csv", "/workspace/map/", "/workspace/linked/",
    "/workspace/compare/", "/workspace/explore/police_crime_offence/", "/governance/audit/",
    "/governance/audit/export.csv", "/catalogue/", "/supplies/", "/extracts/",
]  # fmt: skip
HOSTILE = [f"{FILTERS}&districts=WN1%00", "action=a%00b", "q%00=x", f"{FILTERS}&category=x%00"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_asked_with_a_nul_says_so_with_a_400(client, personas, path):
    for user in ("analyst", "coordinator"):
        sign_in(client, personas[user])
        for query in HOSTILE:
            response = client.get(f"{path}?{query}")
            assert response.status_code == 400, (user, query)
            assert "NUL character" in response.content.decode()


def test_the_api_answers_a_nul_with_a_400_in_json(api_client, personas):
    api_client.force_authenticate(personas["analyst"])
    response = api_client.get(f"/api/v1/workspace/map/?{FILTERS}&districts=WN1%00")
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


def test_a_form_posted_with_a_nul_is_refused_and_nothing_changes(client, personas):
    coordinator = personas["coordinator"]
    sign_in(client, coordinator)
    fields = {"username": "new\x00user", "email": "a@b.c"}
    form = client.post(
        "/governance/users/", urlencode(fields), content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 400
    # Multipart bodies are left to the forms, which refuse NUL in their fields themselves.
    multipart = client.post("/governance/users/", fields)
    assert multipart.status_code == 200  # the form again, with its errors
    assert not type(coordinator).objects.filter(username__startswith="new").exists()


def test_a_plain_request_is_untouched(client, personas):
    sign_in(client, personas["analyst"])
    assert client.get(f"/workspace/counts/?{FILTERS}&districts=WN1").status_code == 200
