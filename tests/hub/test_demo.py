import datetime

import pytest
from django.core.management import call_command

from hub.access import agency_standing, agency_tier
from hub.choices import IspTier
from hub.demo import DEMO_PERSONAS, demo_load, demo_password
from hub.models import Agency, AuditEntry, InformationSharingProtocol, Membership, Signature, User

pytestmark = pytest.mark.django_db


def test_loading_the_demo_twice_creates_nothing_new():
    demo_load()
    counts = (
        User.objects.count(),
        Agency.objects.count(),
        Membership.objects.count(),
        Signature.objects.count(),
        InformationSharingProtocol.objects.count(),
    )
    changes = AuditEntry.objects.exclude(action="demo_loaded").count()

    demo_load()

    assert counts == (
        User.objects.count(),
        Agency.objects.count(),
        Membership.objects.count(),
        Signature.objects.count(),
        InformationSharingProtocol.objects.count(),
    )
    assert AuditEntry.objects.exclude(action="demo_loaded").count() == changes


def test_the_demo_has_every_persona_of_the_operations_contract():
    demo_load()
    expected = {
        "police_supplier",
        "council_supplier",
        "health_supplier",
        "analyst",
        "associate_analyst",
        "dlo_police",
        "coordinator",
        "outsider",
    }
    assert expected <= set(User.objects.values_list("username", flat=True))
    assert not Membership.objects.filter(user__username="outsider").exists()
    police = Agency.objects.get(memberships__user__username="dlo_police")
    assert police.designated_liaison_officer.username == "dlo_police"


def test_demo_agencies_hold_both_tiers_and_a_withdrawn_one_holds_none():
    demo_load()
    tier = {agency.name: agency_tier(agency=agency) for agency in Agency.objects.all()}
    assert tier["Greater Manchester Police (Wigan)"] == IspTier.CORE
    assert tier["Wigan Town Centre Business Crime Partnership"] == IspTier.ASSOCIATE
    assert tier["Leigh Neighbourhood Watch"] == IspTier.NONE
    assert tier["Environment Agency (North West)"] == IspTier.NONE


def test_every_signature_lapses_when_the_isp_passes_its_review_date():
    demo_load()
    police = Agency.objects.get(name="Greater Manchester Police (Wigan)")
    isp = InformationSharingProtocol.objects.get()
    assert agency_tier(agency=police, on=isp.review_due) == IspTier.CORE
    assert (
        agency_tier(agency=police, on=isp.review_due + datetime.timedelta(days=1)) == IspTier.NONE
    )


def test_passwords_are_printed_and_work_only_in_demo_mode(settings, capsys, client):
    settings.DEMO = False
    call_command("load_demo")
    out = capsys.readouterr().out
    assert demo_password("analyst") not in out
    assert not User.objects.get(username="analyst").has_usable_password()

    settings.DEMO = True
    call_command("load_demo")
    out = capsys.readouterr().out
    for username, *_ in DEMO_PERSONAS:
        assert f"{username} " in out
        assert demo_password(username) in out
    signed_in = client.post(
        "/login/", {"username": "analyst", "password": demo_password("analyst")}
    )
    assert signed_in.status_code == 302


def test_demo_passwords_differ_between_hubs(settings):
    first = demo_password("analyst")
    settings.SECRET_KEY = "another-hub-" + "y" * 40
    assert demo_password("analyst") != first


def test_the_standing_explains_a_lapse_at_review():
    demo_load()
    police = Agency.objects.get(name="Greater Manchester Police (Wigan)")
    isp = InformationSharingProtocol.objects.get()
    standing = agency_standing(agency=police, on=isp.review_due + datetime.timedelta(days=1))
    assert standing.tier == IspTier.NONE
    assert "every signature has lapsed" in standing.reason
