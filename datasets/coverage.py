"""Which months of a period current supplies cover: a read (selector) of supplies only.

"No supply" is a fact about supplies, not a count: a month no current supply covers has
nothing to count, and shows as "no supply", never as 0. Whether a month is supplied is decided
from current supplies' periods alone (Supply.objects.current()), never from whether records
exist, so a current supply with no records (a nil return: the agency had nothing to report)
covers its months, which then show 0.

The rule for agencies that share a dataset: where agencies are scheduled to supply it
(SupplySchedule), a month that some of those in scope supplied and others did not is PARTIAL:
its counts are what was supplied, and the note names who did not supply. A month that nobody
supplied is NONE, scheduled or not; a supply from an agency with no schedule counts as one.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from datasets.choices import MonthCoverage
from datasets.models import Dataset, Supply, SupplySchedule

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class MonthSupply:
    """One month of a period, and whether current supplies cover it."""

    month: str  # "YYYY-MM"
    state: str  # MonthCoverage
    # Scheduled agencies (with the dataset's name where several were asked about) that have no
    # current supply overlapping the month; only for a PARTIAL month.
    missing: tuple[str, ...] = ()

    @property
    def supplied(self) -> bool:
        """Whether anything was supplied for the month: its count means something, 0 included."""
        return self.state != MonthCoverage.NONE

    @property
    def note(self) -> str:
        """The month's coverage in words, "" for a month wholly supplied."""
        if self.state == MonthCoverage.NONE:
            return "no supply"
        if self.state == MonthCoverage.PARTIAL and not self.missing:
            return (
                "partial: no supply covers the month; its records come from other periods' supplies"
            )
        if self.state == MonthCoverage.PARTIAL:
            return f"partial: no supply from {', '.join(self.missing)}"
        return ""


def _month_windows(
    period: tuple[datetime.date, datetime.date],
) -> list[tuple[str, datetime.date, datetime.date]]:
    """Each month the period touches, as ("YYYY-MM", first day, last day) within the period."""
    start, end = period
    windows, first = [], start.replace(day=1)
    while first <= end:
        following = (first.replace(day=28) + 4 * DAY).replace(day=1)
        windows.append((f"{first:%Y-%m}", max(first, start), min(following - DAY, end)))
        first = following
    return windows


def supply_coverage(
    *,
    partnership_id: int,
    datasets: Iterable[Dataset],
    period: tuple[datetime.date, datetime.date],
    agency_ids: Collection[int] | None = None,
) -> list[MonthSupply]:
    """Every month the period touches, in order, with whether the current supplies of the
    partnership's ``datasets`` (by ``agency_ids`` only, when given: the supplying agencies in
    the caller's scope) cover it: SUPPLIED, PARTIAL (some scheduled agencies supplied, some
    did not) or NONE. A supply covers a month when its period overlaps the month's part of
    ``period``. Two queries, however long the period."""
    datasets = list(datasets)
    names = {dataset.pk: dataset.name for dataset in datasets}
    start, end = period
    supplies = Supply.objects.current().filter(
        dataset__in=datasets,
        agency__partnership_id=partnership_id,
        period_start__lte=end,
        period_end__gte=start,
    )
    schedules = SupplySchedule.objects.filter(
        dataset__in=datasets, agency__partnership_id=partnership_id
    )
    if agency_ids is not None:
        supplies = supplies.filter(agency_id__in=agency_ids)
        schedules = schedules.filter(agency_id__in=agency_ids)
    periods = defaultdict(list)
    for agency_id, dataset_id, first, last in supplies.values_list(
        "agency_id", "dataset_id", "period_start", "period_end"
    ):
        periods[agency_id, dataset_id].append((first, last))
    scheduled = {
        (agency_id, dataset_id): name if len(datasets) == 1 else f"{name} ({names[dataset_id]})"
        for agency_id, dataset_id, name in schedules.values_list(
            "agency_id", "dataset_id", "agency__name"
        ).order_by("agency__name")
    }

    months = []
    for month, first, last in _month_windows(period):
        covered = {
            pair
            for pair, spans in periods.items()
            if any(begin <= last and finish >= first for begin, finish in spans)
        }
        missing = tuple(label for pair, label in scheduled.items() if pair not in covered)
        if not covered:
            months.append(MonthSupply(month, MonthCoverage.NONE))
        elif missing:
            months.append(MonthSupply(month, MonthCoverage.PARTIAL, missing))
        else:
            months.append(MonthSupply(month, MonthCoverage.SUPPLIED))
    return months


def with_records(coverage: list[MonthSupply], counted: Collection[str]) -> list[MonthSupply]:
    """The coverage, where a month no supply covers has records all the same (a crime recorded
    in a later period's supply, dated by when it happened): partial, not "no supply", so that
    its count is shown. ``counted``: the months whose count, as shown, is more than 0."""
    return [
        MonthSupply(month.month, MonthCoverage.PARTIAL)
        if month.state == MonthCoverage.NONE and month.month in counted
        else month
        for month in coverage
    ]
