"""The permission matrix: every URL of the hub × every persona × every method it takes.

A URL added without a row here fails `test_every_url_has_a_row`, so no endpoint ships untested.
The rows are the policy, written out: change one only with the access rule it records.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.contrib.admin.sites import site as admin_site
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from datasets.choices import SupplyStatus
from hub.models import User
from sharing.models import AccessProfile
from tests.hub import owned

pytestmark = pytest.mark.django_db

GET, POST = "GET", "POST"
# Not a status: a redirect to the sign-in page, with the page asked for as `next`.
IN = "sign-in"
PERSONAS = [
    "police_supplier", "council_supplier", "health_supplier", "analyst", "associate_analyst",
    "dlo_police", "coordinator", "lapsed_analyst", "outsider", "anonymous",
]  # fmt: skip

# Each row: a URL's name, a method, then what each persona gets, in the order of PERSONAS:
# PS police_supplier, CS council_supplier, HS health_supplier, A analyst, AA associate_analyst,
# DLO dlo_police, C coordinator, LA lapsed_analyst, O outsider, and anonymous.
# fmt: off
MATRIX = [
    # url name                      method  PS   CS   HS   A    AA   DLO  C    LA   O    anon
    ("home",                        GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("login",                       GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("login",                       POST,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("logout",                      POST,   302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("password_reset",              GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("password_reset",              POST,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("password_reset_done",         GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("password_reset_confirm",      GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("password_reset_confirm",      POST,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("password_reset_complete",     GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # one's own account; the co-ordinator and the DLO have an authenticator, and a verified
    # session, so that the code step sends them on and a second one is refused
    ("account",                     GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("two-factor-verify",           GET,    302, 302, 302, 302, 302, 302, 302, 302, 302, IN),
    ("two-factor-verify",           POST,   302, 302, 302, 302, 302, 302, 302, 302, 302, IN),
    ("two-factor-enrol",            GET,    200, 200, 200, 200, 200, 302, 302, 200, 200, IN),
    ("two-factor-enrol",            POST,   200, 200, 200, 200, 200, 302, 302, 200, 200, IN),
    ("two-factor-backup-codes",     POST,   200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("two-factor-remove",           POST,   302, 302, 302, 302, 302, 302, 302, 302, 302, IN),
    # no token for an account that needs a second factor: back to the account page, told why
    ("api-token-issue",             POST,   200, 200, 200, 200, 200, 302, 302, 200, 200, IN),
    ("api-token-revoke",            POST,   302, 302, 302, 302, 302, 302, 302, 302, 302, IN),
    ("health",                      GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # browsers ask for it whatever the page links: sent on to the static icon
    ("favicon",                     GET,    302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    # the catalogue: field names are not personal data
    ("catalogue",                   GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("dataset-detail",              GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("dataset-template",            GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("api-dataset-list",            GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("api-dataset-template",        GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("api-schema",                  GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("api-docs",                    GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    # supplies: the police's supply, seen by its supplier, its DLO and the co-ordinator
    ("supply-list",                 GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("supply-new",                  GET,    200, 200, 200, 404, 404, 404, 404, 404, 404, IN),
    ("supply-new",                  POST,   200, 200, 200, 404, 404, 404, 404, 404, 404, IN),
    ("supply-standing",             GET,    200, 200, 200, 404, 404, 200, 404, 404, 404, IN),
    ("supply-detail",               GET,    200, 404, 404, 404, 404, 200, 200, 404, 404, IN),
    ("supply-retry",                POST,   302, 404, 404, 404, 404, 302, 302, 404, 404, IN),
    ("supply-rejected-rows",        GET,    200, 404, 404, 404, 404, 200, 200, 404, 404, IN),
    # withdrawal: the agency's own supplier and DLO only (the co-ordinator sees the supply and
    # is refused); the matrix's supply failed, so nothing is withdrawn: refused on its page (400)
    # and by the API (403)
    ("supply-withdraw",             POST,   400, 404, 404, 404, 404, 400, 400, 404, 404, IN),
    ("api-supply-withdraw",         POST,   403, 404, 404, 404, 404, 403, 403, 404, 404, 401),
    ("api-supply-list",             GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("api-supply-list",             POST,   201, 403, 403, 403, 403, 403, 403, 403, 403, 401),
    ("api-supply-detail",           GET,    200, 404, 404, 404, 404, 200, 200, 404, 404, 401),
    ("api-supply-report",           GET,    200, 404, 404, 404, 404, 200, 200, 404, 404, 401),
    ("api-schedule",                GET,    200, 200, 200, 404, 404, 404, 200, 404, 404, 401),
    # extracts: the analyst's own, nobody else's
    ("extract-list",                GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("extract-new",                 GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("extract-new",                 POST,   404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("extract-detail",              GET,    404, 404, 404, 200, 404, 404, 404, 404, 404, IN),
    ("extract-download",            GET,    404, 404, 404, 200, 404, 404, 404, 404, 404, IN),
    ("api-extract-list",            GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("api-extract-list",            POST,   403, 403, 403, 201, 201, 403, 403, 403, 403, 401),
    ("api-extract-detail",          GET,    404, 404, 404, 200, 404, 404, 404, 404, 404, 401),
    ("api-extract-download",        GET,    404, 404, 404, 200, 404, 404, 404, 404, 404, 401),
    # governance: the co-ordinator's, and the DLO's part of it
    ("governance",                  GET,    404, 404, 404, 404, 404, 200, 200, 404, 404, IN),
    ("governance-isp",              GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("governance-isp",              POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("governance-agency-new",       GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("governance-agency-new",       POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("governance-schedule",         GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("governance-schedule",         POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("governance-quality",          GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-users",               GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-users",               POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-user",                GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-user",                POST,   404, 404, 404, 404, 404, 404, 302, 404, 404, IN),
    # access profiles: the co-ordinator's; an empty form is shown again with its errors
    ("console-profiles",            GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-profile-new",         GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-profile-new",         POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-profile",             GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-profile",             POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("console-audit",               GET,    404, 404, 404, 404, 404, 200, 200, 404, 404, IN),
    ("console-audit-export",        GET,    404, 404, 404, 404, 404, 200, 200, 404, 404, IN),
    # personal-data requests: the analyst's, to the police's DLO
    ("request-list",                GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("request-new",                 GET,    404, 404, 404, 200, 200, 404, 404, 200, 404, IN),
    ("request-new",                 POST,   404, 404, 404, 200, 200, 404, 404, 200, 404, IN),
    ("request-detail",              GET,    404, 404, 404, 200, 404, 200, 200, 404, 404, IN),
    ("request-detail",              POST,   404, 404, 404, 200, 404, 200, 200, 404, 404, IN),
    # the library: a document for core-tier agencies; readers who may not add to it get 403
    ("document-list",               GET,    200, 200, 200, 200, 200, 200, 200, 200, 200, IN),
    ("document-list",               POST,   403, 403, 403, 200, 403, 403, 200, 403, 403, IN),
    ("document-detail",             GET,    200, 200, 200, 200, 404, 200, 200, 404, 404, IN),
    ("document-detail",             POST,   403, 403, 403, 200, 404, 403, 200, 404, 404, IN),
    ("document-download",           GET,    200, 200, 200, 200, 404, 200, 200, 404, 404, IN),
    ("document-version-download",   GET,    200, 200, 200, 200, 404, 200, 200, 404, 404, IN),
    # FOI: a request about the police's information
    ("foi-list",                    GET,    404, 404, 404, 404, 404, 200, 200, 404, 404, IN),
    ("foi-new",                     GET,    404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("foi-new",                     POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("foi-detail",                  GET,    404, 404, 404, 404, 404, 200, 200, 404, 404, IN),
    ("foi-answer",                  POST,   404, 404, 404, 404, 404, 200, 404, 404, 404, IN),
    ("foi-release",                 POST,   404, 404, 404, 404, 404, 404, 200, 404, 404, IN),
    ("foi-withdraw",                POST,   404, 404, 404, 404, 404, 404, 302, 404, 404, IN),
    # the workspace: analysts with access; the analyst's query is shared with the council. An
    # analyst of a lapsed signatory is told why the workspace is closed to them.
    ("workspace",                   GET,    404, 404, 404, 200, 200, 404, 404, 403, 404, IN),
    ("workspace-explore",           GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-save",              POST,   302, 302, 302, 302, 302, 302, 302, 302, 302, IN),
    ("workspace-open",              GET,    404, 404, 404, 302, 404, 404, 404, 404, 404, IN),
    ("workspace-delete",            POST,   404, 404, 404, 302, 404, 404, 404, 404, 404, IN),
    ("workspace-counts",            GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-counts-csv",        GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-linked",            GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-compare",           GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-vli",               GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-vli-csv",           GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-map",               GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("api-workspace-map",           GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, 401),
    # areas: their counts and choropleth, and the picker's search of the partnership's areas
    ("workspace-areas",             GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-areas-csv",         GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("workspace-area-search",       GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, IN),
    ("api-workspace-areas",         GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, 401),
    ("api-workspace-counts",        GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, 401),
    ("api-workspace-compare",       GET,    404, 404, 404, 200, 200, 404, 404, 404, 404, 401),
]
# fmt: on

# How each URL's arguments are made from the objects of the `world` fixture.
ARGS = {
    "dataset-detail": {"slug": "police_crime_offence"},
    "dataset-template": {"slug": "police_crime_offence"},
    "api-dataset-template": {"slug": "police_crime_offence"},
    "supply-detail": {"supply_id": "supply"},
    "supply-retry": {"supply_id": "supply"},
    "supply-rejected-rows": {"supply_id": "supply"},
    "supply-withdraw": {"supply_id": "supply"},
    "api-supply-withdraw": {"supply_id": "supply"},
    "api-supply-detail": {"supply_id": "supply"},
    "api-supply-report": {"supply_id": "supply"},
    "extract-new": {"slug": "police_crime_offence"},
    "extract-detail": {"extract_id": "extract"},
    "extract-download": {"extract_id": "extract"},
    "api-extract-detail": {"extract_id": "extract"},
    "api-extract-download": {"extract_id": "extract"},
    "console-user": {"user_id": "subject"},
    "console-profile": {"profile_id": "profile"},
    "request-new": {"slug": "ppo"},
    "request-detail": {"request_id": "data_request"},
    "document-detail": {"document_id": "document"},
    "document-download": {"document_id": "document"},
    "document-version-download": {"document_id": "document", "number": 1},
    "foi-detail": {"foi_id": "foi"},
    "foi-answer": {"foi_id": "foi"},
    "foi-release": {"foi_id": "foi"},
    "foi-withdraw": {"foi_id": "foi"},
    "workspace-explore": {"slug": "police_crime_offence"},
    "workspace-open": {"saved_id": "saved"},
    "workspace-delete": {"saved_id": "saved"},
    "password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
}
QUERIES = {
    "api-workspace-map": {"dataset": "police_crime_offence"},
    "workspace-area-search": {"q": "Wi"},
}
# The smallest body that gets past validation, where an empty one would be refused by it
# before anyone's access is looked at.
BODIES = {
    ("supply-withdraw", POST): lambda: {"reason": "Sent in error"},
    ("api-supply-withdraw", POST): lambda: {"reason": "Sent in error"},
    ("api-supply-list", POST): lambda: {
        "file": owned.named_file("october.csv", b"crime_ref,offence_code\r\nX1,28E\r\n"),
        "dataset": "police_crime_offence",
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "supplier_name": "Priya Shah",
        "supplier_contact": "priya.shah@gmp.example",
    },
    ("api-extract-list", POST): lambda: {
        "dataset": "police_crime_offence",
        "period_start": "2026-01-01",
        "period_end": "2026-10-31",
        "format": "csv",
        "level": "aggregate",
    },
}
JSON_BODIES = {("api-extract-list", POST)}


@pytest.fixture
def world(personas):
    """One object of each kind, owned as the matrix's comments say."""
    police = owned.agency(owned.POLICE)
    return {
        **personas,
        "supply": owned.supply(
            agency=police,
            user=personas["police_supplier"],
            dataset="police_crime_offence",
            marker="matrix-supply",
            status=SupplyStatus.FAILED,
        ),
        "extract": owned.extract(
            user=personas["analyst"], agency=owned.agency(owned.COUNCIL), marker="matrix-extract"
        ),
        "subject": personas["analyst"],
        "profile": AccessProfile.objects.get(name="Partnership analysts"),
        "data_request": owned.data_request(
            analyst=personas["analyst"], supplying_agency=police, marker="matrix-request"
        ),
        "document": owned.document(
            owner=personas["coordinator"],
            partnership=police.partnership,
            marker="matrix-document",
            tiers=["core"],
        ),
        "foi": owned.foi(
            coordinator=personas["coordinator"], originating_agency=police, marker="matrix-foi"
        ),
        "saved": owned.saved_query(owner=personas["analyst"], marker="matrix-saved", shared=True),
    }


