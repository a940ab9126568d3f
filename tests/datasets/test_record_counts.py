"""The records' monthly counts stay exactly in step with the records (loads, resupplies,
linked dates, purges, failures, the migration, the benchmark's fill), and the workspace's
counts read from them say exactly what the records say."""

from __future__ import annotations

import datetime
import io
from collections import Counter
from dataclasses import replace

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Record, RecordMonthlyCount, RecordMonthlyPoint, Supply
from datasets.pipeline import load as load_stage
from datasets.pipeline.stages import run_stage
from datasets.services.retention import records_purge
from datasets.summary import counts_forget, counts_recount
from hub.models import Agency
from hub.services import agency_ensure, partnership_ensure
from sanitise.demo import demo_gazetteer_load
from sharing.choices import AccessLevel
from sharing.disclosure import perturbed
from sharing.records import ExtractQuery
from sharing.workspace import counts
from sharing.workspace.counts import counts_frame, workspace_counts
from sharing.workspace.filters import workspace_query
from sharing.workspace.map import locations_count
from tests import factories
from tests.conftest import supply_row
from tests.datasets.test_pipeline import (
    OFFENCE_HEADER,
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
)

OFFENCES = "police_crime_offence"
POLICE = "Greater Manchester Police (Wigan)"
SUMMARY_TABLE = RecordMonthlyCount._meta.db_table
POINTS_TABLE = RecordMonthlyPoint._meta.db_table

# Tests that need a worker or DDL say so; the rest run in a transaction rolled back after.
pytestmark = pytest.mark.django_db


AREAS = ("ward_code", "lsoa_code", "msoa_code", "lad_code")


def summary() -> dict[tuple, int]:
    return {
        (
            str(row.supply_id), row.dataset_id, row.partnership_id, row.month, row.district,
            *(getattr(row, area) for area in AREAS),
        ): row.count
        for row in RecordMonthlyCount.objects.all()
    }  # fmt: skip


def grouped_records() -> dict[tuple, int]:
    """The records' counts by supply, month and district, worked out here from the rows."""
    return dict(
        Counter(
            (
                str(r.supply_id),
                r.dataset_id,
                r.partnership_id,
                r.event_date.replace(day=1),
                r.postcode.split(" ")[0],
                *(getattr(r, area) for area in AREAS),
            )  # fmt: skip
            for r in Record.objects.exclude(event_date=None)
        )
    )


def points() -> dict[tuple, tuple[int, int]]:
    return {
        (
            str(row.supply_id), row.month, row.district,
            *(getattr(row, area) for area in AREAS), row.easting, row.northing,
        ): (row.count, row.key_sum)
        for row in RecordMonthlyPoint.objects.all()
    }  # fmt: skip


def grouped_record_points() -> dict[tuple, tuple[int, int]]:
    """The records' counts and key sums by supply, month, area and point, worked out here."""
    found: dict[tuple, tuple[int, int]] = {}
    for r in Record.objects.exclude(event_date=None):
        key = (
            str(r.supply_id), r.event_date.replace(day=1), r.postcode.split(" ")[0],
            *(getattr(r, area) for area in AREAS), r.easting, r.northing,
        )  # fmt: skip
        count, key_sum = found.get(key, (0, 0))
        found[key] = (count + 1, key_sum + r.record_key)
    return found


def assert_in_step() -> None:
    assert summary() == grouped_records()
    assert points() == grouped_record_points()


def by_cell(frame) -> dict[tuple, int]:
    """A counts frame as {(month, area, category): count}, whatever its row order."""
    return {
        key: int(value)
        for key, value in frame.groupby(["month", "area", "category"])["count"].sum().items()
    }


