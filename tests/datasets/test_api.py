import csv
import io

import pytest
from django.core.management import call_command

from hub.models import AuditEntry
from tests.datasets.expected_catalogue import EXPECTED_CATALOGUE

pytestmark = pytest.mark.django_db


def test_the_catalogue_api_refuses_anonymous_callers(api_client, personas):
    response = api_client.get("/api/v1/datasets/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_the_catalogue_api_lists_every_dataset_in_the_contract_shape(api_client, personas):
    api_client.force_authenticate(personas["analyst"])

    response = api_client.get("/api/v1/datasets/")

    assert response.status_code == 200
    body = response.json()
    assert sorted(d["slug"] for d in body) == sorted(EXPECTED_CATALOGUE)
    offence = next(d for d in body if d["slug"] == "police_crime_offence")
    assert set(offence) == {"slug", "name", "section", "tier", "kind", "fields"}
    assert (offence["section"], offence["tier"], offence["kind"]) == (
        "3.2.1",
        "core",
        "depersonalised",
    )
    crime_ref = offence["fields"][0]
    assert crime_ref == {
        "name": "crime_ref",
        "type": "string",
        "required": True,
        "class": "reference",
    }
    victim = next(d for d in body if d["slug"] == "police_crime_victim")
    gender = next(f for f in victim["fields"] if f["name"] == "gender")
    assert gender["class"] == "quasi" and gender["enum"] == ["M", "F", "U"]


def test_the_catalogue_api_accepts_a_token_from_issue_token(api_client, personas, capsys):
    call_command("issue_token", "police_supplier")
    token = capsys.readouterr().out.strip().splitlines()[-1]

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get("/api/v1/datasets/")

    assert response.status_code == 200
    assert AuditEntry.objects.filter(
        action="token_issued", object_id=str(personas["police_supplier"].pk)
    ).exists()


def test_issuing_a_new_token_revokes_the_old_one(api_client, personas, capsys):
    call_command("issue_token", "police_supplier")
    old = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("issue_token", "police_supplier")

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get("/api/v1/datasets/").status_code == 401


def test_the_template_is_the_header_row_of_field_names_and_its_download_is_audited(
    api_client, personas
):
    api_client.force_authenticate(personas["council_supplier"])

    response = api_client.get("/api/v1/datasets/council_asb/template.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [list(EXPECTED_CATALOGUE["council_asb"]["fields"])]
    entry = AuditEntry.objects.get(action="template_download")
    assert (entry.actor_username, entry.dataset_slug) == ("council_supplier", "council_asb")


def test_an_unknown_dataset_template_is_a_json_404(api_client, personas):
    api_client.force_authenticate(personas["analyst"])
    response = api_client.get("/api/v1/datasets/no_such_dataset/template.csv")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such dataset."}


def test_the_template_api_refuses_anonymous_callers(api_client, personas):
    assert api_client.get("/api/v1/datasets/fire_incident/template.csv").status_code == 401


def test_the_openapi_schema_describes_the_catalogue_endpoints(api_client, personas):
    api_client.force_authenticate(personas["analyst"])
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/datasets/" in paths
    assert "/api/v1/datasets/{slug}/template.csv" in paths