def url_for(name: str, world: dict) -> str:
    kwargs = {
        key: world[value].pk if isinstance(value, str) and value in world else value
        for key, value in ARGS.get(name, {}).items()
    }
    return reverse(name, kwargs=kwargs)


def send(client, method: str, name: str, world: dict):
    """The request, in a savepoint rolled back afterwards, so that each persona meets the same
    world (a retry, a withdrawal or a deletion by one does not change what the next sees)."""
    url = url_for(name, world)
    body = BODIES.get((name, method), dict)()
    with transaction.atomic():
        if method == GET:
            response = client.get(url, QUERIES.get(name, {}))
        elif (name, method) in JSON_BODIES:
            response = client.post(url, body, content_type="application/json")
        else:
            response = client.post(url, body)
        if response.streaming:
            # A streamed body is made (and its download audited) as it is read: inside.
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    return response


def outcome(response, url: str):
    """The status, or IN for a redirect to the sign-in page that comes back to ``url``."""
    if response.status_code == 302:
        target = urlparse(response["Location"])
        if target.path == reverse("login") and f"next={url}" in response["Location"]:
            return IN
    return response.status_code


def signed_in_client(persona: str, world: dict) -> Client:
    client = Client()
    if persona != "anonymous":
        owned.login(client, world[persona])
    return client


