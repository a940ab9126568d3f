"""Home Office offence codes are written one way however a force writes them ("8N", "008N",
"008/N" are one code), stored that way, counted and grouped as one, and checked against the
published list (datasets.codelists)."""

from __future__ import annotations

import datetime
import importlib
from collections import Counter

import pandas as pd
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import QueryDict
from psycopg2 import sql

from datasets.codelists import (
    CODE_LIST_DIR,
    home_office_offence_listed,
    normalise_home_office_offence,
    read_code_list,
)
from datasets.models import Record
from sanitise.demo import demo_gazetteer_load
from sharing.workspace.counts import (
    OFFENCE_GROUPS,
    VIOLENCE,
    offence_group_sql,
    offence_groups,
    workspace_counts,
)
from sharing.workspace.filters import workspace_query
from tests.datasets.test_pipeline import (
    OFFENCE_HEADER,
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
)
from tests.records import record_fields

CODE_LIST = read_code_list(
    CODE_LIST_DIR / "ho_offence_codes.csv",
    rule="home_office_offence",
    pattern="^[0-9]{1,3}(/?[0-9]{1,2}|/?[A-Za-z])?$",
)
FIELD_COLUMNS = ("datasets", "0015_record_field_columns")


def normal(*values) -> list:
    normalised = normalise_home_office_offence(pd.Series(values, dtype=object))
    return [None if pd.isna(value) else value for value in normalised]


def test_the_forms_in_the_issue_are_one_code():
    assert normal("8N", "008N", "008/N") == ["8N", "8N", "8N"]


def test_case_spaces_and_leading_zeros_do_not_matter():
    assert normal(" 8n ", "8 n", "008 / n", "0105a", "105A", "58j") == [
        "8N", "8N", "8N", "105A", "105A", "58J",
    ]  # fmt: skip


def test_a_number_subclass_is_one_code_however_padded_or_separated():
    # The Counting Rules' 4/10 is ONS's 4.10 and a force system's 004/10; 4/1 is not 4/10.
    assert normal("004/10", "4/10", "4.10", "4.1", "004/01", "028/01", "28/1") == [
        "4/10", "4/10", "4/10", "4/1", "4/1", "28/1", "28/1",
    ]  # fmt: skip


def test_a_class_is_its_digits_and_subclass_zero_is_the_class_itself():
    assert normal("045/00", "45", "15/00", "801", "802", "0") == [
        "45", "45", "15", "801", "802", "0",
    ]  # fmt: skip


def test_what_is_not_a_code_has_no_normal_form():
    assert normal("Burglary", "02801", "1234", "8//N", "8NN", "", None) == [None] * 7


def test_the_published_list_decides_letter_codes_and_classes_decide_number_subclasses():
    codes = pd.Series(["8N", "8Z", "28/1", "28", "801/1", "4/10", "801"], dtype="string")
    assert list(home_office_offence_listed(codes, CODE_LIST)) == [
        True, False, True, True, False, True, False,
    ]  # fmt: skip


def test_offence_groups_read_every_form_of_a_code_stored_now_or_before():
    codes = pd.Series(["8N", "008N", "008/N", "28/1", "028/01", "105A", "058C", "99", None])
    assert list(offence_groups(codes)) == [VIOLENCE] * 3 + ["Burglary"] * 2 + [
        VIOLENCE, "Criminal damage and arson", "Other offences", "Other offences",
    ]  # fmt: skip


@pytest.mark.django_db
def test_the_sql_offence_class_is_the_one_offence_groups_reads():
    codes = ["8N", "008N", "008/N", "28/1", "028/01", "105A", "058C", "802", "Burglary"]
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT {} FROM unnest(%(codes)s::text[]) AS c(code)").format(
                offence_group_sql(sql.Identifier("c", "code"))
            ),
            {"codes": codes},
        )
        classes = [row[0] for row in cursor.fetchall()]
    assert classes == ["8", "8", "8", "28", "28", "105", "58", "802", None]
    assert set(classes[:3] + classes[5:6]) <= set(OFFENCE_GROUPS[VIOLENCE])


@pytest.fixture
def world(personas, celery_worker_process):
    demo_gazetteer_load()
    return personas


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_codes_written_three_ways_are_stored_counted_and_grouped_as_one(api_client, world):
    rows = offence_rows(6)
    for row, code in zip(rows, ["8N", "008N", "008/N", "028/01", "8z", "Burglary"], strict=True):
        row[1] = code
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(OFFENCE_HEADER, rows))

    body = wait_for(api_client, supply_id)

    assert (body["status"], body["accepted_count"], body["rejected_count"]) == ("completed", 5, 1)
    records = Record.objects.filter(supply_id=supply_id)
    codes = [record_fields(r)["ho_offence_code"] for r in records]
    assert Counter(codes) == {"8N": 3, "28/1": 1, "8Z": 1}
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(7, "not_a_code")]
    (warning,) = [w for w in report["warnings"] if w["code"] == "not_in_code_list"]
    assert (warning["row"], warning["field"]) == (6, "ho_offence_code")
    assert warning["message"].startswith("'8z' is not on the published")
    assert report["warning_counts"]["not_in_code_list"] == 1

    params = QueryDict(mutable=True)
    params.update({"dataset": "police_crime_offence", "period_start": "2026-10-01",
                   "period_end": "2026-10-31"})  # fmt: skip
    result = workspace_counts(
        workspace=workspace_query(user=world["analyst"], params=params, route="test"),
        breakdown="ho_offence_code",
    )
    assert sorted(result.table.columns) == ["28/1", "8N", "8Z", "Total"]
    (total,) = [values for labels, values in result.table.rows if labels[1] == "Total"]
    assert dict(zip(result.table.columns, total, strict=True))["8N"] == 3
    groups = offence_groups(pd.Series(codes))
    assert Counter(groups) == {VIOLENCE: 4, "Burglary": 1}


@pytest.mark.django_db(transaction=True)
def test_codes_stored_before_the_normal_form_are_rewritten_in_it(personas):
    from datasets.models import Dataset
    from tests.conftest import supply_row
    from tests.hub import owned

    offences = Dataset.objects.get(slug="police_crime_offence")
    stored = supply_row(
        agency=owned.agency(owned.POLICE), uploaded_by=personas["police_supplier"],
        dataset=offences, status="completed", period_start=datetime.date(2026, 9, 1),
        period_end=datetime.date(2026, 9, 30),
    )  # fmt: skip
    migration = importlib.import_module("datasets.migrations.0013_normalise_stored_codes")
    # The migration ran when the records' fields were one JSON column (before
    # 0015_record_field_columns): it is run against the records as they were then.
    executor = MigrationExecutor(connection)
    then = next(
        parent.key
        for parent in executor.loader.graph.node_map[FIELD_COLUMNS].parents
        if parent.key[0] == "datasets"
    )
    try:
        executor.migrate([then])
        apps = executor.loader.project_state(then).apps
        OldRecord = apps.get_model("datasets", "Record")
        for number, code in enumerate(["008N", "028/01", "105A", "Burglary"], 2):
            OldRecord.objects.create(
                partnership_id=stored.agency.partnership_id, dataset_id=offences.pk,
                supply_id=stored.pk, row_number=number, data={"ho_offence_code": code},
            )  # fmt: skip

        with connection.schema_editor() as editor:
            migration._normalise_stored_codes(apps, editor)

        codes = OldRecord.objects.order_by("row_number").values_list(
            "data__ho_offence_code", flat=True
        )
        assert list(codes) == ["8N", "28/1", "105A", "Burglary"]  # what it cannot read stays
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
