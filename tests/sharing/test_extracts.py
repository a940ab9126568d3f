"""Extracts end to end: the demo's sample supplies, a real worker, the files analysts get."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import time
import zipfile

import openpyxl
import pandas as pd
import pycanon.anonymity
import pytest
from django.utils import timezone

from datasets.demo import last_month
from datasets.models import Dataset, Record, Supply
from hub.models import AuditEntry
from sanitise.models import Place, PostcodeCentroid
from sharing.choices import AccessLevel
from sharing.disclosure import perturbed
from sharing.files import MARKING
from sharing.models import Extract
from sharing.services.extracts import extracts_expire
from tests import factories
from tests.conftest import supply_row
from tests.records import record_fields

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def extract(client, user, **body) -> dict:
    start, end = last_month()
    client.force_authenticate(user)
    request = {"period_start": str(start), "period_end": str(end), **body}
    response = client.post("/api/v1/extracts/", request, format="json")
    assert response.status_code == 201, response.content
    extract_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while True:
        state = client.get(f"/api/v1/extracts/{extract_id}/").json()
        if state["status"] in ("completed", "failed"):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.2)


def download(client, state) -> bytes:
    response = client.get(state["download_url"])
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def csv_rows(archive_bytes: bytes) -> list[list[str]]:
    """The data CSV of a zipped CSV extract, row by row, header first."""
    archive = zipfile.ZipFile(io.BytesIO(archive_bytes))
    (name,) = [n for n in archive.namelist() if n.endswith(".csv")]
    return list(csv.reader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))


def state_metadata(state) -> str:
    """What the extract's metadata says of its disclosure control."""
    return Extract.objects.get(pk=state["id"]).metadata["disclosure"]


def sanitised_points() -> set[tuple[int, int]]:
    centroids = set(PostcodeCentroid.objects.values_list("easting", "northing"))
    places = {(round(e), round(n)) for e, n in Place.objects.values_list("easting", "northing")}
    return centroids | places


def test_offences_joined_with_victims_come_as_a_marked_csv_of_sanitised_points(
    api_client, supplied
):
    state = extract(
        api_client, supplied["analyst"], dataset="police_crime_offence",
        linked_dataset="police_crime_victim", format="csv",
    )  # fmt: skip

    assert state["status"] == "completed"
    archive = zipfile.ZipFile(io.BytesIO(download(api_client, state)))
    (data_name,) = [n for n in archive.namelist() if n.endswith(".csv")]
    (meta_name,) = [n for n in archive.namelist() if n.endswith("_METADATA.txt")]
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open(data_name), encoding="utf-8")))
    metadata = archive.read(meta_name).decode()

    offences = Record.objects.filter(dataset__slug="police_crime_offence").count()
    assert len(rows) == state["row_count"] == offences  # one victim at most per offence
    assert {"crime_ref", "ho_offence_code", "easting", "northing", "postcode",
            "location_method", "victim_gender", "victim_age"} <= set(rows[0])  # fmt: skip
    assert not {"date_of_birth", "victim_date_of_birth", "name"} & set(rows[0])
    points = sanitised_points()
    for row in rows:
        if row["easting"]:
            assert (int(row["easting"]), int(row["northing"])) in points, row
    joined = [row for row in rows if row["victim_gender"]]
    refs = {row["crime_ref"] for row in rows}
    victims = Record.objects.filter(dataset__slug="police_crime_victim")
    assert (
        len(joined) == sum(record_fields(victim)["crime_ref"] in refs for victim in victims) > 200
    )
    assert metadata.startswith(MARKING)
    assert "Information Sharing Protocol of Wigan and Leigh" in metadata
    assert f"Extract id: {state['id']}" in metadata
    expires = Extract.objects.get(pk=state["id"]).expires_at
    assert f"in any case by {timezone.localtime(expires):%d/%m/%Y}." in metadata
    assert "Greater Manchester Police (Wigan)" in metadata
    assert "SYNTHETIC demo data" in metadata  # the supplier's caveats travel with the data
    assert "Contains OS data" in metadata
    actions = set(AuditEntry.objects.filter(object_id=state["id"]).values_list("action", flat=True))
    assert {"extract_requested", "extract_created", "extract_downloaded"} <= actions

    district = extract(
        api_client, supplied["analyst"], dataset="police_crime_offence", format="csv",
        area={"districts": ["WN1"]},
    )  # fmt: skip
    archive = zipfile.ZipFile(io.BytesIO(download(api_client, district)))
    name = next(n for n in archive.namelist() if n.endswith(".csv"))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    assert rows and all(row["postcode"].startswith("WN1 ") for row in rows)

    assert extracts_expire(now=timezone.now() + datetime.timedelta(days=8)) == 2
    assert Extract.objects.get(pk=state["id"]).status == "expired"
    assert api_client.get(state["download_url"]).status_code == 404


