"""Who may supply, and who may see a supply: every refusal is tested and audited."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from datasets.models import Supply
from datasets.services.retention import raw_files_purge
from hub.choices import Role
from hub.models import Agency, AuditEntry
from hub.services import membership_grant
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

CSV = b"crime_ref,ho_offence_code,committed_from_date\r\nCR1,028/01,01/10/2026\r\n"


def post_supply(client, user, *, dataset="police_crime_offence", content=CSV, **extra):
    client.force_authenticate(user)
    upload = io.BytesIO(content)
    upload.name = "october.csv"
    data = {
        "file": upload,
        "dataset": dataset,
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "supplier_name": "A Supplier",
        "supplier_contact": "supplier@example.invalid",
        **extra,
    }
    return client.post("/api/v1/supplies/", data, format="multipart")


def raw_files() -> set[Path]:
    folder = Path(settings.HUB_FILES_DIR) / "raw"
    return set(folder.glob("*.enc")) if folder.exists() else set()


def test_a_supplier_uploads_their_agencys_dataset(api_client, personas):
    before = raw_files()
    response = post_supply(api_client, personas["police_supplier"], declared_record_count=1)

    assert response.status_code == 201
    supply = Supply.objects.get(pk=response.json()["id"])
    assert response.json()["status"] == "queued"
    assert supply.agency.name == "Greater Manchester Police (Wigan)"
    (new_file,) = raw_files() - before
    assert CSV not in new_file.read_bytes()  # stored encrypted
    assert supply.raw_path == str(new_file)
    entry = AuditEntry.objects.get(action="supply_uploaded")
    assert entry.object_id == str(supply.pk) and entry.detail["bytes"] == len(CSV)


@pytest.mark.parametrize(
    ("username", "dataset", "message"),
    [
        ("analyst", "police_crime_offence", "not a supplier for any agency"),
        ("outsider", "police_crime_offence", "not a supplier for any agency"),
        ("dlo_police", "police_crime_offence", "not a supplier for any agency"),
        ("council_supplier", "police_crime_offence", "does not supply"),
        ("police_supplier", "ae_assault", "does not supply"),
    ],
)
def test_the_wrong_supplier_is_refused_and_nothing_is_kept(
    api_client, personas, username, dataset, message
):
    before = raw_files()
    response = post_supply(api_client, personas[username], dataset=dataset)

    assert response.status_code == 403
    assert message in response.json()["detail"]
    assert not Supply.objects.exists()
    assert raw_files() == before


def test_a_supplier_at_a_withdrawn_signatory_is_refused_and_told_why(api_client, personas):
    withdrawn = Agency.objects.get(name="Leigh Neighbourhood Watch")
    user = personas["lapsed_analyst"]
    membership_grant(user=user, agency=withdrawn, roles=[Role.SUPPLIER], acting_user=None)
    withdrawn.agency_type = "local_authority"  # so that only the signature stands in the way
    withdrawn.save()

    response = post_supply(api_client, user)

    assert response.status_code == 403
    assert "withdrew from ISP" in response.json()["detail"]
    refusal = AuditEntry.objects.get(action="supply_refused")
    assert refusal.actor_username == "lapsed_analyst"


def test_an_anonymous_upload_is_refused(api_client, personas):
    upload = io.BytesIO(CSV)
    upload.name = "x.csv"
    response = api_client.post("/api/v1/supplies/", {"file": upload}, format="multipart")
    assert response.status_code == 401


def test_bad_metadata_is_a_400_naming_the_field_and_the_upload_is_discarded(api_client, personas):
    before = raw_files()
    response = post_supply(api_client, personas["police_supplier"], period_start="01/10/2026")
    assert response.status_code == 400
    assert "period_start" in response.json()
    assert raw_files() == before


def test_a_file_of_another_format_is_refused(api_client, personas):
    api_client.force_authenticate(personas["police_supplier"])
    upload = io.BytesIO(b"%PDF-1.4")
    upload.name = "crimes.pdf"
    response = api_client.post(
        "/api/v1/supplies/",
        {"file": upload, "dataset": "police_crime_offence", "period_start": "2026-10-01",
         "period_end": "2026-10-31", "supplier_name": "x", "supplier_contact": "y"},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 403
    assert "is not a CSV" in response.json()["detail"]


def test_a_file_over_the_limit_is_refused_with_the_limit_and_not_kept(
    api_client, personas, settings
):
    settings.HUB_MAX_UPLOAD_BYTES = 1024 * 1024
    before = raw_files()
    response = post_supply(
        api_client, personas["police_supplier"], content=b"x" * (2 * 1024 * 1024)
    )
    assert response.status_code == 413
    assert "larger than the 1 MB limit" in response.json()["detail"]
    assert raw_files() == before


@pytest.mark.parametrize(
    ("username", "visible"),
    [
        ("police_supplier", True),
        ("dlo_police", True),
        ("coordinator", True),
        ("council_supplier", False),
        ("health_supplier", False),
        ("analyst", False),
        ("associate_analyst", False),
        ("lapsed_analyst", False),
        ("outsider", False),
    ],
)
def test_a_supply_is_seen_by_its_agency_and_the_coordinator_only(
    api_client, client, personas, username, visible
):
    supply_id = post_supply(api_client, personas["police_supplier"]).json()["id"]
    api_client.force_authenticate(personas[username])
    sign_in(client, personas[username])

    urls = [f"/api/v1/supplies/{supply_id}/", f"/api/v1/supplies/{supply_id}/report/"]
    for url in urls:
        assert api_client.get(url).status_code == (200 if visible else 404), url
    assert client.get(f"/supplies/{supply_id}/").status_code == (200 if visible else 404)
    listed = [s["id"] for s in api_client.get("/api/v1/supplies/").json()]
    assert (supply_id in listed) is visible
    # Each refused look at another agency's supply is audited by the gate, once per route.
    refused = AuditEntry.objects.filter(action="access_refused", object_id=supply_id)
    expected = [] if visible else ["supply API", "supply page", "supply report API"]
    assert sorted(refused.values_list("detail__route", flat=True)) == expected


def test_another_agencys_rejected_rows_are_refused_and_audited(client, personas):
    from tests.hub.owned import agency, supply

    theirs = supply(agency=agency("Greater Manchester Police (Wigan)"),
                    user=personas["police_supplier"], dataset="police_crime_offence",
                    marker="theirs")  # fmt: skip
    sign_in(client, personas["council_supplier"])

    response = client.get(f"/supplies/{theirs.pk}/rejected.csv")

    assert response.status_code == 404
    assert b"theirs" not in response.content
    refusal = AuditEntry.objects.get(action="access_refused", object_id=str(theirs.pk))
    assert refusal.detail["route"] == "rejected rows"


def test_a_missing_or_malformed_supply_id_is_the_same_404(api_client, personas):
    api_client.force_authenticate(personas["police_supplier"])
    assert api_client.get("/api/v1/supplies/not-a-uuid/").status_code == 404
    assert api_client.get(f"/api/v1/supplies/{'0' * 32}/").status_code == 404


def test_the_upload_page_offers_only_the_suppliers_agency_and_datasets(client, personas):
    sign_in(client, personas["health_supplier"])
    page = client.get("/supplies/new/").content.decode()
    assert "Wrightington, Wigan and Leigh NHS Foundation Trust" in page
    assert 'value="ae_assault"' in page
    assert 'value="police_crime_offence"' not in page
    assert 'value="Helen Okafor"' in page  # prefilled from the user


@pytest.mark.parametrize("username", ["analyst", "outsider", "coordinator"])
def test_the_upload_page_is_not_there_for_non_suppliers(client, personas, username):
    sign_in(client, personas[username])
    assert client.get("/supplies/new/").status_code == 404


def test_the_upload_page_refuses_a_period_that_has_not_ended(client, personas):
    sign_in(client, personas["police_supplier"])
    upload = io.BytesIO(CSV)
    upload.name = "x.csv"
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post("/supplies/new/", {
        "agency": Agency.objects.get(name="Greater Manchester Police (Wigan)").pk,
        "dataset": "police_crime_offence", "file": upload, "period_start": "2026-10-01",
        "period_end": tomorrow.isoformat(), "supplier_name": "x", "supplier_contact": "y",
    })  # fmt: skip
    assert response.status_code == 200
    assert "The period has not ended yet." in response.content.decode()
    assert not Supply.objects.exists()


def test_raw_files_are_purged_when_their_retention_ends_and_the_purge_is_audited(
    api_client, personas, settings
):
    old = Supply.objects.get(pk=post_supply(api_client, personas["police_supplier"]).json()["id"])
    new = Supply.objects.get(pk=post_supply(api_client, personas["police_supplier"]).json()["id"])
    now = timezone.now()
    Supply.objects.filter(pk=old.pk).update(
        status="completed", finished_at=now - datetime.timedelta(days=31)
    )
    Supply.objects.filter(pk=new.pk).update(
        status="completed", finished_at=now - datetime.timedelta(days=29)
    )

    assert raw_files_purge(now=now) == 1

    old.refresh_from_db()
    assert old.raw_deleted_at is not None and not Path(old.raw_path).exists()
    assert Path(new.raw_path).exists()
    assert AuditEntry.objects.filter(action="supply_raw_purged", detail__supplies=[str(old.pk)])
    assert raw_files_purge(now=now) == 0


def test_a_supplier_naming_another_agency_is_refused_and_audited(api_client, personas):
    council = Agency.objects.get(name="Wigan Council")
    response = post_supply(api_client, personas["police_supplier"], agency=council.pk)
    assert response.status_code == 403
    assert response.json()["detail"] == "You are not a supplier for Wigan Council."
    assert AuditEntry.objects.filter(action="supply_refused", agency=council).exists()


@pytest.mark.parametrize(
    ("username", "shown"),
    [("police_supplier", True), ("dlo_police", True), ("coordinator", True),
     ("analyst", False), ("outsider", False)],
)  # fmt: skip
def test_the_supplies_link_is_shown_to_those_who_see_supplies(client, personas, username, shown):
    sign_in(client, personas[username])
    assert ('href="/supplies/"' in client.get("/").content.decode()) is shown


def test_the_api_speaks_only_the_contracts_statuses(api_client, personas):
    supply_id = post_supply(api_client, personas["police_supplier"]).json()["id"]
    Supply.objects.filter(pk=supply_id).update(status="reporting")
    assert api_client.get(f"/api/v1/supplies/{supply_id}/").json()["status"] == "loading"


def test_an_upload_no_supply_took_is_deleted_after_a_day(client, api_client, personas):
    import os

    from datasets.services.retention import orphan_uploads_purge

    kept = Supply.objects.get(pk=post_supply(api_client, personas["police_supplier"]).json()["id"])
    upload = io.BytesIO(CSV)
    upload.name = "x.csv"
    before = raw_files()
    # Signed out with a CSRF cookie (a session that expired on the form): the CSRF check
    # reads the body, so the file is stored before the post is refused.
    browser = type(client)(enforce_csrf_checks=True)
    browser.get("/login/")
    assert browser.post("/supplies/new/", {"file": upload}).status_code == 403
    (orphan,) = raw_files() - before
    a_day_ago = timezone.now().timestamp() - 2 * 86400
    for path in (orphan, Path(kept.raw_path)):
        os.utime(path, (a_day_ago, a_day_ago))

    assert orphan_uploads_purge() == 1

    assert not orphan.exists()
    assert Path(kept.raw_path).exists()
    assert AuditEntry.objects.filter(action="orphan_uploads_purged").exists()