def test_the_hubs_connections_run_without_jit(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


# -- through the pipeline ---------------------------------------------------------------------


@pytest.fixture
def world(personas, celery_worker_process):
    demo_gazetteer_load()
    return personas


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_load_and_a_resupply_keep_the_counts_with_the_records(api_client, world):
    first = supply(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(4)))
    wait_for(api_client, first)
    assert summary() and sum(summary().values()) == 4
    assert_in_step()

    second = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(6))
    )
    assert wait_for(api_client, second)["status"] == "completed"

    # The superseded supply keeps its counts as it keeps its records; readers leave both out.
    assert_in_step()
    assert {key[0] for key in summary()} == {first, second}
    query = ExtractQuery(
        partnership_id=Agency.objects.get(name=POLICE).partnership_id,
        dataset=Dataset.objects.get(slug=OFFENCES),
        period=(datetime.date(2026, 10, 1), datetime.date(2026, 10, 31)),
        fields=[],
    )
    assert by_cell(counts_frame(query, None)) == by_cell(query.counts(None))
    assert sum(by_cell(counts_frame(query, None)).values()) == 6


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_victims_dated_by_a_later_offence_supply_move_to_its_month(api_client, world):
    victims = supply(
        api_client, world["police_supplier"],
        csv_bytes(["crime_ref", "gender", "age"], [["CR00002", "F", "34"]]),
        dataset="police_crime_victim", period_start="2026-09-01", period_end="2026-09-30",
    )  # fmt: skip
    wait_for(api_client, victims)
    assert [key[3] for key in summary() if key[0] == victims] == [datetime.date(2026, 9, 1)]

    offences = supply(
        api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(3))
    )
    wait_for(api_client, offences)

    # The offences' load dated the victim (another supply) in October: its count moved too.
    assert [key[3] for key in summary() if key[0] == victims] == [datetime.date(2026, 10, 1)]
    assert_in_step()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_rejected_supply_has_no_counts(api_client, world):
    header = [h for h in OFFENCE_HEADER if h != "HO offence code"]
    rows = [row[:1] + row[2:] for row in offence_rows(3)]
    rejected = supply(api_client, world["police_supplier"], csv_bytes(header, rows))

    assert wait_for(api_client, rejected)["status"] == "rejected"
    assert not RecordMonthlyCount.objects.filter(supply_id=rejected).exists()
    assert summary() == {}


@pytest.mark.django_db(transaction=True)
def test_a_load_that_fails_leaves_neither_records_nor_counts(
    api_client,
    personas,
    own_queue,
    monkeypatch,
):
    demo_gazetteer_load()
    supply_id = supply(
        api_client, personas["police_supplier"], csv_bytes(OFFENCE_HEADER, offence_rows(5))
    )
    real_advance = load_stage.advance

    def crash_after_loading(claim, **fields):
        raise RuntimeError("the worker's connection dropped as the load finished")

    # The counts are written before the load's last step: its failure must take them back too.
    monkeypatch.setattr(load_stage, "advance", crash_after_loading)
    run_stage(supply_id, SupplyStatus.LOADING)

    assert Supply.objects.get(pk=supply_id).status == SupplyStatus.FAILED
    assert not Record.objects.filter(supply_id=supply_id).exists()
    assert summary() == {}

    # Retried, the same load counts its records once.
    monkeypatch.setattr(load_stage, "advance", real_advance)
    Supply.objects.filter(pk=supply_id).update(status=SupplyStatus.LOADING, lease_until=None)
    run_stage(supply_id, SupplyStatus.LOADING)
    assert sum(summary().values()) == 5
    assert_in_step()


# -- purges and deletions ---------------------------------------------------------------------


def a_supply(personas, *, period_start, agency=None, dataset=OFFENCES, **fields) -> Supply:
    month_end = (period_start.replace(day=28) + datetime.timedelta(days=4)).replace(
        day=1
    ) - datetime.timedelta(days=1)
    return supply_row(
        dataset=Dataset.objects.get(slug=dataset),
        agency=agency or Agency.objects.get(name=POLICE),
        uploaded_by=personas["police_supplier"],
        period_start=period_start, period_end=month_end,
        status=fields.pop("status", SupplyStatus.COMPLETED), **fields,
    )  # fmt: skip


def point_of(postcode: str) -> tuple[int | None, int | None]:
    """A made-up centroid for each postcode, none for no postcode."""
    if not postcode:
        return None, None
    return 350_000 + sum(ord(c) * n for n, c in enumerate(postcode, 1)), 400_000 + len(postcode)


def add_records(supply: Supply, rows: list[tuple[datetime.date | None, str]]) -> None:
    start = Record.objects.filter(supply=supply).count() + 2
    Record.objects.bulk_create(
        Record(
            partnership_id=supply.agency.partnership_id,
            dataset_id=supply.dataset_id,
            supply=supply,
            row_number=start + number,
            event_date=event_date,
            postcode=postcode,
            easting=point_of(postcode)[0],
            northing=point_of(postcode)[1],
            location_method="centroid" if postcode else "unlocated",
        )  # fmt: skip
        for number, (event_date, postcode) in enumerate(rows)
    )