def test_an_associate_partners_records_are_k_anonymous(api_client, supplied, settings):
    state = extract(
        api_client, supplied["associate_analyst"], dataset="police_crime_offence", format="csv"
    )

    archive = zipfile.ZipFile(io.BytesIO(download(api_client, state)))
    name = next(n for n in archive.namelist() if n.endswith(".csv"))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    metadata = Extract.objects.get(pk=state["id"]).metadata
    assert f"k-anonymity with k = {settings.HUB_EXTRACT_K} over " in metadata["disclosure"]
    assert "address" in metadata["disclosure"] and "postcode" in metadata["disclosure"]
    frame = pd.DataFrame(rows).replace("", "*")
    assert pycanon.anonymity.k_anonymity(frame, ["address", "postcode"]) >= settings.HUB_EXTRACT_K
    sizes: dict[str, int] = {}
    for row in rows:
        if row["postcode"]:
            sizes[row["postcode"]] = sizes.get(row["postcode"], 0) + 1
    assert sizes and min(sizes.values()) >= settings.HUB_EXTRACT_K
    generalised = [row for row in rows if row["postcode"] and len(row["postcode"]) <= 5]
    assert generalised and all(not row["easting"] for row in generalised)


def test_an_associate_partners_linked_extract_is_k_anonymous_over_both_datasets(
    api_client, supplied, settings
):
    """Offences joined with victims: the victims' age and gender are quasi-identifiers too,
    checked by an independent library (pycanon) over every quasi-identifier of the output."""
    factories.profile_level("police_crime_victim", AccessLevel.DEPERSONALISED)
    state = extract(
        api_client, supplied["associate_analyst"], dataset="police_crime_offence",
        linked_dataset="police_crime_victim", format="csv",
    )  # fmt: skip

    header, *rows = csv_rows(download(api_client, state))
    frame = pd.DataFrame(rows, columns=header).replace("", "*")
    offence, victim = (
        Dataset.objects.get(slug=s).schema for s in ("police_crime_offence", "police_crime_victim")
    )
    named = [f.name for f in offence.fields if f.field_class == "quasi"] + [
        "victim_" + f.name for f in victim.fields if f.field_class == "quasi"
    ]
    quasi = ["postcode", "address", *(name for name in named if name in frame.columns)]
    assert {"victim_age", "victim_gender"} <= set(quasi)
    metadata = state_metadata(state)
    assert all(name in metadata for name in quasi)
    assert pycanon.anonymity.k_anonymity(frame, quasi) >= settings.HUB_EXTRACT_K


def test_exact_counts_are_not_downloaded_once_their_maker_holds_only_counts(api_client, supplied):
    state = extract(
        api_client, supplied["analyst"], dataset="police_crime_offence", level="aggregate",
        format="csv",
    )  # fmt: skip
    assert Extract.objects.get(pk=state["id"]).metadata["release"] == "exact"

    factories.profile_level(
        "police_crime_offence", AccessLevel.AGGREGATE, profile="Partnership analysts"
    )

    assert api_client.get(state["download_url"]).status_code in (403, 404)
    assert Extract.objects.get(pk=state["id"]).status == "expired"
    reasons = list(
        AuditEntry.objects.filter(action="access_refused").values_list("detail", flat=True)
    )
    assert any("no longer hold the records" in d.get("reason", "") for d in reasons), reasons


