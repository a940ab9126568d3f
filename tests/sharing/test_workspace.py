"""The workspace home, the dataset explorer and saved queries."""

import datetime
import re
from urllib.parse import parse_qs, urlparse

import pytest

from datasets.demo import last_month
from datasets.models import Record
from hub.choices import Role
from hub.models import Agency, AuditEntry, User
from hub.services import membership_grant
from sharing.disclosure import perturbed
from sharing.models import SavedQuery
from tests.conftest import sign_in
from tests.datasets.test_pipeline import csv_bytes, supply, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("persona", "status"),
    # A lapsed signatory's analyst is told why (403); to the others it does not exist.
    [("analyst", 200), ("associate_analyst", 200), ("lapsed_analyst", 403),
     ("police_supplier", 404), ("coordinator", 404), ("outsider", 404)],
)  # fmt: skip
def test_the_workspace_is_for_analysts_with_access(client, personas, persona, status):
    sign_in(client, personas[persona])
    assert client.get("/workspace/").status_code == status


def test_the_explorer_shows_supplies_quality_caveats_and_months(client, supplied):
    sign_in(client, supplied["analyst"])
    page = client.get("/workspace/datasets/police_crime_offence/").content.decode()
    assert "Greater Manchester Police (Wigan)" in page
    assert "SYNTHETIC demo data" in page  # the supplier's caveats
    assert "0.2%" in page and "97.5%" in page  # 1 of 400 rejected; 389 of 399 located
    start, _ = last_month()
    assert f"{start:%B %Y}</td><td>399</td>" in page.replace("\n", "")


def test_small_monthly_counts_are_perturbed_in_the_explorer_for_counting_users(
    client, api_client, supplied
):
    start, end = last_month()
    rows = [[f"F{n}", "secondary fire", start.strftime("%d/%m/%Y")] for n in range(3)]
    from hub.models import Membership

    fire = Agency.objects.get(name="Greater Manchester Fire and Rescue Service")
    user = User.objects.create_user("fire_supplier", email="f@example.invalid")
    membership_grant(user=user, agency=fire, roles=[Role.SUPPLIER], acting_user=None)
    supply_id = supply(
        api_client, user, csv_bytes(["incident_ref", "incident_type", "incident_date"], rows),
        dataset="fire_incident", period_start=str(start), period_end=str(end),
    )  # fmt: skip
    assert wait_for(api_client, supply_id)["status"] == "completed"
    assert Membership.objects.filter(user=user).exists()

    keys = list(Record.objects.filter(supply_id=supply_id).values_list("record_key", flat=True))
    shown = int(perturbed([len(keys)], [sum(keys)])[0])
    assert len(keys) == 3 and shown in (0, 3, 4, 5, 6)

    sign_in(client, supplied["associate_analyst"])  # fire incidents at aggregate level
    page = client.get("/workspace/datasets/fire_incident/").content.decode().replace("\n", "")
    if shown:
        assert f"{start:%B %Y}</td><td>{shown}</td>" in page
    else:  # shown as 0: left out, as a month with no records is
        assert f"{start:%B %Y}</td>" not in page
    # The supply's own count and shares would say how few it holds: not shown.
    assert re.search(r"<td>–</td>\s*<td>–</td>\s*<td>–</td>", page)
    assert "Counts are perturbed" in page


def test_an_unseen_dataset_cannot_be_explored(client, personas):
    sign_in(client, personas["associate_analyst"])
    assert client.get("/workspace/datasets/prison_release/").status_code == 404
    sign_in(client, personas["outsider"])
    assert client.get("/workspace/datasets/police_crime_offence/").status_code == 404


def test_a_saved_query_runs_again_over_last_month_and_is_shared_with_colleagues(client, personas):
    analyst = personas["analyst"]
    sign_in(client, analyst)
    client.post("/workspace/saved/", {
        "name": "Night-time violence", "view": "counts", "months": "1", "shared": "on",
        "dataset": "police_crime_offence", "hour_from": "21", "hour_to": "4",
        "period_start": "2020-01-01", "period_end": "2020-01-31",
    })  # fmt: skip
    saved = SavedQuery.objects.get()
    assert saved.params == {"dataset": "police_crime_offence", "hour_from": "21", "hour_to": "4"}

    response = client.get(f"/workspace/saved/{saved.pk}/")
    target = urlparse(response["Location"])
    start, end = last_month()
    assert target.path == "/workspace/counts/"
    assert parse_qs(target.query)["period_start"] == [start.isoformat()]
    assert parse_qs(target.query)["period_end"] == [end.isoformat()]
    assert AuditEntry.objects.filter(action="query_saved").exists()

    colleague = User.objects.create_user("colleague", email="c@wigan.example")
    council = Agency.objects.get(name="Wigan Council")
    membership_grant(user=colleague, agency=council, roles=[Role.ANALYST], acting_user=None)
    sign_in(client, colleague)
    assert client.get(f"/workspace/saved/{saved.pk}/").status_code == 302
    client.post(f"/workspace/saved/{saved.pk}/delete/")
    assert SavedQuery.objects.filter(pk=saved.pk).exists()  # only its owner deletes it

    sign_in(client, personas["associate_analyst"])  # another agency
    assert client.get(f"/workspace/saved/{saved.pk}/").status_code == 404

    sign_in(client, analyst)
    client.post(f"/workspace/saved/{saved.pk}/delete/")
    assert not SavedQuery.objects.exists()


