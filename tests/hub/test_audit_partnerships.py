"""Every audit entry belongs to one partnership, or to the hub: a co-ordinator reads their own
partnership's entries only, whoever acted, and reading the trail is itself audited."""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.oath import TOTP

from hub.models import AuditEntry, User
from hub.services import (
    membership_grant,
    token_issue,
    two_factor_enrol,
    two_factor_enrolment_start,
)
from sharing.services.isp import isp_ensure
from sharing.services.profiles import access_profile_assign, access_profile_ensure
from tests.hub import owned

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(personas):
    """The demo partnership (Wigan) with a user of its own, and a second partnership."""
    elsewhere = owned.other_partnership()
    council = owned.agency(owned.COUNCIL)
    return {
        "wigan": council.partnership,
        "council": council,
        "elsewhere": elsewhere,
        "coordinator": personas["coordinator"],
        "else_coordinator": elsewhere["coordinator"],
        "subject": owned.member(username="wigan_marker_user", agency=council, roles=["analyst"]),
    }


def export(reader: User, **filters) -> list[dict]:
    client = Client()
    owned.login(client, reader)
    response = client.get("/governance/audit/export.csv", filters)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def page(reader: User, **filters) -> str:
    client = Client()
    owned.login(client, reader)
    response = client.get("/governance/audit/", filters)
    assert response.status_code == 200
    return response.content.decode()


def actions_about(rows: list[dict], marker: str) -> set[str]:
    return {row["action"] for row in rows if marker in row["detail"] + row["who"]}


def wigan_business(two) -> None:
    """Entries of Wigan's with no agency, made as the hub's own processes and people make
    them: a token issued from the command line, a profile defined and given, the ISP
    adopted, an authenticator set up."""
    subject, wigan = two["subject"], two["wigan"]
    call_command("issue_token", subject.username, stdout=io.StringIO())
    profile = access_profile_ensure(
        partnership=wigan, name="wigan-marker profile", levels={}, acting_user=None, system="test"
    )
    access_profile_assign(profile=profile, holder=subject, acting_user=None, system="test")
    isp_ensure(
        partnership=wigan, version="wigan-marker-isp", adopted_on=datetime.date(2026, 4, 1),
        review_due=datetime.date(2027, 4, 1), acting_user=None, system="test",
    )  # fmt: skip
    device = two_factor_enrolment_start(user=subject)
    assert two_factor_enrol(user=subject, device=device, code=f"{TOTP(device.bin_key).token():06d}")


WIGAN_ACTIONS = {
    "membership_changed", "token_issued", "access_profile_changed", "access_profile_assigned",
    "isp_adopted", "two_factor_enrolled", "backup_codes_issued",
}  # fmt: skip


def test_another_partnerships_coordinator_reads_none_of_its_entries(two):
    wigan_business(two)
    token_issue(user=two["elsewhere"]["supplier"], acting_user=None, system="issue_token")

    ours = export(two["coordinator"])
    assert actions_about(ours, "wigan_marker_user") | actions_about(ours, "wigan-marker") == (
        WIGAN_ACTIONS
    )
    assert not actions_about(ours, "else_supplier")

    theirs = export(two["else_coordinator"])
    assert not actions_about(theirs, "wigan_marker_user")
    assert not actions_about(theirs, "wigan-marker")
    assert actions_about(theirs, "else_supplier") >= {"token_issued"}
    assert "wigan-marker" not in page(two["else_coordinator"])
    assert "wigan_marker_user" not in page(two["else_coordinator"])


def test_a_coordinator_reads_nothing_hub_wide_and_staff_do(two):
    staff = User.objects.create_user("hub_staff", is_staff=True)
    assert "catalogue_sync" not in {row["action"] for row in export(two["coordinator"])}
    seen = export(staff)
    assert "catalogue_sync" in {row["action"] for row in seen}
    assert not actions_about(seen, "wigan_marker_user")


def test_what_someone_of_both_partnerships_does_for_one_is_that_ones_only(two):
    """A member of both partnerships adopts Wigan's ISP: its entry is Wigan's, not shown to
    the other partnership's co-ordinator for being done by one of its members."""
    both = two["subject"]
    membership_grant(user=both, agency=two["elsewhere"]["police"], roles=["analyst"],
                     acting_user=None, system="test")  # fmt: skip
    isp_ensure(
        partnership=two["wigan"], version="wigan-marker-isp", adopted_on=datetime.date(2026, 4, 1),
        review_due=datetime.date(2027, 4, 1), acting_user=both,
    )  # fmt: skip
    assert "isp_adopted" in actions_about(export(two["coordinator"]), "wigan-marker")
    assert "isp_adopted" not in actions_about(export(two["else_coordinator"]), "wigan-marker")


def test_an_event_about_a_user_of_both_partnerships_is_recorded_for_each(two):
    both = two["subject"]
    membership_grant(user=both, agency=two["elsewhere"]["police"], roles=["analyst"],
                     acting_user=None, system="test")  # fmt: skip
    token_issue(user=both, acting_user=None, system="issue_token")

    entries = AuditEntry.objects.filter(action="token_issued", object_id=str(both.pk))
    assert sorted(entry.partnership_id for entry in entries) == sorted(
        [two["wigan"].pk, two["elsewhere"]["partnership"].pk]
    )
    for coordinator in (two["coordinator"], two["else_coordinator"]):
        assert "token_issued" in actions_about(export(coordinator), "wigan_marker_user")


def test_an_event_about_a_user_of_no_partnership_is_hub_wide():
    loner = User.objects.create_user("loner")
    token_issue(user=loner, acting_user=None, system="issue_token")
    assert AuditEntry.objects.get(action="token_issued").partnership_id is None


def test_reading_the_trail_is_audited_with_the_filters_and_rows(two):
    wigan_business(two)
    coordinator = two["coordinator"]
    shown = page(coordinator, action="token")
    read = AuditEntry.objects.filter(action="audit_viewed").get()
    assert (read.actor, read.partnership) == (coordinator, two["wigan"])
    assert read.detail["filters"] == {"action": "token"}
    assert read.detail["rows"] == shown.count("<code>token_issued</code>") == 1

    rows = export(coordinator, dataset="none-such", user="clare")
    exported = AuditEntry.objects.filter(action="audit_exported").get()
    assert exported.detail == {"filters": {"user": "clare", "dataset": "none-such"}, "rows": 0}
    assert rows == []
    rows = export(coordinator)
    assert AuditEntry.objects.filter(action="audit_exported").latest("id").detail["rows"] == len(
        rows
    )
    # The reading is the partnership's business, not the other's.
    assert "audit_exported" not in {row["action"] for row in export(two["else_coordinator"])}


def test_a_refused_reading_of_the_trail_is_audited_once(two, personas):
    supplier = personas["police_supplier"]
    client = Client()
    owned.login(client, supplier)
    before = AuditEntry.objects.count()
    assert client.get("/governance/audit/export.csv", {"user": "x"}).status_code == 404

    assert AuditEntry.objects.count() == before + 1
    refused = AuditEntry.objects.latest("id")
    assert (refused.action, refused.actor, refused.partnership) == (
        "access_refused", supplier, two["wigan"],
    )  # fmt: skip
    assert refused.detail["route"] == "audit_export"
    assert "access_refused" in actions_about(export(two["coordinator"]), "police_supplier")
