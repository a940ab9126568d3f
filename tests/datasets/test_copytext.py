"""COPY text and JSON built column by column: the same values as pandas row by row would give."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from django.db import connection

from datasets.copytext import copy_into, copy_text, json_objects

NASTY = [
    'a "quoted" word',
    "back\\slash and C:\\path",
    "tab\there, line\nbreak, return\r, bell\x07, escape\x1b",
    "",
    "é ü £ 🚀 \u2028 \u2029",
    "028/01",
    "\\N",
    "=SUM(A1)",
]


def nasty_frame() -> pd.DataFrame:
    n = len(NASTY)
    return pd.DataFrame(
        {
            "arrow_text": pd.Series(NASTY, dtype="str"),
            "nullable_text": pd.Series([None, *NASTY[1:]], dtype="string"),
            "object_text": pd.Series([*NASTY[:-1], None], dtype=object),
            "whole": pd.Series([1, None, -3, 0, 2**40, 6, 7, 8], dtype="Int64"),
            "flag": pd.Series([True, None, False, True, False, True, None, False], dtype="boolean"),
            "plain_flag": np.array([True, False] * (n // 2)),
            "number": [1.0, np.nan, 0.1, 1e20, 123456789.123456789, -0.0, 2.5, 358196.0],
            "day": pd.to_datetime(["2026-01-02", None, "1899-12-31", "2026-02-28"] * 2),
            "mixed": pd.Series([1, "x", None, 2.5, True, "y", None, "z"], dtype=object),
            "empty": pd.Series([np.nan] * n, dtype=object),
        }
    )


def pandas_json(frame: pd.DataFrame) -> list[dict]:
    """How the records were written before: pandas, row by row, dates as yyyy-mm-dd."""
    ready = frame.copy()
    for column in ready.columns:
        if pd.api.types.is_datetime64_any_dtype(ready[column]):
            ready[column] = ready[column].dt.strftime("%Y-%m-%d")
    text = ready.to_json(orient="records", lines=True, force_ascii=False)
    return [json.loads(line) for line in text.rstrip("\n").split("\n")]


def test_json_objects_hold_the_values_pandas_would_write():
    frame = nasty_frame()

    built = [json.loads(text) for text in json_objects(frame).to_pylist()]

    assert built == pandas_json(frame)
    assert built[0]["arrow_text"] == 'a "quoted" word'
    assert built[2]["arrow_text"].endswith("escape\x1b")
    assert built[4]["number"] == 123456789.123456791  # pandas' digits, not Python's repr


def test_json_objects_keep_key_order_and_write_an_empty_object_for_no_columns():
    frame = nasty_frame()

    assert list(json.loads(json_objects(frame).to_pylist()[0])) == list(frame.columns)
    assert json_objects(frame.iloc[:, :0]).to_pylist() == ["{}"] * len(frame)


@pytest.mark.django_db
def test_copy_text_reaches_postgresql_unchanged_with_null_apart_from_empty():
    frame = nasty_frame()
    table = pa.table(
        {
            "label": pa.array([*NASTY[:-1], None]),
            "whole": pa.array([1, None, -3, 0, 2**40, 6, 7, 8], type=pa.int64()),
            "day": pa.array([datetime.date(2026, 1, 2), None] * 4, type=pa.date32()),
            "data": json_objects(frame),
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE copy_check (label text, whole bigint, day date, data jsonb)"
        )
        copy_into(cursor, "copy_check", table.column_names, copy_text(table))
        cursor.execute("SELECT label, whole, day, data FROM copy_check")
        rows = cursor.fetchall()

    assert [row[0] for row in rows] == [*NASTY[:-1], None]
    assert rows[3][0] == "" and rows[6][0] == "\\N"  # an empty text and a text "\N" stay texts
    assert [row[1] for row in rows] == [1, None, -3, 0, 2**40, 6, 7, 8]
    assert [row[2] for row in rows] == [datetime.date(2026, 1, 2), None] * 4
    assert [json.loads(row[3]) for row in rows] == pandas_json(frame)
