"""Dates as the hub's pages write them: days as dd/mm/yyyy, months as "August 2026"."""

from __future__ import annotations

import datetime
import re

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_words(label: str) -> str:
    """A month given as "2026-08" as "August 2026"; any other text as it is."""
    found = _MONTH.match(str(label))
    if not found or not 1 <= int(found[2]) <= 12:
        return str(label)
    return f"{datetime.date(int(found[1]), int(found[2]), 1):%B %Y}"
