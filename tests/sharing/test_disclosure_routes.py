"""The disclosure gate on the routes: a counts-only user's counts are perturbed alike
everywhere, with no cell shown as 0 and no free text as a label or a filter; an associate
partner's map has no points; and differencing overlapping answers recovers a small count no
more often than the ptable allows."""

import csv
import datetime
import html
import io
import re
from collections import Counter

import numpy as np
import pytest

from datasets.demo import last_month
from datasets.models import Record
from datasets.summary import counts_recount
from sharing.choices import AccessLevel
from sharing.disclosure import KEY_RANGE, OTHER_CODE, perturbed
from sharing.disclosure.perturbation import distribution
from tests import factories
from tests.records import fields_set, record_fields, records_with
from tests.sharing.test_workspace_stats import client_for, period, table_rows

OFFENCES = "police_crime_offence"
VIOLENT = ["105A", "105B", "8N"]  # the demo's violence codes (stored), the compared measure


def cell(records) -> int:
    """The perturbed value of the cell these records make."""
    keys = [record.record_key for record in records]
    return int(perturbed([len(keys)], [sum(keys)])[0])


def offences(*, codes=None, **filters):
    """The offences, those with one of ``codes`` (offence codes) if given."""
    records = Record.objects.filter(dataset__slug="police_crime_offence", **filters)
    if codes is not None:
        with_codes = [
            records_with(ho_offence_code=code).values_list("pk", flat=True) for code in codes
        ]
        records = records.filter(pk__in=[pk for pks in with_codes for pk in pks])
    return list(records)


def offence_code(record) -> str:
    return record_fields(record)["ho_offence_code"]


