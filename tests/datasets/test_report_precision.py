"""The supply report says how precise each way of locating records is, in words."""

from __future__ import annotations

import datetime
import html

import pytest

from datasets.models import Dataset
from sanitise.choices import LOCATION_PRECISION_TEXT
from tests.conftest import sign_in, supply_row

pytestmark = pytest.mark.django_db


def test_the_report_gives_each_location_methods_precision(client, personas):
    police = personas["police_supplier"].memberships.get().agency
    supply = supply_row(
        dataset=Dataset.objects.get(slug="police_crime_offence"), agency=police,
        uploaded_by=personas["police_supplier"], period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31), status="completed", record_count=10,
        accepted_count=10, rejected_count=0,
        report={"locations": {"centroid": 6, "moved": 2, "place": 1, "site": 0, "unlocated": 1}},
    )  # fmt: skip
    sign_in(client, personas["police_supplier"])

    page = html.unescape(client.get(f"/supplies/{supply.pk}/").content.decode())

    table = page[page.index('<table class="locations">') :]
    table = table[: table.index("</table>")]
    assert '<th scope="col">Precision</th>' in table
    for method, words in LOCATION_PRECISION_TEXT.items():
        assert words in table, method
    assert "Within about 100 m in towns" in table
    row = table[table.index("At their postcode's centroid") :]
    assert row.index("<td>6</td>") < row.index("Within about 100 m in towns")