@pytest.mark.parametrize(
    ("name", "method", "expected"),
    [(name, method, dict(zip(PERSONAS, cells, strict=True))) for name, method, *cells in MATRIX],
    ids=[f"{name}-{method}" for name, method, *_ in MATRIX],
)
def test_the_permission_matrix(request, world, name, method, expected):
    if name == "health":
        request.getfixturevalue("celery_worker_process")  # the health check asks a worker
    url = url_for(name, world)
    got = {}
    for persona in PERSONAS:
        # A fresh client each time: a logout must not leave the next persona signed out.
        client = signed_in_client(persona, world)
        got[persona] = outcome(send(client, method, name, world), url)
    assert got == expected


@pytest.mark.parametrize("name", sorted({name for name, *_ in MATRIX}))
def test_methods_a_url_does_not_take_are_refused(client, world, name):
    """GET on an action and POST on a read are 405, so that neither can have side effects."""
    taken = {method for row_name, method, *_ in MATRIX if row_name == name}
    owned.login(client, world["coordinator"])
    for method in {GET, POST} - taken:
        assert send(client, method, name, world).status_code == 405, (name, method)


def urls_in_conf(patterns=None) -> dict[str, set[str]]:
    """Every URL's name (its route when unnamed) with its arguments, through every include;
    the admin site as the one entry "admin"."""
    found = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver) and pattern.app_name == "admin":
            found["admin"] = set()
        elif isinstance(pattern, URLResolver):
            prefix = set(pattern.pattern.regex.groupindex)
            for name, arguments in urls_in_conf(pattern.url_patterns).items():
                found[name] = prefix | arguments
        elif isinstance(pattern, URLPattern):
            found[pattern.name or str(pattern.pattern)] = set(pattern.pattern.regex.groupindex)
    return found


