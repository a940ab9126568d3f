"""Values a spreadsheet would run as a formula, made safe for every file the hub hands out.

One rule for every CSV and workbook the hub writes (extracts, counts, consoles, and the
rejected rows sent back to suppliers): a cell that starts with one of ``FORMULA_STARTS`` gets
a leading apostrophe, so that Excel or LibreOffice shows it as text instead of running it.
It lives here, below ``sharing``, so that ``datasets`` can apply it to its files too.
"""

from __future__ import annotations

import codecs
import re

import pandas as pd
from psycopg2 import sql

# The first characters that make a spreadsheet run a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[" + re.escape("".join(FORMULA_STARTS)) + "]"
# Excel reads a CSV as UTF-8 only when it starts with the byte-order mark; without it, "£40"
# shows as "Â£40".
UTF8_BOM = codecs.BOM_UTF8
NEUTRALISED_NOTE = (
    "Values that start with =, +, -, @, a tab or a carriage return have an apostrophe (') "
    "added in front, so that a spreadsheet shows them rather than running them as formulas; "
    "the apostrophe is not part of the value."
)


def neutralise_cell(value):
    """One cell, as neutralise_formulas does for a whole frame."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def neutralise_sql(text: sql.Composable) -> sql.Composable:
    """neutralise_cell in SQL, for a text expression; empty text becomes NULL, since COPY
    would quote it ("") where the frames' CSV leaves both empty."""
    starts = sql.SQL(", ").join(sql.Literal(ord(start)) for start in FORMULA_STARTS)
    return sql.SQL(
        "CASE WHEN ascii({text}) IN ({starts}) THEN '''' || {text} ELSE NULLIF({text}, '') END"
    ).format(text=text, starts=starts)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells a spreadsheet would run as a formula (=, +, -, @, tab, CR) get a leading quote."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(out[column]):
            text = out[column]
            risky = text.astype(str).str.match(_FORMULA_START) & text.notna()
            if risky.any():
                out.loc[risky, column] = "'" + text[risky].astype(str)
    return out
