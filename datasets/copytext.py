"""Rows as PostgreSQL COPY text, built column by column with pyarrow rather than row by row.

A load of a million records spends most of its Python time turning cells into text; pyarrow's
compute kernels do it in C++, a column at a time. JSON objects (a record's identifying fields,
before they are encrypted) come out as ``pandas.DataFrame.to_json`` would write them (numbers
that pyarrow would format differently are written by pandas itself).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

# JSON needs these escaped inside strings; the backslash first, so that it is not doubled twice.
_ESCAPES = [("\\", "\\\\"), ('"', '\\"')] + [(chr(code), f"\\u{code:04x}") for code in range(0x20)]
_NEEDS_ESCAPE = '[\\\\"\\x{00}-\\x{1f}]'
TO_DATE = pc.CastOptions(pa.date32(), allow_time_truncate=True)
# COPY's text format needs these escaped in every field; the backslash first.
_COPY_ESCAPES = [("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")]
_NEEDS_COPY_ESCAPE = "[\\\\\t\n\r]"
# Bytes handed to libpq per call while a COPY streams: few calls, each one releasing the GIL.
COPY_BLOCK = 4 * 2**20


def _pandas_json(column: pd.Series) -> pa.Array:
    """The column's JSON values exactly as pandas writes them (for floats and anything else
    pyarrow has no text form for)."""
    lines = column.to_frame("v").to_json(orient="records", lines=True, force_ascii=False)
    # Each line is {"v":VALUE}; JSON escapes newlines inside strings, so "\n" ends a record.
    values = lines.rstrip("\n").split("\n")
    return pc.utf8_slice_codeunits(pa.array(values, type=pa.string()), 5, -1)


def _quoted(strings: pa.Array) -> pa.Array:
    """Strings as JSON string literals; nulls stay null."""
    if pc.any(pc.match_substring_regex(strings, _NEEDS_ESCAPE)).as_py():
        for plain, escaped in _ESCAPES:
            strings = pc.replace_substring(strings, plain, escaped)
    return pc.binary_join_element_wise('"', strings, '"', "")


def _is_text(column: pd.Series) -> bool:
    if pd.api.types.is_object_dtype(column.dtype):
        return pd.api.types.infer_dtype(column) in ("string", "empty")
    return pd.api.types.is_string_dtype(column.dtype)


def json_values(column: pd.Series) -> pa.Array:
    """Each value of the column as JSON text, "null" where missing."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        values = pa.array(column, type=pa.bool_(), from_pandas=True)
        text = pc.if_else(values, "true", "false")
    elif pd.api.types.is_integer_dtype(dtype):
        text = pc.cast(pa.array(column, type=pa.int64(), from_pandas=True), pa.string())
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        local = column.dt.tz_localize(None) if column.dt.tz else column
        dates = pc.cast(pa.array(local, from_pandas=True), options=TO_DATE)
        text = _quoted(pc.cast(dates, pa.string()))
    elif _is_text(column):
        text = _quoted(pa.array(column, type=pa.string(), from_pandas=True))
    else:
        return _pandas_json(column)
    return pc.fill_null(text, "null")


def json_objects(frame: pd.DataFrame) -> pa.Array:
    """Each row as a JSON object of its columns, in column order."""
    if frame.columns.empty:
        return pa.array(["{}"] * len(frame), type=pa.string())
    parts: list[object] = []
    for position, name in enumerate(frame.columns):
        parts.append(("{" if position == 0 else ",") + json.dumps(str(name)) + ":")
        parts.append(json_values(frame[name]))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _copy_field(column: pa.ChunkedArray) -> pa.Array:
    """A column as COPY text fields: backslash, tab, newline and carriage return escaped,
    ``\\N`` for NULL."""
    text = pc.cast(column.combine_chunks(), pa.large_string())
    if pc.any(pc.match_substring_regex(text, _NEEDS_COPY_ESCAPE)).as_py():
        for plain, escaped in _COPY_ESCAPES:
            text = pc.replace_substring(text, plain, escaped)
    return pc.fill_null(text, "\\N")


def copy_text(table: pa.Table) -> pa.Buffer:
    """The table in ``COPY ... FROM STDIN`` text format, one line per row.

    PostgreSQL parses this faster than CSV, whose quotes a JSON column is full of.
    """
    fields = [_copy_field(column) for column in table.columns]
    tab, newline, nothing = (pa.scalar(text, pa.large_string()) for text in ("\t", "\n", ""))
    lines = pc.binary_join_element_wise(*fields, tab)
    lines = pc.binary_join_element_wise(lines, newline, nothing)
    # The lines lie end to end in the array's data buffer: that buffer is the payload, as is.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2][start:end]


def copy_into(cursor, table: str, columns: list[str], payload: pa.Buffer) -> None:
    """COPY text made by ``copy_text`` into ``table``."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cursor.copy_expert(statement.as_string(cursor.connection), pa.BufferReader(payload), COPY_BLOCK)