def test_saved_dates_stay_as_saved_without_a_rolling_period(client, personas):
    sign_in(client, personas["analyst"])
    client.post("/workspace/saved/", {
        "name": "Summer 2025", "view": "map", "dataset": "council_asb",
        "period_start": "2025-06-01", "period_end": "2025-08-31",
    })  # fmt: skip
    saved = SavedQuery.objects.get()
    query = parse_qs(urlparse(client.get(f"/workspace/saved/{saved.pk}/")["Location"]).query)
    assert query["period_start"] == ["2025-06-01"] and query["period_end"] == ["2025-08-31"]
    assert datetime.date.fromisoformat(query["period_end"][0]).year == 2025


def test_a_saved_map_keeps_every_day_and_district_it_was_saved_with(client, personas):
    sign_in(client, personas["analyst"])
    page = client.get(
        "/workspace/map/?dataset=police_crime_offence&weekdays=5&weekdays=6&districts=WN1,WN5"
        "&period_start=2026-10-01&period_end=2026-10-31"
    ).content.decode()
    save_form = page[page.index('action="/workspace/saved/"') :]
    kept = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', save_form)
    assert ("weekdays", "5") in kept and ("weekdays", "6") in kept

    fields = {}
    for name, value in kept:
        fields.setdefault(name, []).append(value)
    client.post("/workspace/saved/", {**fields, "name": "Weekend nights", "months": ""})
    saved = SavedQuery.objects.get()
    assert saved.params["weekdays"] == ["5", "6"] and saved.params["districts"] == ["WN1", "WN5"]

    reopened = parse_qs(urlparse(client.get(f"/workspace/saved/{saved.pk}/")["Location"]).query)
    assert reopened["weekdays"] == ["5", "6"] and reopened["districts"] == ["WN1", "WN5"]


@pytest.mark.parametrize(
    ("view", "page", "query"),
    [
        ("areas", "/workspace/areas/", "area_kind=lsoa&value=households&classes=natural"),
        ("vli", "/workspace/vli/", "kind=ward&extras=fire_incidents&weight_fire_incidents=2"),
    ],
)
def test_the_areas_page_and_the_vli_are_saved_with_their_choices(
    client, personas, view, page, query
):
    sign_in(client, personas["analyst"])
    params = f"dataset=police_crime_offence&period_start=2026-10-01&period_end=2026-10-31&{query}"
    body = client.get(f"{page}?{params}").content.decode()
    save_form = body[body.index('action="/workspace/saved/"') :]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', save_form):
        fields.setdefault(name, []).append(value)
    client.post("/workspace/saved/", {**fields, "name": "Mine", "months": ""})

    saved = SavedQuery.objects.get()
    reopened = client.get(f"/workspace/saved/{saved.pk}/")["Location"]
    assert urlparse(reopened).path == page
    asked = parse_qs(query)
    assert {key: parse_qs(urlparse(reopened).query)[key] for key in asked} == asked


def test_every_way_of_sending_a_list_filter_reads_the_same():
    from django.http import QueryDict

    from sharing.workspace.filters import listed

    for query in ("weekdays=5,6", "weekdays=5&weekdays=6", "weekdays=5&weekdays=%206,"):
        assert listed(QueryDict(query), "weekdays") == ["5", "6"], query


def test_a_query_shared_with_colleagues_filters_by_codes_only(client, personas):
    """Colleagues may only count what the maker reads as records: a shared query cannot carry
    a value a record says (a name typed into a free-text field), only codes."""
    sign_in(client, personas["analyst"])
    base = {"view": "counts", "months": "1", "shared": "on", "dataset": "ae_assault"}

    free_text = client.post(
        "/workspace/saved/",
        {**base, "name": "Names", "category": "incident_type", "values": "John Smith"},
    )
    not_a_code = client.post(
        "/workspace/saved/",
        {**base, "dataset": "police_crime_offence", "name": "Probe",
         "category": "ho_offence_code", "values": "John Smith"},
    )  # fmt: skip
    private = client.post(
        "/workspace/saved/",
        {**base, "shared": "", "name": "Mine", "category": "incident_type", "values": "assault"},
    )
    coded = client.post(
        "/workspace/saved/",
        {**base, "dataset": "police_crime_offence", "name": "Violence",
         "category": "ho_offence_code", "values": "105A,105B"},
    )  # fmt: skip

    assert {r.status_code for r in (free_text, not_a_code, private, coded)} == {302}
    assert sorted(SavedQuery.objects.values_list("name", flat=True)) == ["Mine", "Violence"]
    page = client.get("/workspace/").content.decode()
    assert "may filter by coded fields only" in page
