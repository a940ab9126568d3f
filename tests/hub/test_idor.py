"""Insecure direct object references: every id-bearing URL, asked for an object by everyone who
may not see it, in this partnership or another, answers 404, exactly as it answers for an id that
does not exist; nothing of the object is in the answer, and nothing of it changes."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from datasets.choices import SupplyStatus
from datasets.models import SupplySchedule
from hub.access import two_factor_required
from hub.models import AuditEntry, Membership, Signature, User
from hub.services import token_issue
from sharing.models import DocumentVersion, FoiRequest, PersonalDataRequest
from sharing.services.profiles import access_profile_ensure
from tests.hub import owned

pytestmark = pytest.mark.django_db

GET, POST = "GET", "POST"
# The demo personas, a second analyst at the analyst's own agency, and the staff of another
# partnership.
PERSONAS = [
    "police_supplier", "council_supplier", "health_supplier", "analyst", "associate_analyst",
    "dlo_police", "coordinator", "lapsed_analyst", "outsider", "colleague",
    "else_coordinator", "else_supplier", "else_dlo",
]  # fmt: skip

# Who may see each object of the `world` fixture. Written out, not computed: this is the policy.
SEEN_BY = {
    "police_supply": {"police_supplier", "dlo_police", "coordinator"},
    "council_supply": {"council_supplier", "coordinator"},
    "else_supply": {"else_supplier", "else_dlo", "else_coordinator"},
    "analyst_extract": {"analyst"},
    "associate_extract": {"associate_analyst"},
    "police_document": {"police_supplier", "dlo_police", "coordinator"},
    "else_document": {"else_supplier", "else_dlo", "else_coordinator"},
    "police_request": {"analyst", "dlo_police", "coordinator"},
    "police_foi": {"dlo_police", "coordinator"},
    "council_foi": {"coordinator"},
    "else_foi": {"else_dlo", "else_coordinator"},
    "private_query": {"analyst"},
    "shared_query": {"analyst", "colleague"},
    "wigan_user": {"coordinator"},
    "else_user": {"else_coordinator"},
    "wigan_profile": {"coordinator"},
    "else_profile": {"else_coordinator"},
}
# The URLs of each kind of object (the part of its key after the owner): name, method, and
# the argument that takes the object's id.
URLS = {
    "supply": [
        ("supply-detail", GET), ("supply-rejected-rows", GET), ("supply-retry", POST),
        ("supply-withdraw", POST), ("api-supply-detail", GET), ("api-supply-report", GET),
        ("api-supply-withdraw", POST),
    ],
    "extract": [
        ("extract-detail", GET), ("extract-download", GET),
        ("api-extract-detail", GET), ("api-extract-download", GET),
    ],
    "document": [
        ("document-detail", GET), ("document-detail", POST), ("document-download", GET),
        ("document-version-download", GET),
    ],
    "request": [("request-detail", GET), ("request-detail", POST)],
    "foi": [
        ("foi-detail", GET), ("foi-answer", POST), ("foi-release", POST), ("foi-withdraw", POST),
    ],
    "query": [("workspace-open", GET), ("workspace-delete", POST)],
    "user": [("console-user", GET), ("console-user", POST)],
    "profile": [("console-profile", GET), ("console-profile", POST)],
}  # fmt: skip
ID_ARGUMENT = {
    "supply": "supply_id", "extract": "extract_id", "document": "document_id",
    "request": "request_id", "foi": "foi_id", "query": "saved_id", "user": "user_id",
    "profile": "profile_id",
}  # fmt: skip
EXTRA_ARGUMENTS = {"document-version-download": {"number": 1}}
# What a POST carries: enough to do its work, were it let through.
BODIES = {
    "supply-retry": dict,
    "supply-withdraw": lambda: {"reason": "Sent in error"},
    "api-supply-withdraw": lambda: {"reason": "Sent in error"},
    "console-profile": lambda: {"description": "changed", "action": "save"},
    "document-detail": lambda: {"file": owned.named_file("new.pdf", b"%PDF-1.7 new"), "note": "v2"},
    "request-detail": lambda: {"decision": "approve", "reason": "Proportionate."},
    "foi-answer": lambda: {"answer": "agree", "reasons": ""},
    "foi-release": lambda: {"released_on": timezone.localdate().isoformat()},
    "foi-withdraw": dict,
    "workspace-delete": dict,
    "console-user": lambda: {"action": "deactivate"},
}
# Ids that name nothing: a random one of the right type, and, where the route takes any text,
# something that is not an id at all.
MISSING_IDS = {
    "supply": [uuid.uuid4(), "1 OR 1=1"],
    "extract": [uuid.uuid4(), "../../etc/passwd".replace("/", "%2F")],
    "document": [uuid.uuid4()],
    "request": [2**31 - 1, "1 OR 1=1"],
    "foi": [uuid.uuid4()],
    "query": [2**31 - 1],
    "user": [2**31 - 1],
    "profile": [2**31 - 1],
}


@pytest.fixture
def world(personas):
    """Objects of every kind, owned by different personas and agencies of two partnerships;
    each object's marker is the text that must not leave the hub for anyone else."""
    elsewhere = owned.other_partnership()
    police, council = owned.agency(owned.POLICE), owned.agency(owned.COUNCIL)
    wigan = police.partnership
    users = {
        **personas,
        "colleague": owned.member(username="colleague", agency=council, roles=["analyst"]),
        "else_coordinator": elsewhere["coordinator"],
        "else_supplier": elsewhere["supplier"],
        "else_dlo": elsewhere["dlo"],
    }
    objects = {
        "police_supply": owned.supply(
            agency=police, user=users["police_supplier"], dataset="police_crime_offence",
            marker="idor-police-supply",
            status=SupplyStatus.FAILED,
        ),
        "council_supply": owned.supply(
            agency=council, user=users["council_supplier"], dataset="council_asb",
            marker="idor-council-supply",
            status=SupplyStatus.FAILED,
        ),
        "else_supply": owned.supply(
            agency=elsewhere["police"], user=users["else_supplier"],
            dataset="police_crime_offence", marker="idor-else-supply",
            status=SupplyStatus.FAILED,
        ),
        "analyst_extract": owned.extract(
            user=users["analyst"], agency=council, marker="idor-analyst-extract"
        ),
        "associate_extract": owned.extract(
            user=users["associate_analyst"],
            agency=owned.agency("Wigan Town Centre Business Crime Partnership"),
            marker="idor-associate-extract",
        ),
        "police_document": owned.document(
            owner=users["coordinator"], partnership=wigan, marker="idor-police-document",
            agencies=[police],
        ),
        "else_document": owned.document(
            owner=users["else_coordinator"], partnership=elsewhere["partnership"],
            marker="idor-else-document", tiers=["core"],
        ),
        "police_request": owned.data_request(
            analyst=users["analyst"], supplying_agency=police, marker="idor-police-request"
        ),
        "police_foi": owned.foi(
            coordinator=users["coordinator"], originating_agency=police, marker="idor-police-foi"
        ),
        "council_foi": owned.foi(
            coordinator=users["coordinator"], originating_agency=council, marker="idor-council-foi"
        ),
        "else_foi": owned.foi(
            coordinator=users["else_coordinator"], originating_agency=elsewhere["police"],
            marker="idor-else-foi",
        ),
        "private_query": owned.saved_query(
            owner=users["analyst"], marker="idor-private-query", shared=False
        ),
        "shared_query": owned.saved_query(
            owner=users["analyst"], marker="idor-shared-query", shared=True
        ),
        "wigan_user": owned.member(username="idor-wigan-user", agency=council, roles=["analyst"]),
        "else_user": owned.member(
            username="idor-else-user", agency=elsewhere["police"], roles=["analyst"]
        ),
        "wigan_profile": access_profile_ensure(
            partnership=wigan, name="idor-wigan-profile", levels={}, acting_user=None,
            system="test",
        ),
        "else_profile": access_profile_ensure(
            partnership=elsewhere["partnership"], name="idor-else-profile", levels={},
            acting_user=None, system="test",
        ),
    }  # fmt: skip
    return {"users": users, "objects": objects, "elsewhere": elsewhere}


