"""Every operation of the API, fuzzed from its own OpenAPI schema (schemathesis), as a supplier
and as an analyst: valid and invalid requests alike must never get a 5xx, and every answer
must be what the schema says (status, content type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 25


def token_for(username: str, capsys) -> str:
    call_command("issue_token", username)
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture
def api_schema(api_client, personas, capsys):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_for('outsider', capsys)}")
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(response.json())


def test_the_schema_lists_the_supply_and_extract_operations(api_schema):
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert {
        "POST /api/v1/supplies/",
        "GET /api/v1/supplies/{supply_id}/report/",
        "POST /api/v1/extracts/",
        "GET /api/v1/extracts/{extract_id}/download",
    } <= labels


@pytest.mark.parametrize("username", ["police_supplier", "analyst"])
def test_no_operation_answers_with_a_server_error_or_off_its_schema(
    api_schema, personas, capsys, username
):
    app = get_wsgi_application()
    headers = {"Authorization": f"Token {token_for(username, capsys)}"}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case):
                case.call_and_validate(
                    base_url="http://testserver", app=app, headers=headers, checks=CHECKS
                )

            try:
                fuzz()
            except Unsatisfiable:
                # An operation with nothing to get wrong (no parameters, no body) has no
                # invalid requests to make.
                assert mode == GenerationMode.NEGATIVE, operation.label


def test_a_nul_in_a_map_filter_is_a_400_not_a_database_error(api_client, personas):
    api_client.force_authenticate(personas["analyst"])
    query = {"dataset": "council_asb", "values": "a\x00"}
    response = api_client.get("/api/v1/workspace/map/", query)
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