def test_the_retention_purge_takes_its_records_out_of_the_counts(personas):
    old = a_supply(personas, period_start=datetime.date(2020, 1, 1))
    add_records(old, [(datetime.date(2020, 1, day), "WN1 1AA") for day in range(1, 21)])
    add_records(old, [(datetime.date(2020, 1, 3), ""), (None, "WN2 2BB")])
    recent = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(recent, [(datetime.date(2026, 5, 2), "WN2 2BB")] * 3)
    counts_recount(supply_ids=[old.pk, recent.pk])
    assert_in_step()

    # 72 months before 2026-01-10 is 2020-01-10: nine days of January 2020 go, in batches.
    purged = records_purge(today=datetime.date(2026, 1, 10), batch_rows=4)

    assert purged == {OFFENCES: 10}  # nine located, one unlocated
    assert_in_step()
    key = (str(old.pk), old.dataset_id, old.agency.partnership_id, datetime.date(2020, 1, 1))
    no_areas = ("",) * len(AREAS)
    assert summary()[(*key, "WN1", *no_areas)] == 11
    assert (*key, "", *no_areas) not in summary()  # its only record went: no row of 0 is left


def test_deleting_a_supply_deletes_its_counts(personas):
    one = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    other = a_supply(personas, period_start=datetime.date(2026, 6, 1))
    add_records(one, [(datetime.date(2026, 5, 2), "WN1 1AA")])
    add_records(other, [(datetime.date(2026, 6, 2), "WN1 1AA")])
    counts_recount(supply_ids=[one.pk, other.pk])

    Record.objects.filter(supply=one).delete()
    one.delete()

    assert [key[0] for key in summary()] == [str(other.pk)]
    assert_in_step()


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_records_already_there(personas):
    executor = MigrationExecutor(connection)
    target = next(
        key for key in executor.loader.graph.leaf_nodes() if key[0] == "datasets"
    )  # the latest, to come back to
    summary_migration = next(
        key
        for key in executor.loader.disk_migrations
        if key[0] == "datasets" and key[1].endswith("record_monthly_count")
    )
    before = next(
        parent
        for parent in executor.loader.graph.node_map[summary_migration].parents
        if parent.key[0] == "datasets"
    ).key
    one = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(one, [(datetime.date(2026, 5, 2), "WN1 1AA"), (datetime.date(2026, 6, 9), "")])
    add_records(one, [(datetime.date(2026, 5, 30), "WN1 1AA"), (None, "WN3 1AA")])
    try:
        executor.migrate([before])
        executor.loader.build_graph()
        executor.migrate([target])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert sum(summary().values()) == 3
    assert_in_step()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_benchmark_fill_counts_what_it_copies():
    from datasets.bench.scale import bench_fill, bench_fill_clear

    filled = bench_fill(records=3000, months=2)

    assert filled["records"] == 3000
    assert sum(summary().values()) == Record.objects.exclude(event_date=None).count() == 3000
    assert_in_step()
    bench_fill_clear()
    assert summary() == {}


# -- the workspace's counts from either source ------------------------------------------------


@pytest.fixture
def two_partnerships(personas):
    police = Agency.objects.get(name=POLICE)
    bolton = partnership_ensure(name="Bolton CSP", slug="bolton", postcode_areas=["BL"])
    return {
        "personas": personas,
        "police": police,
        "bolton_police": agency_ensure(
            partnership=bolton, name="GMP (Bolton)", agency_type=police.agency_type,
            acting_user=None,
        ),
    }  # fmt: skip


BASE = datetime.date(2026, 1, 1)
POSTCODES = ["WN1 1AA", "WN1 2BB", "WN2 3CC", "WN11AA", "", "BL1 1AA"]
DISTRICTS = ["WN1", "WN2", "WN11AA", "BL1", "WN9"]
# Supplies the records fall in: who supplied them, how they stand, and which dataset.
SUPPLIES = [
    ("police", {}, OFFENCES),
    ("police", {"superseded": True}, OFFENCES),
    ("police", {"status": SupplyStatus.FAILED}, OFFENCES),
    ("police", {"status": SupplyStatus.REPORTING}, OFFENCES),
    ("police", {}, "police_incident"),
    ("bolton_police", {}, OFFENCES),
]

