"""Error pages say what happened and what to do, in the hub's own style, and no more: a 404
tells nothing of whether the thing asked for exists; a 500 needs neither the database nor a
context processor; the API answers in JSON."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.test import Client
from django.urls import path

from hub.urls import urlpatterns as hub_urlpatterns
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

TO_DO = "This page does not exist, or it is not yours to see."


def boom(request):
    raise RuntimeError("a fault the user must not read about")


def wordy_not_found(request):
    raise Http404("Supply 42 exists but belongs to the police.")


def refused(request):
    raise PermissionDenied("Only the co-ordinator may do this.")


def malformed(request):
    raise SuspiciousOperation("a detail the user must not read about")


# This module is the URLconf of the tests marked `urls(__name__)`: the hub's, with views that
# fail, and the hub's handlers.
urlpatterns = [
    *hub_urlpatterns,
    path("test/boom/", boom),
    path("api/v1/test/boom/", boom),
    path("test/not-found/", wordy_not_found),
    path("test/refused/", refused),
    path("test/malformed/", malformed),
]
handler400 = "hub.views.bad_request"
handler403 = "hub.views.permission_denied"
handler404 = "hub.views.page_not_found"
handler500 = "hub.views.server_error"


def assert_styled(response):
    body = response.content.decode()
    assert '<link rel="stylesheet" href="/static/hub/hub.css">' in body
    assert 'href="/"' in body  # the way home
    # The Content Security Policy allows no inline script or style.
    assert "<script" not in body and "style=" not in body and "<style" not in body
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    return body


def without_csrf_token(body: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)


def test_an_unknown_page_is_a_styled_404_that_says_what_to_do(client, personas):
    sign_in(client, personas["analyst"])

    response = client.get("/no/such/place/")

    assert response.status_code == 404
    body = assert_styled(response)
    assert "<h1>Page not found</h1>" in body
    assert TO_DO in body and "ask your partnership's co-ordinator" in body
    assert "Sign out analyst" in body  # the navigation, as on every page
    assert "/no/such/place/" not in body and "tried" not in body


def test_an_anonymous_visitor_gets_the_same_404(client, personas):
    response = client.get("/no/such/place/")

    assert response.status_code == 404
    assert TO_DO in assert_styled(response)


def test_a_hidden_object_and_a_missing_one_get_the_same_page(client, personas):
    from tests.hub import owned

    supply = owned.supply(
        agency=owned.agency(owned.POLICE), user=personas["police_supplier"],
        dataset="police_crime_offence", marker="error-page-supply",
    )  # fmt: skip
    sign_in(client, personas["council_supplier"])

    hidden = client.get(f"/supplies/{supply.pk}/")
    missing = client.get(f"/supplies/{uuid.uuid4()}/")

    assert hidden.status_code == missing.status_code == 404
    assert without_csrf_token(hidden.content.decode()) == without_csrf_token(
        missing.content.decode()
    )
    assert "No such supply." in hidden.content.decode()


@pytest.mark.urls(__name__)
def test_a_404_shows_no_message_but_the_hubs_uniform_one(client, personas):
    sign_in(client, personas["analyst"])

    response = client.get("/test/not-found/")

    assert response.status_code == 404
    body = response.content.decode()
    assert TO_DO in body
    shown = body.split("<main", 1)[1]
    assert "42" not in shown and "police" not in shown.lower()


def test_a_lapsed_analyst_is_told_why_the_workspace_is_closed_and_whom_to_ask(client, personas):
    sign_in(client, personas["lapsed_analyst"])

    response = client.get("/workspace/")

    assert response.status_code == 403
    body = assert_styled(response)
    assert "<h1>Not open to you</h1>" in body
    assert "Leigh Neighbourhood Watch withdrew from ISP" in body
    assert "Clare Ormerod" in body and "co-ordinator" in body


def test_others_still_find_no_workspace(client, personas):
    for persona in ("police_supplier", "dlo_police", "coordinator", "outsider"):
        sign_in(client, personas[persona])
        response = client.get("/workspace/")
        assert response.status_code == 404, persona
        assert TO_DO in response.content.decode()


def test_a_refusal_says_why(client, personas):
    sign_in(client, personas["police_supplier"])

    response = client.post("/documents/", {})

    assert response.status_code == 403
    body = assert_styled(response)
    assert "Only the co-ordinator and core-tier analysts add documents." in body


@pytest.mark.urls(__name__)
def test_a_refusal_without_words_says_what_to_do(client, personas):
    sign_in(client, personas["analyst"])

    response = client.get("/test/refused/")

    assert response.status_code == 403
    assert "Only the co-ordinator may do this." in assert_styled(response)


@pytest.mark.urls(__name__)
def test_a_server_error_is_a_plain_styled_page_that_needs_no_database(
    client, personas, django_assert_num_queries
):
    client.raise_request_exception = False

    # Anonymous: nothing in the request asks for the session's user, so any query would be
    # the error page's own.
    with django_assert_num_queries(0):
        response = client.get("/test/boom/")

    assert response.status_code == 500
    body = assert_styled(response)
    assert "<h1>Something went wrong</h1>" in body
    assert "a fault the user must not read about" not in body
    assert "RuntimeError" not in body


@pytest.mark.urls(__name__)
def test_a_server_error_shows_a_signed_in_user_no_navigation(client, personas):
    # The page is rendered without the request, so it works whatever broke.
    client.raise_request_exception = False
    sign_in(client, personas["coordinator"])

    response = client.get("/test/boom/")

    assert response.status_code == 500
    assert "Sign out" not in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_bad_request_is_a_plain_styled_page(client, personas):
    response = client.get("/test/malformed/")

    assert response.status_code == 400
    body = assert_styled(response)
    assert "could not read this request" in body
    assert "must not read about" not in body


def test_an_expired_form_says_to_reload_it(personas):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, personas["analyst"])

    response = client.post("/logout/")

    assert response.status_code == 403
    assert "The form could not be checked" in assert_styled(response)


@pytest.mark.urls(__name__)
def test_the_api_answers_errors_in_json(client, api_client, personas):
    api_client.force_authenticate(personas["analyst"])
    unknown = api_client.get("/api/v1/no-such-endpoint/")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not found."}

    hidden = api_client.get(f"/api/v1/supplies/{uuid.uuid4()}/")
    assert hidden.status_code == 404
    assert hidden["Content-Type"] == "application/json"

    client.raise_request_exception = False
    failed = client.get("/api/v1/test/boom/")
    assert failed.status_code == 500
    assert failed.json() == {"detail": "A server error occurred."}


def test_the_favicon_is_served(client):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/hub/favicon.svg"
    icon = finders.find("hub/favicon.svg")
    assert icon is not None and Path(icon).read_text().startswith("<svg")


def test_every_page_links_the_favicon(client, personas):
    sign_in(client, personas["outsider"])

    body = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/hub/favicon.svg" type="image/svg+xml">' in body
