"""FOI consultation: the originating agency's DLO is told, only they answer, and nothing is
released before they have, nor over their objection without an acknowledged reason."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hub.choices import Role
from hub.models import Agency, AuditEntry, User
from hub.services import membership_grant
from sharing.models import FoiRequest
from sharing.services.foi import FoiRefused, foi_answer, foi_record, foi_release
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

POLICE = "Greater Manchester Police (Wigan)"
COUNCIL = "Wigan Council"
PERSONAS = [
    "coordinator", "dlo_police", "analyst", "associate_analyst", "lapsed_analyst",
    "police_supplier", "council_supplier", "health_supplier", "outsider",
]  # fmt: skip


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def record(personas, *, agency=POLICE, reference="FOI-2026-0143", datasets=()):
    return foi_record(
        acting_user=personas["coordinator"],
        reference=reference,
        received_on=timezone.localdate() - datetime.timedelta(days=3),
        requester="A journalist",
        request_text="The number of burglaries in each WN postcode district in 2025.",
        originating_agency=Agency.objects.get(name=agency),
        datasets=datasets,
    )


@pytest.fixture
def police_foi(personas):
    return record(personas)


def answer(client, user, foi, choice, reasons=""):
    sign_in(client, user)
    return client.post(f"/foi/{foi.pk}/answer", {"answer": choice, "reasons": reasons})


def release(client, user, foi, **extra):
    sign_in(client, user)
    data = {"released_on": timezone.localdate().isoformat(), **extra}
    return client.post(f"/foi/{foi.pk}/release", data)


def refresh(foi) -> FoiRequest:
    return FoiRequest.objects.get(pk=foi.pk)


# -- recording and notifying ------------------------------------------------------------------


def test_the_coordinator_records_a_request_and_the_dlo_is_emailed(
    client, personas, django_capture_on_commit_callbacks
):
    sign_in(client, personas["coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/foi/new/",
            {
                "reference": "FOI-2026-0143",
                "received_on": (timezone.localdate() - datetime.timedelta(days=2)).isoformat(),
                "requester": "A member of the public",
                "request_text": "Burglaries per postcode district, 2025.",
                "originating_agency": Agency.objects.get(name=POLICE).pk,
                "datasets": ["police_crime_offence"],
            },
        )

    foi = FoiRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/foi/{foi.pk}/"
    assert foi.status == "consulting" and foi.recorded_by == personas["coordinator"]
    assert [dataset.slug for dataset in foi.datasets.all()] == ["police_crime_offence"]
    (message,) = mail.outbox
    assert message.to == ["dlo_police@demo.invalid"]
    assert "FOI-2026-0143" in message.subject
    assert f"/foi/{foi.pk}/" in message.body
    assert "Burglaries per postcode" not in message.body  # the details stay in the hub
    entry = AuditEntry.objects.get(action="foi_recorded")
    assert entry.actor == personas["coordinator"] and entry.agency.name == POLICE
    assert entry.detail["notified"] == ["dlo_police"]


def test_the_form_asks_for_no_personal_details_of_the_requester(client, personas):
    sign_in(client, personas["coordinator"])
    assert "No name or contact details" in client.get("/foi/new/").content.decode()


def test_an_agency_without_a_dlo_is_recorded_with_a_warning(
    client, personas, django_capture_on_commit_callbacks
):
    sign_in(client, personas["coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/foi/new/",
            {
                "reference": "FOI-7",
                "received_on": timezone.localdate().isoformat(),
                "requester": "A councillor",
                "request_text": "Fly-tipping reports.",
                "originating_agency": Agency.objects.get(name=COUNCIL).pk,
            },
            follow=True,
        )
    assert "has no DLO with an e-mail address" in response.content.decode()
    assert mail.outbox == []
    assert AuditEntry.objects.get(action="foi_recorded").detail["notified"] == []


def test_a_reference_is_recorded_once(client, personas, police_foi):
    sign_in(client, personas["coordinator"])
    response = client.post(
        "/foi/new/",
        {
            "reference": police_foi.reference,
            "received_on": timezone.localdate().isoformat(),
            "requester": "A journalist",
            "request_text": "Again.",
            "originating_agency": Agency.objects.get(name=POLICE).pk,
        },
    )
    assert response.status_code == 200
    assert "is already recorded" in response.content.decode()
    assert FoiRequest.objects.count() == 1


def test_a_request_received_in_the_future_is_refused(client, personas):
    sign_in(client, personas["coordinator"])
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post("/foi/new/", {
        "reference": "FOI-8", "received_on": tomorrow.isoformat(), "requester": "Someone",
        "request_text": "x", "originating_agency": Agency.objects.get(name=POLICE).pk,
    })  # fmt: skip
    assert "cannot have been received in the future" in response.content.decode()
    assert not FoiRequest.objects.exists()


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "coordinator"])
def test_nobody_else_records_a_request(client, personas, persona):
    sign_in(client, personas[persona])
    assert client.get("/foi/new/").status_code == 404
    response = client.post("/foi/new/", {"reference": "X", "requester": "Y"})
    assert response.status_code == 404
    with pytest.raises(FoiRefused):
        foi_record(
            acting_user=personas[persona],
            reference="X",
            received_on=timezone.localdate(),
            requester="Y",
            request_text="Z",
            originating_agency=Agency.objects.get(name=POLICE),
        )
    assert not FoiRequest.objects.exists()


# -- answering --------------------------------------------------------------------------------


def test_the_originating_dlo_answers_and_the_coordinator_is_told(
    client, personas, police_foi, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = answer(
            client, personas["dlo_police"], police_foi, "agree_redacted", "Remove WN7: one case."
        )

    foi = refresh(police_foi)
    assert response.status_code == 302
    assert foi.status == "answered" and foi.answer == "agree_redacted"
    assert foi.answer_reasons == "Remove WN7: one case."
    assert foi.answered_by == personas["dlo_police"] and foi.answered_at is not None
    (message,) = mail.outbox
    assert message.to == ["coordinator@demo.invalid"]
    entry = AuditEntry.objects.get(action="foi_answered")
    assert entry.actor == personas["dlo_police"] and entry.detail["answer"] == "agree_redacted"


@pytest.mark.parametrize("choice", ["agree_redacted", "object"])
def test_redactions_and_objections_need_reasons(client, personas, police_foi, choice):
    response = answer(client, personas["dlo_police"], police_foi, choice, "  ")
    assert response.status_code == 200
    assert "Say which redactions are needed, or why you object." in response.content.decode()
    assert refresh(police_foi).status == "consulting"


def test_the_dlo_may_change_their_answer_until_release(client, personas, police_foi):
    answer(client, personas["dlo_police"], police_foi, "agree")
    answer(client, personas["dlo_police"], police_foi, "object", "An investigation is live.")

    assert refresh(police_foi).answer == "object"
    changed = AuditEntry.objects.filter(action="foi_answered").order_by("id").last()
    assert changed.detail["previous"] == "agree"


def test_only_the_originating_agencys_dlo_may_answer(client, personas, police_foi):
    council_dlo = User.objects.create_user("dlo_council", email="dlo_council@demo.invalid")
    membership_grant(
        user=council_dlo,
        agency=Agency.objects.get(name=COUNCIL),
        roles=[Role.DLO],
        acting_user=None,
    )
    for user in [council_dlo, personas["coordinator"], personas["analyst"]]:
        assert answer(client, user, police_foi, "agree").status_code == 404, user
    with pytest.raises(FoiRefused):
        foi_answer(acting_user=council_dlo, foi=police_foi, answer="agree", reasons="")
    assert refresh(police_foi).status == "consulting"
    assert AuditEntry.objects.get(action="foi_answer_refused").actor == council_dlo


# -- releasing --------------------------------------------------------------------------------


def test_release_is_refused_before_the_dlo_has_answered(client, personas, police_foi):
    response = release(client, personas["coordinator"], police_foi)

    assert response.status_code == 200
    assert "has not answered yet" in response.content.decode()
    assert refresh(police_foi).status == "consulting"
    refusal = AuditEntry.objects.get(action="foi_release_refused")
    assert refusal.actor == personas["coordinator"]
    assert "has not answered yet" in refusal.detail["reason"]


def test_release_after_agreement_is_recorded(client, personas, police_foi):
    answer(client, personas["dlo_police"], police_foi, "agree")
    response = release(client, personas["coordinator"], police_foi)

    foi = refresh(police_foi)
    assert response.status_code == 302
    assert foi.status == "released" and foi.released_on == timezone.localdate()
    assert foi.released_by == personas["coordinator"]
    assert foi.release_over_objection_reason == ""
    entry = AuditEntry.objects.get(action="foi_released")
    assert entry.detail["over_objection"] is False


def test_release_over_an_objection_needs_the_acknowledgement_and_a_reason(
    client, personas, police_foi
):
    answer(client, personas["dlo_police"], police_foi, "object", "It would identify a victim.")
    sign_in(client, personas["coordinator"])
    page = client.get(f"/foi/{police_foi.pk}/").content.decode()
    assert "objected to this release" in page and 'name="objection_acknowledged"' in page
    assert f'value="{timezone.localdate().isoformat()}"' in page  # what a date input reads

    unticked = release(client, personas["coordinator"], police_foi, objection_reason="Public.")
    no_reason = release(client, personas["coordinator"], police_foi, objection_acknowledged="on")

    assert unticked.status_code == no_reason.status_code == 200
    assert "Tick this to release over the objection." in unticked.content.decode()
    assert "Say why the partnership releases regardless." in no_reason.content.decode()
    assert refresh(police_foi).status == "answered"
    with pytest.raises(FoiRefused, match="tick that you acknowledge the objection"):
        foi_release(
            acting_user=personas["coordinator"],
            foi=police_foi,
            released_on=timezone.localdate(),
            objection_reason="Public interest.",
        )
    assert AuditEntry.objects.filter(action="foi_release_refused").count() == 1

    response = release(
        client,
        personas["coordinator"],
        police_foi,
        objection_acknowledged="on",
        objection_reason="The Information Commissioner ordered disclosure.",
    )
    foi = refresh(police_foi)
    assert response.status_code == 302 and foi.status == "released"
    assert foi.release_over_objection_reason == "The Information Commissioner ordered disclosure."
    entry = AuditEntry.objects.get(action="foi_released")
    assert entry.detail["over_objection"] is True
    assert entry.detail["objection_reason"] == foi.release_over_objection_reason


def test_an_objection_made_after_the_page_was_read_still_stops_the_release(personas, police_foi):
    foi_answer(acting_user=personas["dlo_police"], foi=police_foi, answer="agree", reasons="")
    stale = refresh(police_foi)
    foi_answer(acting_user=personas["dlo_police"], foi=police_foi, answer="object", reasons="Live.")

    with pytest.raises(FoiRefused, match="objected"):
        foi_release(
            acting_user=personas["coordinator"], foi=stale, released_on=timezone.localdate()
        )


@pytest.mark.parametrize("persona", ["dlo_police", "analyst", "outsider"])
def test_only_the_coordinator_releases(client, personas, police_foi, persona):
    answer(client, personas["dlo_police"], police_foi, "agree")
    assert release(client, personas[persona], police_foi).status_code == 404
    assert refresh(police_foi).status == "answered"


@pytest.mark.parametrize("persona", ["dlo_police", "analyst", "outsider"])
def test_only_the_coordinator_withdraws(client, personas, police_foi, persona):
    sign_in(client, personas[persona])
    assert client.post(f"/foi/{police_foi.pk}/withdraw").status_code == 404
    assert refresh(police_foi).status == "consulting"


def test_a_released_request_takes_no_further_answer_or_release(client, personas, police_foi):
    answer(client, personas["dlo_police"], police_foi, "agree")
    release(client, personas["coordinator"], police_foi)

    again = release(client, personas["coordinator"], police_foi)
    late = answer(client, personas["dlo_police"], police_foi, "object", "Too late.")

    assert "already released" in again.content.decode()
    assert "it takes no answer now" in late.content.decode()
    assert refresh(police_foi).answer == "agree"


def test_a_withdrawn_request_cannot_be_released(client, personas, police_foi):
    sign_in(client, personas["coordinator"])
    assert client.post(f"/foi/{police_foi.pk}/withdraw").status_code == 302
    assert refresh(police_foi).status == "withdrawn"
    assert AuditEntry.objects.get(action="foi_withdrawn").actor == personas["coordinator"]

    assert (
        "already withdrawn" in release(client, personas["coordinator"], police_foi).content.decode()
    )


def test_every_step_is_on_the_record_and_on_the_page(client, personas, police_foi):
    answer(client, personas["dlo_police"], police_foi, "agree")
    release(client, personas["coordinator"], police_foi)

    steps = AuditEntry.objects.filter(object_id=str(police_foi.pk)).order_by("id")
    assert [(entry.action, entry.actor_username) for entry in steps] == [
        ("foi_recorded", "coordinator"),
        ("foi_answered", "dlo_police"),
        ("foi_released", "coordinator"),
    ]
    sign_in(client, personas["dlo_police"])
    page = client.get(f"/foi/{police_foi.pk}/").content.decode()
    assert "Answered by the originating agency" in page and "Release recorded" in page


# -- who sees which page ----------------------------------------------------------------------

# (persona, page) → status, for a request about the police's information. Written out.
PAGES = {
    "coordinator": {"list": 200, "new": 200, "detail": 200},
    "dlo_police": {"list": 200, "new": 404, "detail": 200},
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_foi_permission_matrix(client, personas, police_foi, persona):
    expected = PAGES.get(persona, {"list": 404, "new": 404, "detail": 404})
    sign_in(client, personas[persona])

    assert client.get("/foi/").status_code == expected["list"]
    assert client.get("/foi/new/").status_code == expected["new"]
    assert client.get(f"/foi/{police_foi.pk}/").status_code == expected["detail"]


def test_a_dlo_sees_only_requests_about_their_agencys_information(client, personas, police_foi):
    council_foi = record(personas, agency=COUNCIL, reference="FOI-COUNCIL-1")
    sign_in(client, personas["dlo_police"])

    listing = client.get("/foi/").content.decode()

    assert police_foi.reference in listing and council_foi.reference not in listing
    assert client.get(f"/foi/{council_foi.pk}/").status_code == 404


def test_the_answer_form_is_for_the_dlo_and_the_release_form_for_the_coordinator(
    client, personas, police_foi
):
    sign_in(client, personas["dlo_police"])
    dlo_page = client.get(f"/foi/{police_foi.pk}/").content.decode()
    sign_in(client, personas["coordinator"])
    coordinator_page = client.get(f"/foi/{police_foi.pk}/").content.decode()

    assert 'name="answer"' in dlo_page and 'name="released_on"' not in dlo_page
    assert 'name="answer"' not in coordinator_page
    assert "withdraw" in coordinator_page


def test_the_list_costs_the_same_queries_for_one_request_or_many(client, personas, police_foi):
    sign_in(client, personas["dlo_police"])
    with CaptureQueriesContext(connection) as one:
        client.get("/foi/")
    for number in range(5):
        record(personas, reference=f"FOI-MORE-{number}")
    with CaptureQueriesContext(connection) as six:
        page = client.get("/foi/").content.decode()

    assert "FOI-MORE-4" in page
    assert len(six.captured_queries) == len(one.captured_queries)


def test_a_missing_request_is_the_same_404(client, personas):
    sign_in(client, personas["coordinator"])
    assert client.get("/foi/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/foi/not-a-request/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, police_foi):
    response = client.get(f"/foi/{police_foi.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]