records_strategy = st.lists(
    st.tuples(
        st.integers(0, len(SUPPLIES) - 1),
        st.one_of(st.none(), st.integers(0, 150)),
        st.sampled_from(POSTCODES),
        st.booleans(),  # purged afterwards
    ),
    max_size=60,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=records_strategy,
    start=st.integers(0, 150),
    length=st.integers(0, 150),
    districts=st.one_of(st.none(), st.lists(st.sampled_from(DISTRICTS), min_size=1)),
)
def test_counts_from_the_summary_equal_counts_from_the_records(
    two_partnerships, rows, start, length, districts
):
    world = two_partnerships
    with transaction.atomic():
        supplies = []
        for agency, standing, slug in SUPPLIES:
            made = a_supply(
                world["personas"], period_start=BASE, agency=world[agency], dataset=slug,
                **{k: v for k, v in standing.items() if k == "status"},
            )  # fmt: skip
            if standing.get("superseded"):
                made.superseded_by = supplies[0]
                made.save(update_fields=["superseded_by"])
            supplies.append(made)
        for index, day, postcode, _ in rows:
            event_date = None if day is None else BASE + datetime.timedelta(days=day)
            add_records(supplies[index], [(event_date, postcode)])
        counts_recount(supply_ids=[made.pk for made in supplies])
        purged = [
            record.pk
            for record, (*_, purge) in zip(Record.objects.order_by("pk"), rows, strict=True)
            if purge
        ]
        counts_forget(record_ids=purged)
        Record.objects.filter(pk__in=purged).delete()
        assert_in_step()

        first = BASE + datetime.timedelta(days=start)
        query = ExtractQuery(
            partnership_id=world["police"].partnership_id,
            dataset=Dataset.objects.get(slug=OFFENCES),
            period=(first, first + datetime.timedelta(days=length)),
            fields=[],
            area={"districts": districts} if districts else {},
        )
        assert by_cell(counts_frame(query, None)) == by_cell(query.counts(None))
        # The map's points likewise: every weekday is the same records, from the records.
        from_records = locations_count(query=replace(query, weekdays=[1, 2, 3, 4, 5, 6, 7]))
        assert located_by_point(locations_count(query=query)) == located_by_point(from_records)
        transaction.set_rollback(True)


def located_by_point(locations) -> dict:
    points = zip(
        locations.eastings.tolist(), locations.northings.tolist(), locations.counts.tolist(),
        locations.key_sums.tolist(), strict=True,
    )  # fmt: skip
    return {
        "points": {(e, n): (count, key_sum) for e, n, count, key_sum in points},
        "unlocated": locations.unlocated,
    }


def _from_records(monkeypatch):
    monkeypatch.setattr(
        counts,
        "counts_frame",
        lambda query, breakdown, area_kind="district": query.counts(
            breakdown or None, area_kind=area_kind
        ),
    )


@pytest.mark.parametrize("districts", ["", "WN1,WN2"])
def test_workspace_counts_are_the_same_from_either_source_exact_or_perturbed(
    personas, monkeypatch, districts
):
    may = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(may, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 40)
    add_records(may, [(datetime.date(2026, 5, 9), "WN2 3CC")] * 3)  # a small number
    add_records(may, [(datetime.date(2026, 4, 20), "WN2 3CC")] * 12)  # part of a month
    add_records(may, [(datetime.date(2026, 6, 12), "WN1 1AA")] * 15)  # past the period's end
    add_records(may, [(datetime.date(2026, 6, 1), "")] * 2)
    counts_recount(supply_ids=[may.pk])
    params = QueryDict(mutable=True)
    params.update({"dataset": OFFENCES, "period_start": "2026-04-15", "period_end": "2026-06-10"})
    if districts:
        params["districts"] = districts

    # Perturbed counts are of whole months: April to June.
    months = params.copy()
    months.update({"period_start": "2026-04-01", "period_end": "2026-06-30"})

    def counted(user):
        chosen = params if user == analyst else months
        return workspace_counts(
            workspace=workspace_query(user=user, params=chosen, route="test"), breakdown=None
        )

    factories.profile_level(OFFENCES, AccessLevel.AGGREGATE)  # counts only, perturbed
    analyst, associate = personas["analyst"], personas["associate_analyst"]
    with CaptureQueriesContext(connection) as queries:
        exact, perturbed_ = counted(analyst), counted(associate)
    assert any(SUMMARY_TABLE in query["sql"] for query in queries.captured_queries)
    _from_records(monkeypatch)
    assert counted(analyst) == exact
    assert counted(associate) == perturbed_  # the summary's key sums are the records'

    cells = dict(exact.table.rows)
    assert cells[("2026-05", "WN2")] == [3, 3]  # May's three in WN2, exact for the analyst
    assert dict(exact.monthly)["2026-05"] == 43
    keys = list(
        Record.objects.filter(supply=may, event_date__month=5).values_list("record_key", flat=True)
    )
    assert dict(perturbed_.monthly)["2026-05"] == perturbed([len(keys)], [sum(keys)])[0]