def marker(key: str) -> str:
    return "idor-" + key.replace("_", "-")


def kind(key: str) -> str:
    return key.rsplit("_", 1)[1]


def url(name: str, key_kind: str, object_id) -> str:
    return reverse(name, kwargs={ID_ARGUMENT[key_kind]: object_id, **EXTRA_ARGUMENTS.get(name, {})})


def send(client: Client, method: str, name: str, address: str) -> tuple[int, bytes]:
    """The response's status and body, a streamed one read whole."""
    response = client.get(address) if method == GET else client.post(address, BODIES[name]())
    return response.status_code, body(response)


def body(response) -> bytes:
    """The body read whole; the CSRF token a page carries (masked afresh each time) blanked."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return re.sub(
        rb'name="csrfmiddlewaretoken" value="[^"]*"', b'name="csrfmiddlewaretoken"', content
    )


def snapshot(obj) -> tuple:
    """The object's row and, for a document, its versions: what a refused request must not
    change."""
    row = type(obj).objects.filter(pk=obj.pk).values().get()
    versions = DocumentVersion.objects.filter(document_id=obj.pk).count()
    return row, versions


def clients(users: dict) -> dict[str, Client]:
    signed_in = {}
    for persona in PERSONAS:
        signed_in[persona] = Client()
        owned.login(signed_in[persona], users[persona])
    return signed_in


@pytest.mark.parametrize("key", sorted(SEEN_BY))
def test_an_object_is_404_to_everyone_who_may_not_see_it(world, key):
    obj = world["objects"][key]
    before = snapshot(obj)
    signed_in = clients(world["users"])
    refused = [persona for persona in PERSONAS if persona not in SEEN_BY[key]]
    for name, method in URLS[kind(key)]:
        # Each persona's answers; a page answers in the persona's own navigation.
        bodies = defaultdict(set)
        for persona in refused:
            status, content = send(signed_in[persona], method, name, url(name, kind(key), obj.pk))
            assert status == 404, (name, method, persona)
            assert marker(key).encode() not in content, (name, method, persona)
            bodies[persona].add(content)
        for missing in MISSING_IDS[kind(key)]:
            for persona in SEEN_BY[key] | set(refused):
                address = url(name, kind(key), missing)
                status, content = send(signed_in[persona], method, name, address)
                assert status == 404, (name, method, persona, missing)
                bodies[persona].add(content)
        # "Not yours" and "not there" read the same, so that ids cannot be probed.
        assert all(len(answers) == 1 for answers in bodies.values()), (name, method, bodies)
    assert snapshot(obj) == before


def test_every_id_bearing_url_is_covered():
    """A new URL that takes an object's id must join the table above."""
    from tests.hub.test_url_matrix import ARGS

    with_ids = {
        name for name, arguments in ARGS.items()
        if any(argument.endswith("_id") for argument in arguments)
    }  # fmt: skip
    covered = {name for urls in URLS.values() for name, _ in urls}
    assert with_ids == covered


