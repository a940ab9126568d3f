"""The co-ordinator oversees every personal-data request made in their partnership; the
supplying agency still decides."""

from __future__ import annotations

import pytest

from hub.choices import Role
from hub.models import AuditEntry, User
from hub.services import membership_grant
from sharing.choices import RequestStatus
from tests.conftest import sign_in
from tests.hub import owned

pytestmark = pytest.mark.django_db


def test_the_coordinator_sees_every_request_of_the_partnership_but_decides_none(client, personas):
    police = owned.agency(owned.POLICE)
    first = owned.data_request(analyst=personas["analyst"], supplying_agency=police, marker="a")
    colleague = User.objects.create_user("cara", first_name="Cara", last_name="Jones")
    membership_grant(user=colleague, agency=owned.agency(owned.COUNCIL), roles=[Role.ANALYST],
                     acting_user=None, system="test")  # fmt: skip
    second = owned.data_request(analyst=colleague, supplying_agency=police, marker="b")
    sign_in(client, personas["coordinator"])

    listed = client.get("/requests/").content.decode()

    assert "Amir Hussain" in listed and "Cara Jones" in listed
    assert client.get(f"/requests/{first.pk}/").status_code == 200
    client.post(f"/requests/{second.pk}/", {"decision": "approve", "reason": "Looks fine"})
    second.refresh_from_db()
    assert second.status == RequestStatus.PENDING
    assert AuditEntry.objects.filter(
        action="data_request_decision_refused", actor=personas["coordinator"]
    ).exists()


def test_nobody_else_sees_another_analysts_request(client, personas):
    police = owned.agency(owned.POLICE)
    owned.data_request(analyst=personas["analyst"], supplying_agency=police, marker="c")
    for persona in ("associate_analyst", "council_supplier", "police_supplier"):
        sign_in(client, personas[persona])
        assert "Amir Hussain" not in client.get("/requests/").content.decode(), persona
