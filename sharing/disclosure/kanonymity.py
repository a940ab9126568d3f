"""k-anonymity for associate-tier record outputs: every combination of quasi-identifiers
shown is shared by at least k rows, by generalising (ages to five-year bands, postcodes to
sectors, addresses dropped) and then suppressing what is still rarer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd


@dataclass
class KAnonymity:
    """Generalises, then suppresses, the quasi-identifiers of rows in classes smaller than k."""

    quasi: list[str]
    k: int
    generalised_rows: int = 0
    suppressed_rows: int = 0
    _large: pd.MultiIndex | None = None
    _large_generalised: pd.MultiIndex | None = None

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
            elif column.endswith("address") or column.startswith("lsoa_"):
                # A street, or an LSOA (smaller than a sector), would narrow the sector back
                # down; the ward, larger, stays.
                out[column] = None
        return out

    def learn(self, chunks: Iterator[pd.DataFrame]) -> None:
        """First pass, over exactly the rows the second will see: the classes of k rows or
        more as they are, and as generalised."""
        counts = [chunk[self.quasi].fillna("").astype(str).value_counts() for chunk in chunks]
        if not counts:
            return
        sizes = pd.concat(counts).groupby(level=list(range(len(self.quasi)))).sum()
        # One quasi-identifier gives a plain Index; membership tests need tuples throughout.
        sizes.index = pd.MultiIndex.from_frame(sizes.index.to_frame(index=False))
        self._large = sizes.index[sizes >= self.k]
        small = sizes[sizes < self.k]
        generalised = self.generalise(small.index.to_frame(index=False)).fillna("").astype(str)
        general_sizes = pd.Series(small.to_numpy(), index=pd.MultiIndex.from_frame(generalised))
        general_sizes = general_sizes.groupby(level=list(range(len(self.quasi)))).sum()
        large = general_sizes[general_sizes >= self.k]
        self._large_generalised = pd.MultiIndex.from_frame(large.index.to_frame(index=False))

    def _names(self, chunk: pd.DataFrame) -> list[str]:
        """The name columns of the quasi-identifiers that are area codes (ward_name)."""
        return [
            column[: -len("_code")] + "_name"
            for column in self.quasi
            if column.endswith("_code") and column[: -len("_code")] + "_name" in chunk
        ]

    def apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """Rows whose class was counted at k or more stay as they are; every other row (in a
        small class, or one the first pass never saw) is generalised, and suppressed unless
        its generalised class was counted at k or more."""
        if chunk.empty:
            return chunk
        values = chunk[self.quasi].fillna("").astype(str)
        known = self._large if self._large is not None else pd.MultiIndex.from_tuples([])
        small = ~pd.Series(pd.MultiIndex.from_frame(values).isin(known), index=chunk.index)
        if not small.any():
            return chunk
        generalised = self.generalise(values[small]).fillna("").astype(str)
        large = self._large_generalised
        still_small = ~pd.Series(
            pd.MultiIndex.from_frame(generalised).isin(large) if large is not None else False,
            index=generalised.index,
        )
        chunk = chunk.copy()
        chunk.loc[small, self.quasi] = generalised[self.quasi].to_numpy()
        # A generalised postcode must not be given back by its centroid's coordinates; a
        # sector has no precision of a centroid's either.
        located = [
            c for c in ("easting", "northing", "location_precision_m", "lsoa_name") if c in chunk
        ]
        chunk.loc[small, located] = None
        # An area's name goes with its code (a suppressed ward's name would give it back).
        named = [*self.quasi, *self._names(chunk)]
        chunk.loc[still_small[still_small].index, named] = None
        self.generalised_rows += int(small.sum() - still_small.sum())
        self.suppressed_rows += int(still_small.sum())
        return chunk