@pytest.mark.parametrize(
    ("name", "key"),
    [("api-supply-detail", "police_supply"), ("api-supply-report", "council_supply"),
     ("api-extract-detail", "analyst_extract"), ("api-extract-download", "associate_extract")],
)  # fmt: skip
def test_an_api_token_reaches_no_more_than_a_session(world, name, key):
    obj = world["objects"][key]
    for persona in PERSONAS:
        # Accounts that need a second factor get no token at all (tests/hub/test_token_standing.py).
        if persona in SEEN_BY[key] or two_factor_required(user=world["users"][persona]):
            continue
        token = token_issue(user=world["users"][persona], acting_user=None, system="test")
        response = Client().get(
            url(name, kind(key), obj.pk), headers={"authorization": f"Token {token}"}
        )
        assert response.status_code == 404, persona
        assert marker(key).encode() not in body(response), persona


# -- ids in forms and filters -----------------------------------------------------------------


def test_a_supplier_naming_another_partnerships_agency_learns_nothing_of_it(world):
    """An agency id in an upload is answered alike whether the agency is another partnership's
    or does not exist. (One of the supplier's own partnership is refused by name, and audited:
    tests/datasets/test_supply_access.py.)"""
    client = Client()
    owned.login(client, world["users"]["police_supplier"])
    answers = set()
    for agency_id in [world["elsewhere"]["police"].pk, 2**31 - 1]:
        response = client.post(
            "/api/v1/supplies/",
            {
                "file": owned.named_file("october.csv", b"crime_ref\r\nX1\r\n"),
                "dataset": "police_crime_offence",
                "agency": agency_id,
                "period_start": "2026-10-01",
                "period_end": "2026-10-31",
                "supplier_name": "Priya Shah",
                "supplier_contact": "priya.shah@gmp.example",
            },
        )
        assert b"Elsewhere" not in response.content
        answers.add((response.status_code, response.content))
    assert answers == {(400, b'{"agency":["No such agency."]}')}