def test_every_url_has_a_row():
    in_conf = set(urls_in_conf())
    in_matrix = {name for name, *_ in MATRIX} | {"admin"}
    assert in_conf - in_matrix == set(), "URLs with no row in the permission matrix"
    assert in_matrix - in_conf == set(), "rows for URLs that no longer exist"


def test_every_url_with_arguments_has_them():
    for name, arguments in urls_in_conf().items():
        if name != "admin":
            assert set(ARGS.get(name, {})) == arguments, name


# -- the admin site ---------------------------------------------------------------------------


def admin_urls() -> list[str]:
    """Every page of the admin site that takes no arguments but its login and logout."""
    urls = []
    for pattern in admin_site.get_urls():
        patterns = pattern.url_patterns if isinstance(pattern, URLResolver) else [pattern]
        prefix = str(pattern.pattern) if isinstance(pattern, URLResolver) else ""
        for one in patterns:
            if one.name in ("login", "logout") or one.pattern.regex.groups:
                continue
            if isinstance(one, URLPattern):
                urls.append("/admin/" + prefix + str(one.pattern))
    return urls


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_admin_site_refuses_everyone_who_is_not_staff(client, world, persona):
    if persona != "anonymous":
        owned.login(client, world[persona])
    urls = admin_urls()
    assert "/admin/" in urls and "/admin/hub/user/" in urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert urlparse(response["Location"]).path == reverse("admin:login"), url


def test_the_admin_site_opens_for_staff(client, world):
    staff = User.objects.create_superuser("admin", "admin@example.invalid", "x" * 20)
    owned.login(client, staff)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/hub/user/").status_code == 200
