"""List endpoints make the same number of queries however many items they list (no N+1)."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def supply(api_client, user):
    upload = io.BytesIO(b"crime_ref,ho_offence_code,committed_from_date\r\nC1,8N,01/10/2026\r\n")
    upload.name = "x.csv"
    api_client.force_authenticate(user)
    response = api_client.post(
        "/api/v1/supplies/",
        {"file": upload, "dataset": "police_crime_offence", "period_start": "2026-10-01",
         "period_end": "2026-10-31", "supplier_name": "x", "supplier_contact": "y"},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201


def extract(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.post(
        "/api/v1/extracts/",
        {"dataset": "police_crime_offence", "period_start": "2026-10-01",
         "period_end": "2026-10-31", "format": "csv"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201


def test_the_catalogue_list_is_pinned(api_client, personas, django_assert_num_queries):
    api_client.force_authenticate(personas["analyst"])
    with django_assert_num_queries(1):
        api_client.get("/api/v1/datasets/")


@pytest.mark.parametrize(
    ("url", "persona", "make"),
    [
        ("/api/v1/supplies/", "police_supplier", supply),
        ("/supplies/", "police_supplier", supply),
        ("/api/v1/extracts/", "analyst", extract),
        ("/extracts/", "analyst", extract),
    ],
)
def test_lists_do_not_query_per_item(api_client, client, personas, url, persona, make):
    user = personas[persona]
    client.force_login(user)
    api_client.force_authenticate(user)
    make(api_client, user)
    one = queries(client if not url.startswith("/api/") else api_client, url)
    for _ in range(4):
        make(api_client, user)
    assert queries(client if not url.startswith("/api/") else api_client, url) == one