def test_the_coordinators_forms_take_no_object_of_another_partnership(world):
    """Each form that takes an agency, a profile or a signature by id offers only the
    co-ordinator's own partnership's: naming another partnership's changes nothing."""
    elsewhere = world["elsewhere"]
    other_police = elsewhere["police"]
    other_profile = access_profile_ensure(
        partnership=elsewhere["partnership"], name="Elsewhere analysts", description="",
        levels={}, acting_user=None, system="test",
    )  # fmt: skip
    other_signature = Signature.objects.get(agency=other_police)
    subject = world["objects"]["wigan_user"]
    client = Client()
    owned.login(client, world["users"]["coordinator"])
    today = timezone.localdate().isoformat()
    before = AuditEntry.objects.count()

    posts = [
        (f"/governance/users/{subject.pk}/",
         {"action": "roles", "agency": other_police.pk, "roles": ["analyst"]}),
        (f"/governance/users/{subject.pk}/",
         {"action": "profiles", "profiles": [other_profile.pk]}),
        ("/governance/users/", {"agency": other_police.pk, "email": "x@example.invalid",
                                "first_name": "X", "last_name": "Y", "roles": ["analyst"]}),
        ("/governance/isp/", {"action": "withdraw", "signature": other_signature.pk}),
        ("/governance/schedule/", {"agency": other_police.pk, "dataset": "police_crime_offence",
                                   "frequency": "monthly", "due_day": 10}),
        ("/foi/new/", {"reference": "FOI-X", "received_on": today, "requester": "A journalist",
                       "request_text": "Counts", "originating_agency": other_police.pk}),
    ]  # fmt: skip
    for address, data in posts:
        response = client.post(address, data)
        assert response.status_code in (200, 302), address
        assert b"Elsewhere" not in body(response), address

    assert not Membership.objects.filter(user=subject, agency=other_police).exists()
    assert not other_profile.users.filter(pk=subject.pk).exists()
    assert not User.objects.filter(email="x@example.invalid").exists()
    assert Signature.objects.get(pk=other_signature.pk).withdrawn_on is None
    assert not SupplySchedule.objects.filter(agency=other_police).exists()
    assert not FoiRequest.objects.filter(reference="FOI-X").exists()
    assert AuditEntry.objects.count() == before


def test_an_analyst_cannot_ask_another_partnerships_agency_for_personal_data(world):
    client = Client()
    owned.login(client, world["users"]["analyst"])
    response = client.post(
        "/requests/new/ppo/",
        {
            "supplying_agency": world["elsewhere"]["police"].pk,
            "purpose": "Offender management",
            "legal_basis": "cda_s115",
            "records_needed": "All",
            "period_start": "2026-10-01",
            "period_end": "2026-10-31",
            "days_needed": 30,
        },
    )
    assert response.status_code == 200
    assert b"Elsewhere" not in response.content
    assert not PersonalDataRequest.objects.filter(supplying_agency=world["elsewhere"]["police"])


def test_a_filter_naming_another_partnerships_agency_shows_nothing_of_it(world):
    client = Client()
    owned.login(client, world["users"]["coordinator"])
    agency_id = world["elsewhere"]["police"].pk
    for address in ("/governance/quality/", "/governance/audit/", "/governance/audit/export.csv"):
        response = client.get(address, {"agency": agency_id})
        content = body(response)
        assert b"Elsewhere" not in content and b"else_" not in content, address


WIGAN_STAFF, ELSEWHERE_STAFF = {"analyst", "police_supplier"}, {"else_supplier", "else_coordinator"}


@pytest.mark.parametrize(
    ("persona", "own", "other"),
    [
        ("coordinator", WIGAN_STAFF, ELSEWHERE_STAFF),
        ("dlo_police", WIGAN_STAFF, ELSEWHERE_STAFF),
        ("else_coordinator", ELSEWHERE_STAFF, WIGAN_STAFF),
        ("else_dlo", ELSEWHERE_STAFF, WIGAN_STAFF),
    ],
)
def test_the_audit_trail_shows_nothing_of_another_partnership(world, persona, own, other):
    """Each partnership's co-ordinator and DLOs read its own trail only, even where the other
    partnership's staff handled a dataset that their agency also supplies."""
    for username in own | other:
        client = Client()
        owned.login(client, world["users"][username])
        # Audited with the dataset but no agency, as a template download is.
        assert client.get("/catalogue/police_crime_offence/template.csv").status_code == 200
    client = Client()
    owned.login(client, world["users"][persona])
    export = b"".join(client.get("/governance/audit/export.csv").streaming_content).decode()
    who = {row.split(",")[1] for row in export.splitlines()[1:]}
    assert own <= who
    assert not other & who