def test_counts_only_users_ask_for_whole_months_and_districts(api_client, supplied):
    factories.profile_level("police_crime_offence", AccessLevel.AGGREGATE)
    api_client.force_authenticate(supplied["associate_analyst"])
    start, end = last_month()
    body = {"dataset": "police_crime_offence", "level": "aggregate", "format": "csv"}
    day = api_client.post(
        "/api/v1/extracts/",
        {**body, "period_start": str(start), "period_end": str(end - datetime.timedelta(days=1))},
        format="json",
    )
    box = api_client.post(
        "/api/v1/extracts/",
        {**body, "period_start": str(start), "period_end": str(end),
         "area": {"bbox": [358000, 405000, 358002, 405002]}},
        format="json",
    )  # fmt: skip
    assert day.status_code == 403 and "whole months" in day.json()["detail"]
    assert box.status_code == 403 and "not a box" in box.json()["detail"]


def test_an_associate_partner_cannot_draw_a_box_round_one_postcode(api_client, supplied):
    """Their records and counts are exact, but their locations are not: a box of a few metres
    round a sanitised point would hand back a postcode the k-anonymity check generalises."""
    api_client.force_authenticate(supplied["associate_analyst"])
    start, end = last_month()
    for level in ("aggregate", "depersonalised"):
        response = api_client.post(
            "/api/v1/extracts/",
            {"dataset": "police_crime_offence", "level": level, "format": "csv",
             "period_start": str(start), "period_end": str(end),
             "area": {"bbox": [358000, 405000, 358002, 405002]}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 403 and "not a box" in response.json()["detail"], level


def offence_cells() -> dict[tuple[str, str, str], tuple[int, int]]:
    """Last month's offences by (month, district, code): their count and key sum."""
    cells: dict[tuple[str, str, str], list[int]] = {}
    for record in Record.objects.filter(dataset__slug="police_crime_offence"):
        district = record.postcode.split(" ")[0] if record.postcode else "(not located)"
        code = record_fields(record)["ho_offence_code"]
        key = (record.event_date.strftime("%Y-%m"), district, code)
        cell = cells.setdefault(key, [0, 0])
        cell[0] += 1
        cell[1] += record.record_key
    return {key: (count, keys) for key, (count, keys) in cells.items()}


def test_counts_come_as_a_marked_workbook_exact_for_users_who_may_see_the_records(
    api_client, supplied
):
    state = extract(
        api_client, supplied["analyst"], dataset="police_crime_offence", level="aggregate",
        category="ho_offence_code", format="xlsx",
    )  # fmt: skip

    workbook = openpyxl.load_workbook(io.BytesIO(download(api_client, state)))
    data = workbook["Data"]
    header, *rows = list(data.iter_rows(values_only=True))
    assert header == ("month", "area", "ho_offence_code", "count")
    cells = offence_cells()
    inner = [row for row in rows if "Total" not in row[1:3]]
    assert {tuple(row[:3]): row[3] for row in inner} == {k: n for k, (n, _) in cells.items()}
    assert MARKING in data.oddHeader.center.text
    assert workbook["Metadata"]["A1"].value == MARKING
    assert "Counts are exact" in state_metadata(state)
    assert sum(row[3] for row in inner) == len(
        Record.objects.filter(dataset__slug="police_crime_offence")
    )


def test_counts_only_users_counts_are_perturbed_by_cell_key(api_client, supplied):
    factories.profile_level("police_crime_offence", AccessLevel.AGGREGATE)
    state = extract(
        api_client, supplied["associate_analyst"], dataset="police_crime_offence",
        level="aggregate", category="ho_offence_code", format="csv",
    )  # fmt: skip

    rows = csv_rows(download(api_client, state))
    cells = offence_cells()
    inner = {tuple(row[:3]): int(row[3]) for row in rows[1:] if "Total" not in row[1:3]}
    expected = perturbed([n for n, _ in cells.values()], [k for _, k in cells.values()])
    # Cells shown as 0 are left out, as cells with no records are.
    assert inner == {cell: n for cell, n in zip(cells, expected.tolist(), strict=True) if n}
    assert inner != {key: n for key, (n, _) in cells.items()}  # some noise was added
    assert not {0, 1, 2} & set(inner.values())
    # The month's total is the month's records counted as one cell, not the cells added up.
    month = next(iter(cells))[0]
    total = next(int(row[3]) for row in rows[1:] if row[1:3] == ["Total", "Total"])
    all_counts = sum(n for n, _ in cells.values())
    all_keys = sum(k for _, k in cells.values())
    assert total == perturbed([all_counts], [all_keys])[0]
    assert month and "perturbed" in state_metadata(state)


def test_asb_as_geojson_points_in_wgs84_with_the_marking(api_client, supplied):
    state = extract(api_client, supplied["analyst"], dataset="council_asb", format="geojson")

    collection = json.loads(download(api_client, state))
    assert collection["metadata"]["marking"] == MARKING
    located = [f for f in collection["features"] if f["geometry"]]
    assert located
    for feature in located:
        lon, lat = feature["geometry"]["coordinates"]
        assert -3.0 < lon < -2.3 and 53.3 < lat < 53.7  # Wigan and Leigh
        assert feature["properties"]["easting"]


def test_a_formula_in_a_supplied_value_is_neutralised_in_the_extract(api_client, supplied):
    from tests.datasets.test_pipeline import csv_bytes, supply, wait_for

    start, end = last_month()
    asb = csv_bytes(
        ["incident_ref", "incident_type", "incident_date"],
        [["X1", '=HYPERLINK("http://evil.example","Click")', start.strftime("%d/%m/%Y")]],
    )
    supply_id = supply(
        api_client, supplied["council_supplier"], asb, dataset="council_asb",
        period_start=str(start), period_end=str(end),
    )  # fmt: skip
    assert wait_for(api_client, supply_id)["status"] == "completed"

    state = extract(api_client, supplied["analyst"], dataset="council_asb", format="csv")

    archive = zipfile.ZipFile(io.BytesIO(download(api_client, state)))
    name = next(n for n in archive.namelist() if n.endswith(".csv"))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    (evil,) = [row for row in rows if row["incident_ref"] == "X1"]
    assert evil["incident_type"] == '\'=HYPERLINK("http://evil.example","Click")'


def test_progress_is_recorded_as_each_supply_s_rows_are_written(
    api_client, supplied, monkeypatch, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from redis import Redis

    from hub import celery_app
    from sharing.services.extract_build import extract_run

    idle_queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-idle"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", idle_queue)  # no worker takes it
    start, end = last_month()
    # The month's offences as if 100 of them had come in a supply of the month before: an
    # extract is written a supply at a time, with its progress after each.
    offences = Supply.objects.get(dataset__slug="police_crime_offence", status="completed")
    earlier = supply_row(
        dataset=offences.dataset, agency=offences.agency, uploaded_by=offences.uploaded_by,
        period_start=start - datetime.timedelta(days=28),
        period_end=start - datetime.timedelta(days=1), status="completed",
    )  # fmt: skip
    moved = Record.objects.filter(supply=offences).order_by("pk").values("pk")[:100]
    Record.objects.filter(pk__in=moved).update(supply=earlier)
    api_client.force_authenticate(supplied["analyst"])
    response = api_client.post(
        "/api/v1/extracts/",
        {"dataset": "police_crime_offence", "period_start": str(start),
         "period_end": str(end), "format": "csv"},
        format="json",
    )  # fmt: skip
    Redis.from_url(settings.REDIS_URL).delete(idle_queue)

    with CaptureQueriesContext(connection) as captured:
        extract_run(response.json()["id"])

    updates = [
        q["sql"] for q in captured if q["sql"].startswith('UPDATE "sharing_extract" SET "progress"')
    ]
    assert len(updates) == 2
    assert Extract.objects.get(pk=response.json()["id"]).progress == 100
    # The rows in all come from the monthly counts: the records are read once, not counted
    # first.
    read_records = re.compile(r'count\(\*\).*"datasets_record"', re.IGNORECASE | re.DOTALL)
    assert not any(read_records.search(q["sql"]) for q in captured)