def noisy(records) -> None:
    """Give the first record the key that makes the cell's noise non-zero (and the cell shown,
    not 0), so that a route that forgot to perturb cannot pass by chance; the monthly counts
    follow."""
    rest, n = sum(record.record_key for record in records[1:]), len(records)
    key = next(k for k in range(KEY_RANGE) if perturbed([n], [rest + k])[0] not in (n, 0))
    Record.objects.filter(pk=records[0].pk).update(record_key=key)
    records[0].record_key = key
    counts_recount(supply_ids={record.supply_id for record in records})


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_same_records_show_the_same_perturbed_count_on_every_route(supplied):
    factories.profile_level(OFFENCES, AccessLevel.AGGREGATE)
    client = client_for(supplied["associate_analyst"])
    violent = offences(codes=VIOLENT)
    noisy(violent)
    expected = cell(violent)
    assert expected != len(violent)
    query = {
        "dataset": "police_crime_offence", "category": "ho_offence_code",
        "values": ",".join(VIOLENT), **period(),
    }  # fmt: skip

    page = client.get("/workspace/counts/", query).content.decode()
    rows = table_rows(page, 'id="counts-table"')
    assert rows[-1][1] == "Total" and int(rows[-1][-1]) == expected
    assert "perturbed" in re.search(r'id="counts-note">(.*?)<', page).group(1)

    download = client.get("/workspace/counts.csv", query).content.decode()
    assert int(list(csv.reader(io.StringIO(download)))[-1][-1]) == expected

    compare = client.get("/workspace/compare/", period()).content.decode()
    compared = table_rows(compare, 'id="compare-table"')
    assert int(compared[1][1]) == expected

    explorer = client.get("/workspace/datasets/police_crime_offence/").content.decode()
    month_row = table_rows(explorer, 'class="explore-months"')[1]
    assert int(month_row[1]) == cell(offences())
    supply_row = table_rows(explorer, 'class="explore-supplies"')[1]
    # A supply's own count and shares are for those who may see its records.
    assert supply_row[3:6] == ["–", "–", "–"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_analyst_who_may_see_the_records_gets_exact_counts(supplied):
    client = client_for(supplied["analyst"])
    query = {"dataset": "police_crime_offence", **period()}
    rows = table_rows(client.get("/workspace/counts/", query).content.decode(), 'id="counts-table"')
    assert int(rows[-1][-1]) == len(offences())
    explorer = client.get("/workspace/datasets/police_crime_offence/").content.decode()
    assert int(table_rows(explorer, 'class="explore-supplies"')[1][3]) == len(offences())


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_associate_partners_map_has_hexagons_only_however_narrow_the_filter(
    supplied, api_client
):
    record = offences(codes=["105A"], event_time__isnull=False)[0]
    hour = record.event_time.hour
    api_client.force_authenticate(supplied["associate_analyst"])
    response = api_client.get(
        "/api/v1/workspace/map/",
        {
            "dataset": "police_crime_offence", **period(), "hour_from": hour,
            "hour_to": hour + 1, "category": "ho_offence_code", "values": "105A",
        },
    )  # fmt: skip

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["precise"] is False and body["points"] is None and body["total"] is None
    assert '"count"' not in response.content.decode()
    assert all(set(f["properties"]) == {"class"} for f in body["hexes"]["features"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_free_text_never_labels_or_filters_a_counts_only_users_counts(supplied):
    factories.profile_level(OFFENCES, AccessLevel.AGGREGATE)
    associate, analyst = client_for(supplied["associate_analyst"]), client_for(supplied["analyst"])
    free_text = {"dataset": "ae_assault", "breakdown": "incident_type", **period()}
    refused = associate.get("/workspace/counts/", free_text)
    assert refused.status_code == 400
    assert "cannot be broken down by &#x27;incident_type&#x27;" in refused.content.decode()
    filtered = associate.get(
        "/workspace/counts/", {**free_text, "breakdown": "", "category": "incident_type",
                               "values": "assault"},
    )  # fmt: skip
    assert filtered.status_code == 400
    assert analyst.get("/workspace/counts/", free_text).status_code == 200

    # A code field holding what is not a code: the associate sees it gathered, never named;
    # the analyst who may read the record sees it, neutralised for a spreadsheet.
    typed = '=cmd|"/c calc"!A1 John Smith 14 Elm Drive'
    target = offences()[0]
    fields_set(target.pk, {"ho_offence_code": typed})
    noisy([target])  # alone in its cells: shown, not perturbed to 0 and left out
    query = {"dataset": "police_crime_offence", "breakdown": "ho_offence_code", **period()}
    header = next(
        csv.reader(io.StringIO(associate.get("/workspace/counts.csv", query).content.decode()))
    )
    assert OTHER_CODE in header and not any("cmd" in column for column in header)
    header = next(
        csv.reader(io.StringIO(analyst.get("/workspace/counts.csv", query).content.decode()))
    )
    assert "'" + typed in header
    # Nor can a filter test whether some text was typed into a code field.
    probe = associate.get(
        "/workspace/counts/", {"dataset": OFFENCES, "category": "ho_offence_code",
                               "values": "John Smith", **period()},
    )  # fmt: skip
    assert probe.status_code == 400
    assert "is not a Home Office offence classification code" in html.unescape(
        probe.content.decode()
    )


def difference_attack(rng, *, cells: int, exact: bool) -> float:
    """Share of many (large cell, small cell) pairs where answer(large ∪ small) − answer(large)
    gives the small cell's true count: WN2+WN3 minus WN2, 0–24 h minus 1–24 h, 1–30 minus
    2–30 November are all this subtraction of two overlapping cells."""
    large = rng.integers(10, 400, cells)
    small = rng.integers(1, 10, cells)
    large_keys = rng.integers(0, 4096, (cells, 400))
    small_keys = rng.integers(0, 4096, (cells, 10))
    large_sum = np.where(np.arange(400) < large[:, None], large_keys, 0).sum(axis=1)
    small_sum = np.where(np.arange(10) < small[:, None], small_keys, 0).sum(axis=1)
    if exact:
        both, alone = large + small, large
    else:
        both = perturbed(large + small, large_sum + small_sum)
        alone = perturbed(large, large_sum)
    return float(np.mean(both - alone == small))


def test_differencing_overlapping_counts_recovers_small_counts_only_as_often_as_the_ptable_allows():
    rng = np.random.default_rng(2026)
    before = difference_attack(rng, cells=20_000, exact=True)
    after = difference_attack(rng, cells=20_000, exact=False)
    # The bound: two independent draws of the noise agree with probability Σ p², for rows of
    # ten or more records (every row past 5 has the full triangular distribution).
    bound = sum(p * p for p in distribution(20).values())
    assert before == 1.0
    assert after <= bound + 0.01, (after, bound)
    assert bound < 0.18


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_counts_only_user_cannot_tell_a_cell_shown_as_0_from_one_with_no_records(supplied):
    """A record alone in its cell: when its noise shows it as 0, the page is the one a day
    with no records gives, not a row of zeros that says something is there."""
    factories.profile_level(OFFENCES, AccessLevel.AGGREGATE)
    cells = Counter((r.postcode.split(" ")[0], offence_code(r)) for r in offences())
    lone = next(
        r
        for r in offences()
        if r.postcode and cells[(r.postcode.split(" ")[0], offence_code(r))] == 1
    )
    keys = [k for k in range(KEY_RANGE) if perturbed([1], [k])[0] == 0]
    Record.objects.filter(pk=lone.pk).update(record_key=keys[0])
    counts_recount(supply_ids=[lone.supply_id])
    client = client_for(supplied["associate_analyst"])
    query = {"dataset": OFFENCES, "districts": lone.postcode.split(" ")[0],
             "category": "ho_offence_code", "breakdown": "ho_offence_code", **period()}  # fmt: skip

    one = client.get("/workspace/counts/", {**query, "values": offence_code(lone)})
    none = client.get("/workspace/counts/", {**query, "values": "999Z"})

    assert one.status_code == none.status_code == 200
    shown = table_rows(one.content.decode(), 'id="counts-table"')
    assert shown == table_rows(none.content.decode(), 'id="counts-table"')
    assert "No records match." in shown[-1]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_comparison_shows_what_each_level_allows_of_a_part_month(supplied):
    """Police offences are records to the associate partner, A&E attendances counts only: a
    period of part of a month shows the one and says why not the other."""
    start, end = last_month()
    part = {"period_start": str(start), "period_end": str(end - datetime.timedelta(days=3))}

    response = client_for(supplied["associate_analyst"]).get("/workspace/compare/", part)

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert (
        "shown. Counts are exact"
        in re.search(r'id="series-police_crime_offence".*?</li>', page, re.S)[0]
    )
    ae = re.search(r'id="series-ae_assault".*?</li>', page, re.S)[0]
    assert "not shown" in ae and "whole months" in ae


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_associate_partners_repeat_locations_are_no_finer_than_their_extract(supplied):
    sectors = Counter(r.postcode[:-2].strip() for r in offences() if r.postcode)

    page = client_for(supplied["associate_analyst"]).get("/workspace/linked/", period())

    rows = table_rows(page.content.decode(), 'id="linked-2"')[1:]
    assert rows, "the demo's offences repeat in some sector"
    assert {place for place, _ in rows} == {s for s, n in sectors.items() if n >= 3}
    assert all(re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d", place) for place, _ in rows)
    assert all(int(n) == sectors[place] for place, n in rows)  # exact: they hold the records
