"""Whether a file's records belong to the period it was supplied for.

A month's file sent as another month's would load beside the right month's records and
double-count them, so a supply whose records are dated mostly outside its period stops
before it reaches the warehouse, and says which period the file seems to cover.
"""

from __future__ import annotations

import datetime
from collections import Counter

import pandas as pd

# A small share of records may be out of place (a typing slip, a date recorded late); more
# than this many dated after the period says the file is another period's.
AFTER_PERIOD_LIMIT = 0.05
# Events (a crime, a call-out) are mostly dated within the period they are supplied for,
# though some are recorded months after they happened; fewer than this share within it says
# the file is another period's.
WITHIN_PERIOD_LEAST = 0.25
# The months holding all but this share of the records at either end are the ones the file
# "seems to cover".
COVER_TAIL = 0.05


class PeriodTally:
    """The event months of a supply's accepted records, counted chunk by chunk."""

    def __init__(self, period: tuple[datetime.date, datetime.date], *, ongoing: bool):
        self.start, self.end = (pd.Timestamp(day) for day in period)
        self.ongoing = ongoing
        self.months: Counter[pd.Period] = Counter()
        self.after = self.within = 0

    def add(self, dates: pd.Series) -> None:
        dates = dates.dropna()
        self.after += int((dates > self.end).sum())
        self.within += int(dates.between(self.start, self.end).sum())
        self.months.update(dates.dt.to_period("M").value_counts().to_dict())

    @property
    def dated(self) -> int:
        return self.months.total()

    def problem(self, *, column: str) -> str | None:
        """Why the records cannot be this period's, for the supplier; None if they can be.

        ``column`` is the supplier's name for the date column."""
        if not self.dated:
            return None
        after_share = self.after / self.dated
        within_share = self.within / self.dated
        declared = _period_text(self.start, self.end)
        if after_share > AFTER_PERIOD_LIMIT:
            found = (
                f"{self.after:,} of the {self.dated:,} dated records ({after_share:.0%}) are "
                f"dated after the period you gave, which ends {self.end:%d/%m/%Y}"
            )
        elif not self.ongoing and within_share < WITHIN_PERIOD_LEAST:
            found = (
                f"only {self.within:,} of the {self.dated:,} dated records ({within_share:.0%}) "
                f"are dated within the period you gave, {self.start:%d/%m/%Y} to "
                f"{self.end:%d/%m/%Y}"
            )
        else:
            return None
        first, last = self._covered()
        seems = _months_text(first, last)
        return (
            f"The file does not look like one for {declared}: {found}. Its records are dated "
            f"mostly in {seems}, so the file seems to cover {seems}. Nothing was loaded, and "
            f"any earlier supply for {declared} stands. If the file is for {seems}, supply it "
            f"again with that period; if it is for {declared}, check the dates in the column "
            f"“{column}” and supply it again."
        )

    def _covered(self) -> tuple[pd.Period, pd.Period]:
        """The first and last months of those holding all but the tails of the records."""
        months = pd.Series(self.months).sort_index()
        share = months.cumsum() / months.sum()
        first = share[share > COVER_TAIL].index[0]
        last = share[share >= 1 - COVER_TAIL].index[0]
        return first, last


def _period_text(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """A period in words: its months when it is whole months, else its first and last days."""
    if start.is_month_start and end.is_month_end:
        return _months_text(start.to_period("M"), end.to_period("M"))
    return f"{start:%d/%m/%Y} to {end:%d/%m/%Y}"


def _months_text(first: pd.Period, last: pd.Period) -> str:
    if first == last:
        return f"{first:%B %Y}"
    return f"{first:%B %Y} to {last:%B %Y}"
