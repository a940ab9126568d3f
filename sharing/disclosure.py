"""Disclosure control: how much detail a permitted answer may carry.

Aggregate extracts are counts with small numbers suppressed, and secondary suppression so
that totals cannot give them back. Depersonalised extracts for associate-tier users pass a
k-anonymity check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

SUPPRESSED = "<{threshold}"  # how a suppressed count is shown


def suppress_counts(counts: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Counts by month × area × category with totals, small numbers suppressed.

    Primary: any count from 1 to threshold − 1. Secondary: within each month, every row and
    column of the area × category table (its total included) has either no suppressed cell or
    at least two, so no suppressed count can be worked out from its total.
    """
    tables = []
    for month, group in counts.groupby("month", sort=True):
        table = group.pivot_table(
            index="area", columns="category", values="count", aggfunc="sum", fill_value=0
        )
        table["Total"] = table.sum(axis=1)
        table.loc["Total"] = table.sum(axis=0)
        hidden = (table > 0) & (table < threshold)
        changed = True
        while changed:
            changed = False
            for axis in (0, 1):
                lines = hidden if axis == 1 else hidden.T
                values = table if axis == 1 else table.T
                for label in lines.index:
                    if lines.loc[label].sum() == 1:
                        candidates = values.loc[label][~lines.loc[label] & (values.loc[label] > 0)]
                        if candidates.empty:
                            continue
                        smallest = candidates.idxmin()
                        if axis == 1:
                            hidden.loc[label, smallest] = True
                        else:
                            hidden.loc[smallest, label] = True
                        changed = True
        shown = table.astype(object).mask(hidden, SUPPRESSED.format(threshold=threshold))
        long = shown.stack().rename("count").reset_index()
        long.insert(0, "month", month)
        tables.append(long)
    if not tables:
        return pd.DataFrame(columns=["month", "area", "category", "count"])
    return pd.concat(tables, ignore_index=True)


@dataclass
class KAnonymity:
    """Generalises, then suppresses, the quasi-identifiers of rows in classes smaller than k."""

    quasi: list[str]
    k: int
    generalised_rows: int = 0
    suppressed_rows: int = 0
    _small: pd.MultiIndex | None = None
    _small_generalised: pd.MultiIndex | None = None

    @staticmethod
    def generalise(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        for column in out.columns:
            if column.endswith("age"):
                ages = pd.to_numeric(out[column], errors="coerce")
                band = (ages // 5 * 5).astype("Int64")
                out[column] = (band.astype(str) + "-" + (band + 4).astype(str)).where(ages.notna())
            elif column.endswith("postcode"):
                out[column] = out[column].str.slice(0, -2).str.strip()  # "WN1 1AA" → "WN1 1"
        return out

    def learn(self, chunks: Iterator[pd.DataFrame]) -> None:
        """First pass: the classes smaller than k, and which of them stay smaller than k once
        generalised (counted over the generalised rows only, since only they are changed)."""
        counts = [chunk[self.quasi].fillna("").astype(str).value_counts() for chunk in chunks]
        if not counts:
            return
        sizes = pd.concat(counts).groupby(level=list(range(len(self.quasi)))).sum()
        small = sizes[sizes < self.k]
        # One quasi-identifier gives a plain Index; membership tests need tuples throughout.
        small.index = pd.MultiIndex.from_frame(small.index.to_frame(index=False))
        self._small = small.index
        generalised = self.generalise(small.index.to_frame(index=False)).fillna("").astype(str)
        general_sizes = pd.Series(small.to_numpy(), index=pd.MultiIndex.from_frame(generalised))
        general_sizes = general_sizes.groupby(level=list(range(len(self.quasi)))).sum()
        still_small = general_sizes[general_sizes < self.k]
        self._small_generalised = pd.MultiIndex.from_frame(still_small.index.to_frame(index=False))

    def apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        if self._small is None or self._small.empty:
            return chunk
        values = chunk[self.quasi].fillna("").astype(str)
        small = pd.Series(pd.MultiIndex.from_frame(values).isin(self._small), index=chunk.index)
        if not small.any():
            return chunk
        generalised = self.generalise(values[small]).fillna("").astype(str)
        still_small = pd.Series(
            pd.MultiIndex.from_frame(generalised).isin(self._small_generalised),
            index=generalised.index,
        )
        chunk = chunk.copy()
        chunk.loc[small, self.quasi] = generalised[self.quasi].to_numpy()
        # A generalised postcode must not be given back by its centroid's coordinates.
        chunk.loc[small, ["easting", "northing"]] = None
        chunk.loc[still_small[still_small].index, self.quasi] = None
        self.generalised_rows += int(small.sum() - still_small.sum())
        self.suppressed_rows += int(still_small.sum())
        return chunk
