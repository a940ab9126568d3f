"""The supplier's report speaks of the supplier's file: their own column names, the values
they wrote, rows in order, and a header found below a title. Real loads through a worker."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.datasets.test_pipeline import (
    OFFENCE_HEADER,
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
    world,  # noqa: F401 - the fixture, shared with the pipeline's tests
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FORCE_HEADER = ["Crime Number", "HO Offence Code", "Date Committed From", "Time Committed From",
                "Location", "Postcode", "Easting", "Northing", "Domestic Flag"]  # fmt: skip


@pytest.fixture
def wigan(world):  # noqa: F811
    return world


def test_errors_name_the_suppliers_columns_quote_the_value_and_run_in_row_order(api_client, wigan):
    rows = offence_rows(6)
    rows[4][2] = "31/09/2026"  # row 6: no such date
    rows[1][8] = "Maybe"  # row 3: not a flag
    rows[3][0] = rows[0][0]  # row 5: repeats row 2's crime number
    supply_id = supply(api_client, wigan["police_supplier"], csv_bytes(FORCE_HEADER, rows))

    assert wait_for(api_client, supply_id)["status"] == "completed"
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (3, "Domestic Flag"), (5, "Crime Number"), (6, "Date Committed From"),
    ]  # fmt: skip
    assert report["errors"][0]["field"] == "flag_domestic"  # the API still names the field
    assert report["errors"][0]["message"].startswith("'Maybe'")
    assert report["errors"][1]["message"] == (
        "Repeats the Crime Number of row 2; each must appear once."
    )
    assert report["errors"][2]["message"].startswith("'31/09/2026'")


def test_an_xlsx_with_a_title_row_loads_and_says_where_its_header_was(api_client, wigan):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Greater Manchester Police, Wigan: recorded crime, October 2026"])
    sheet.append(["Produced by the force's performance team"])
    sheet.append(OFFENCE_HEADER)
    for row in offence_rows(5):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)

    supply_id = supply(api_client, wigan["police_supplier"], buffer.getvalue(), name="oct.xlsx")

    body = wait_for(api_client, supply_id)
    assert (body["status"], body["accepted_count"]) == ("completed", 5)
    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    [note] = [w for w in report["warnings"] if w["code"] == "header_not_first"]
    assert note["message"].startswith("The column names were found on row 3")


def test_a_file_naming_no_column_says_what_it_read(api_client, wigan):
    content = csv_bytes(["Report", "Notes"], [["October", "see attached"]])

    supply_id = supply(api_client, wigan["police_supplier"], content)

    assert wait_for(api_client, supply_id)["status"] == "rejected"
    [problem] = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()["problems"]
    assert problem.startswith(
        "No row among the first 20 names any of the dataset's columns; the row read as the "
        "header, row 1, has “Report”, “Notes”."
    )