@pytest.mark.parametrize(
    "extra",
    [{"hour_from": "21", "hour_to": "4"}, {"weekdays": "6,7"},
     {"category": "flag_domestic", "values": "Y"}],
)  # fmt: skip
def test_filters_the_summary_cannot_answer_count_the_records(personas, extra):
    may = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(may, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 12)
    counts_recount(supply_ids=[may.pk])
    params = QueryDict(mutable=True)
    params.update({"dataset": OFFENCES, "period_start": "2026-05-01", "period_end": "2026-05-31"})
    params.update(extra)

    workspace = workspace_query(user=personas["analyst"], params=params, route="test")
    with CaptureQueriesContext(connection) as queries:
        workspace_counts(workspace=workspace, breakdown=None)
        located = locations_count(query=workspace.query)

    assert not any(SUMMARY_TABLE in query["sql"] for query in queries.captured_queries)
    assert not any(POINTS_TABLE in query["sql"] for query in queries.captured_queries)
    assert located.located <= 12


def test_the_maps_whole_months_come_from_the_points_and_a_part_month_from_the_records(
    personas,
):
    may = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(may, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 12)
    add_records(may, [(datetime.date(2026, 6, 3), "WN1 1AA")] * 5)
    add_records(may, [(datetime.date(2026, 5, 9), "")] * 2)
    counts_recount(supply_ids=[may.pk])
    params = QueryDict(mutable=True)
    params.update({"dataset": OFFENCES, "period_start": "2026-05-01", "period_end": "2026-06-10"})
    workspace = workspace_query(user=personas["analyst"], params=params, route="test")

    with CaptureQueriesContext(connection) as queries:
        located = locations_count(query=workspace.query)

    read = [query["sql"] for query in queries.captured_queries]
    assert [POINTS_TABLE in statement for statement in read] == [True, False]
    assert located_by_point(located) == {
        "points": {point_of("WN1 1AA"): (17, sum(Record.objects.filter(
            supply=may, postcode="WN1 1AA").values_list("record_key", flat=True)))},
        "unlocated": 2,
    }  # fmt: skip


def test_a_breakdown_counts_the_records(personas):
    may = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(may, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 12)
    counts_recount(supply_ids=[may.pk])
    params = QueryDict(mutable=True)
    params.update({"dataset": OFFENCES, "period_start": "2026-05-01", "period_end": "2026-05-31"})

    with CaptureQueriesContext(connection) as queries:
        result = workspace_counts(
            workspace=workspace_query(user=personas["analyst"], params=params, route="test"),
            breakdown="ho_offence_code",
        )

    assert not any(SUMMARY_TABLE in query["sql"] for query in queries.captured_queries)
    assert result.monthly == [("2026-05", 12)]


def test_the_whole_months_of_a_period():
    whole = counts._whole_months
    day = datetime.date
    assert whole((day(2026, 1, 1), day(2026, 3, 31))) == (day(2026, 1, 1), day(2026, 3, 1))
    assert whole((day(2026, 1, 2), day(2026, 3, 30))) == (day(2026, 2, 1), day(2026, 2, 1))
    assert whole((day(2026, 1, 31), day(2026, 2, 28))) == (day(2026, 2, 1), day(2026, 2, 1))
    assert whole((day(2025, 12, 5), day(2026, 1, 30))) is None
    assert whole((day(2024, 2, 1), day(2024, 2, 29))) == (day(2024, 2, 1), day(2024, 2, 1))
    assert whole((day(2024, 2, 1), day(2024, 2, 28))) is None


def test_the_recount_command_rebuilds_summaries_an_older_worker_left_behind(personas):
    may = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(may, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 3 + [(None, "")])
    counts_recount(supply_ids=[may.pk])
    # A worker on the code before the points table counted this supply's areas only.
    RecordMonthlyPoint.objects.filter(supply=may).delete()
    RecordMonthlyCount.objects.filter(supply=may).update(count=1)

    call_command("recount_summaries", stdout=io.StringIO())

    assert_in_step()
    assert sum(count for count, _ in points().values()) == 3
