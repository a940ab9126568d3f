"""Working days as the Freedom of Information Act 2000 counts them (s.10(6)): every day but
Saturdays, Sundays, Christmas Day, Good Friday and the bank holidays of any part of the
United Kingdom, from the ``holidays`` package (which follows each year's proclamations)."""

from __future__ import annotations

import datetime
from functools import cache

import holidays

# "A bank holiday ... in any part of the United Kingdom" (s.10(6)): Scotland's 2 January and
# Northern Ireland's 17 March are not working days in England either (the ICO's line to
# take LTT47). Christmas Day and Good Friday are bank holidays in every part.
UK_PARTS = ("ENG", "NIR", "SCT", "WLS")


@cache
def _bank_holidays(year: int) -> frozenset[datetime.date]:
    days: set[datetime.date] = set()
    for part in UK_PARTS:
        days.update(holidays.country_holidays("GB", subdiv=part, years=year))
    return frozenset(days)


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_day_after(start: datetime.date, count: int) -> datetime.date:
    """The ``count``-th working day after ``start`` (the day after ``start`` is the first
    that can count, whatever ``start`` itself is)."""
    day = start
    while count > 0:
        day += datetime.timedelta(days=1)
        count -= is_working_day(day)
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """The working days after ``start`` up to and including ``end``; 0 unless end > start."""
    days = (end - start).days
    return sum(is_working_day(start + datetime.timedelta(days=n)) for n in range(1, days + 1))
