"""Tables of counts as they leave the hub: every cell and every total released by one rule.

Cells arrive as the records' count and the sum of their record keys (see perturbation). A
total is a cell of its own, the count and key sum of all its records, never a sum of released
cells: so a total shows the same value as the same records counted any other way.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from datasets.catalogue import FieldSpec
from sharing.disclosure.perturbation import perturbed

TOTAL = "Total"
OTHER_CODE = "(not a code)"
CELL = ["count", "key_sum"]


def released(counts, key_sums, *, exact: bool) -> np.ndarray:
    """The counts as shown: as they are to users who may see the records, else perturbed."""
    if exact:
        return np.asarray(counts, dtype=np.int64)
    return perturbed(counts, key_sums)


def count_table(
    cells: pd.DataFrame, *, rows: str, columns: str, within: tuple[str, ...] = (), exact: bool
) -> pd.DataFrame:
    """``cells`` (the ``within`` labels, ``rows``, ``columns``, count, key_sum; a cell may
    come in several parts) as one long table with a TOTAL row and column in each ``within``
    group, every count released. Columns: within, rows, columns, count."""
    group = list(within)
    cells = cells.groupby([*group, rows, columns], as_index=False, sort=False)[CELL].sum()
    parts = [cells]
    parts.append(_sums(cells, [*group, rows]).assign(**{columns: TOTAL}))
    parts.append(_sums(cells, [*group, columns]).assign(**{rows: TOTAL}))
    parts.append(_sums(cells, group).assign(**{rows: TOTAL, columns: TOTAL}))
    table = pd.concat(parts, ignore_index=True)[[*group, rows, columns, *CELL]]
    table["count"] = released(table["count"], table["key_sum"], exact=exact)
    return table.drop(columns="key_sum")


def _sums(cells: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if by:
        return cells.groupby(by, as_index=False, sort=False)[CELL].sum()
    return pd.DataFrame([cells[CELL].sum().to_numpy()], columns=CELL)


def codes_only(cells: pd.DataFrame, column: str, spec: FieldSpec | None) -> pd.DataFrame:
    """Values of a code-list field that are not codes, gathered under OTHER_CODE: whatever a
    supplier typed into a code field never becomes a label of a counts table."""
    if spec is None or not spec.code_pattern or cells.empty:
        return cells
    pattern = re.compile(spec.code_pattern)
    values = cells[column].astype(str)
    codes = values.map(lambda value: bool(pattern.fullmatch(value)))
    cells = cells.assign(**{column: values.where(codes, OTHER_CODE)})
    labels = [name for name in cells.columns if name not in CELL]
    return cells.groupby(labels, as_index=False, sort=False)[CELL].sum()


def without_zeros(table: pd.DataFrame) -> pd.DataFrame:
    """A released long table without its 0 cells, and so without any row or column that shows
    only 0s: a perturbed 0 (often a true 1) then looks like a cell with no records at all."""
    return table[table["count"] != 0].reset_index(drop=True)
