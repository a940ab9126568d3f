"""Each record's location precision, in metres, beside its location method: one figure per
method, in every record extract, and nothing where the method has none."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile

import pandas as pd
import pytest

from datasets.models import Dataset
from sanitise.choices import LOCATION_PRECISION_M, LocationMethod
from sharing.disclosure import KAnonymity
from sharing.files import write_csv_copy, write_csv_zip
from sharing.reading import stream_rows
from sharing.records import ExtractQuery
from tests.conftest import supply_row
from tests.records import records_create
from tests.sharing.test_extract_fast_path import METADATA

pytestmark = pytest.mark.django_db

PERIOD = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))


@pytest.fixture
def located(personas):
    """An offence located by each method."""
    police = personas["police_supplier"].memberships.get().agency
    dataset = Dataset.objects.get(slug="police_crime_offence")
    supply = supply_row(
        dataset=dataset, agency=police, uploaded_by=personas["police_supplier"],
        period_start=PERIOD[0], period_end=PERIOD[1], status="completed",
        record_count=0, accepted_count=0, rejected_count=0,
    )  # fmt: skip
    records_create(
        dict(
            partnership_id=police.partnership_id,
            dataset=dataset,
            supply=supply,
            row_number=number,
            event_date=PERIOD[0],
            easting=None if method == LocationMethod.UNLOCATED else 358000 + number,
            northing=None if method == LocationMethod.UNLOCATED else 405000,
            postcode="" if method == LocationMethod.UNLOCATED else "WN1 1AA",
            location_method=method,
            data={"crime_ref": f"CR{number}"},
        )
        for number, method in enumerate(LocationMethod)
    )
    return ExtractQuery(
        partnership_id=police.partnership_id, dataset=dataset, period=PERIOD, fields=["crime_ref"]
    )


def test_the_precision_stands_beside_the_method_with_each_methods_figure(located):
    select, params, columns = located.records()
    (frame,) = list(stream_rows(select, params, columns))

    method = columns.index("location_method")
    assert columns[method : method + 2] == ["location_method", "location_precision_m"]
    precision = dict(zip(frame["location_method"], frame["location_precision_m"], strict=True))
    assert precision == {
        "centroid": 100, "moved": None, "place": None, "site": 100, "unlocated": None,
    }  # fmt: skip
    assert precision == {str(method): metres for method, metres in LOCATION_PRECISION_M.items()}


def test_both_csv_writers_give_the_same_precision(located):
    select, params, columns = located.records()
    frames_out, copy_out = io.BytesIO(), io.BytesIO()
    write_csv_zip(frames_out, "extract", stream_rows(select, params, columns), columns, METADATA)
    write_csv_copy(copy_out, "extract", located, columns, METADATA, lambda done, total: None)

    files = [zipfile.ZipFile(out).read("extract.csv").decode() for out in (frames_out, copy_out)]
    assert files[0] == files[1]
    rows = list(csv.DictReader(io.StringIO(files[0])))
    assert {row["location_method"]: row["location_precision_m"] for row in rows} == {
        "centroid": "100", "moved": "", "place": "", "site": "100", "unlocated": "",
    }  # fmt: skip


def test_a_row_generalised_to_its_postcode_sector_loses_its_precision_with_its_coordinates():
    frame = pd.DataFrame(
        {
            "age": ["31", "32"],
            "postcode": ["WN1 1AA", "WN1 1AB"],
            "easting": [358000, 358001],
            "northing": [405000, 405001],
            "location_method": ["centroid", "centroid"],
            "location_precision_m": [100, 100],
        },
        dtype=object,
    )
    check = KAnonymity(quasi=["age", "postcode"], k=2)
    check.learn(iter([frame]))

    out = check.apply(frame)

    assert out["postcode"].tolist() == ["WN1 1", "WN1 1"]
    assert out[["easting", "northing", "location_precision_m"]].isna().all().all()
    assert out["location_method"].tolist() == ["centroid", "centroid"]
