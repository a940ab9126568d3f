"""Reads of the catalogue and of supplies."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from itertools import pairwise

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import Http404
from django.utils import timezone

from datasets.access import supplier_agencies
from datasets.choices import (
    LocationMethod,
    QualityTrend,
    ScheduleStatus,
    SupplyFrequency,
    SupplyStatus,
)
from datasets.models import Dataset, Supply, SupplySchedule
from hub.access import coordinated_partnership
from hub.models import Agency, Partnership, User


def dataset_list() -> QuerySet[Dataset]:
    """The datasets in the current catalogue. Field names are not personal data: any signed-in
    user may read them; access to records is decided per dataset elsewhere."""
    return Dataset.objects.filter(is_active=True)


def dataset_get(*, slug: str) -> Dataset:
    try:
        return dataset_list().get(slug=slug)
    except Dataset.DoesNotExist as error:
        raise Http404("No such dataset.") from error


def template_header(*, dataset: Dataset) -> list[str]:
    """The header row of the dataset's CSV template: its field names, in schema order."""
    return dataset.schema.field_names


# -- supply schedule --------------------------------------------------------------------------

# A period counts as supplied by any supply still in hand: one being processed, completed, or
# failed by the hub itself (it can be retried; the agency did supply). A rejected file does
# not, nor one its agency withdrew.
SUPPLIED_STATUSES = [
    status
    for status in SupplyStatus.values
    if status not in (SupplyStatus.REJECTED, SupplyStatus.WITHDRAWN)
]


def schedule_period(*, frequency: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The latest calendar month or quarter (by ``frequency``) that ended before ``today``."""
    months = 3 if frequency == SupplyFrequency.QUARTERLY else 1
    current = today.replace(month=(today.month - 1) // months * months + 1, day=1)
    end = current - datetime.timedelta(days=1)
    return end.replace(month=(end.month - 1) // months * months + 1, day=1), end


def schedule_due_date(*, period_end: datetime.date, due_day: int) -> datetime.date:
    """Day ``due_day`` of the month after the period ends."""
    return (period_end + datetime.timedelta(days=1)).replace(day=due_day)


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule with where its latest ended period stands."""

    schedule: SupplySchedule
    period_start: datetime.date
    period_end: datetime.date
    due_date: datetime.date
    status: str
    # The earliest supply that covers the period, which decides whether it came on time.
    supply: Supply | None

    @property
    def status_label(self) -> str:
        return ScheduleStatus(self.status).label

    @property
    def reminded(self) -> bool:
        return self.schedule.last_reminded_period == self.period_start


def schedule_status(
    *,
    partnership: Partnership,
    today: datetime.date,
    agencies: QuerySet[Agency] | None = None,
) -> list[ScheduleRow]:
    """Each schedule of the partnership (or of ``agencies`` in it) for its latest ended period:
    on time, late, missing (past its due date) or due. Two queries, however many rows."""
    schedules = SupplySchedule.objects.filter(
        agency__partnership=partnership, dataset__is_active=True
    ).select_related("agency", "dataset")
    if agencies is not None:
        schedules = schedules.filter(agency__in=agencies)
    schedules = list(schedules)
    if not schedules:
        return []
    periods = {
        frequency: schedule_period(frequency=frequency, today=today)
        for frequency in {schedule.frequency for schedule in schedules}
    }
    covering = Q()
    for start, end in periods.values():
        covering |= Q(period_start__lte=start, period_end__gte=end)
    # As things stood at the end of ``today``: a supply made after it does not count yet.
    tomorrow = timezone.make_aware(
        datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time())
    )
    candidates = (
        Supply.objects.filter(
            covering,
            agency__in={schedule.agency_id for schedule in schedules},
            dataset__in={schedule.dataset_id for schedule in schedules},
            status__in=SUPPLIED_STATUSES,
            created_at__lt=tomorrow,
        )
        .only("id", "agency_id", "dataset_id", "period_start", "period_end", "created_at", "status")
        .order_by("created_at")
    )
    supplied = defaultdict(list)
    for supply in candidates:
        supplied[supply.agency_id, supply.dataset_id].append(supply)

    rows = []
    for schedule in schedules:
        start, end = periods[schedule.frequency]
        due = schedule_due_date(period_end=end, due_day=schedule.due_day)
        supply = next(
            (
                supply
                for supply in supplied[schedule.agency_id, schedule.dataset_id]
                if supply.period_start <= start and supply.period_end >= end
            ),
            None,
        )
        if supply is None:
            status = ScheduleStatus.MISSING if today > due else ScheduleStatus.DUE
        elif timezone.localdate(supply.created_at) <= due:
            status = ScheduleStatus.ON_TIME
        else:
            status = ScheduleStatus.LATE
        rows.append(ScheduleRow(schedule, start, end, due, status, supply))
    return rows


def schedule_status_for_user(*, user: User, today: datetime.date) -> list[ScheduleRow]:
    """What the user may see of the schedule: the co-ordinator the whole partnership's, a
    supplier their agencies'. Anyone else gets 404, as for a page that does not exist."""
    partnership = coordinated_partnership(user=user)
    if partnership is not None:
        return schedule_status(partnership=partnership, today=today)
    agencies = supplier_agencies(user=user)
    partnerships = Partnership.objects.filter(agencies__in=agencies).distinct()
    if not partnerships:
        raise Http404("No such page.")
    return [
        row
        for partnership in partnerships
        for row in schedule_status(partnership=partnership, today=today, agencies=agencies)
    ]


def agencies_standing(*, agencies: QuerySet[Agency], today: datetime.date):
    """For a supplier or DLO: their agencies' schedule rows (as schedule_status gives them) and
    the quality of their supplies (as quality_rows does), whatever their partnerships."""
    schedule, quality = [], []
    for partnership in Partnership.objects.filter(agencies__in=agencies).distinct():
        schedule += schedule_status(partnership=partnership, today=today, agencies=agencies)
        for agency in agencies.filter(partnership=partnership):
            quality += quality_rows(partnership=partnership, agency=agency)
    return schedule, quality


# -- data quality -----------------------------------------------------------------------------

# For each measure of a supply's quality (guidance §4.2.3): whether a higher value is better,
# and the change below which two periods count as the same, so month-to-month noise is no trend.
QUALITY_MEASURES = {
    "rejected_rate": (False, 1.0),
    "completeness": (True, 1.0),
    "geocoding_rate": (True, 1.0),
    "currency_days": (False, 3),
}
QUALITY_MEASURE_LABELS = {
    "rejected_rate": "rejected rows",
    "completeness": "completeness",
    "geocoding_rate": "geocoding",
    "currency_days": "currency",
}


@dataclass(frozen=True)
class QualityRow:
    """One period's current supply of a dataset by an agency, measured."""

    supply_id: uuid.UUID
    agency_id: int
    agency_name: str
    dataset_slug: str
    dataset_name: str
    period_start: datetime.date
    period_end: datetime.date
    supplied_at: datetime.datetime
    received: int
    rejected: int
    # Percentages, or None where there is nothing to measure.
    rejected_rate: float | None
    completeness: float | None
    geocoding_rate: float | None
    locations: dict[str, int]
    currency_days: int | None
    # Against the previous period's supply; None for the first period supplied.
    trend: str | None = None
    changes: dict[str, str] = field(default_factory=dict)

    @property
    def trend_label(self) -> str:
        return QualityTrend(self.trend).label if self.trend else "First supply"

    @property
    def location_counts(self) -> list[tuple[str, str, int]]:
        """(method, what it means, count) for each method that placed any record."""
        return [
            (method, LocationMethod(method).label, self.locations[method])
            for method in LocationMethod.values
            if self.locations.get(method)
        ]

    @property
    def change_labels(self) -> list[tuple[str, str]]:
        return [(QUALITY_MEASURE_LABELS[name], change) for name, change in self.changes.items()]


def _percent(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _compared(row: QualityRow, previous: QualityRow) -> QualityRow:
    changes = {}
    for name, (higher_is_better, tolerance) in QUALITY_MEASURES.items():
        now, before = getattr(row, name), getattr(previous, name)
        if now is None or before is None:
            continue
        gain = (now - before) if higher_is_better else (before - now)
        if gain > tolerance:
            changes[name] = QualityTrend.BETTER
        elif gain < -tolerance:
            changes[name] = QualityTrend.WORSE
    better = sum(change == QualityTrend.BETTER for change in changes.values())
    worse = len(changes) - better
    if better and worse:
        trend = QualityTrend.MIXED
    elif better or worse:
        trend = QualityTrend.BETTER if better else QualityTrend.WORSE
    else:
        trend = QualityTrend.SAME
    return replace(row, trend=trend, changes=changes)


@dataclass
class QualitySeries:
    """One agency's supplies of one dataset, its quality measures period by period, oldest
    first: what the dashboard draws as a trend."""

    agency_name: str
    dataset_name: str
    periods: list[str]
    rejected_rate: list[float | None]
    completeness: list[float | None]
    geocoding_rate: list[float | None]


def period_words(start: datetime.date, end: datetime.date) -> str:
    """A period as people say it: "August 2026", "July to September 2026", or its days."""
    last_day = (end + datetime.timedelta(days=1)).day == 1
    if start.day != 1 or not last_day:
        return f"{start:%d/%m/%Y} to {end:%d/%m/%Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%B %Y}"
    if start.year == end.year:
        return f"{start:%B} to {end:%B %Y}"
    return f"{start:%B %Y} to {end:%B %Y}"


def quality_series(rows: list[QualityRow]) -> list[QualitySeries]:
    """The rows (as quality_rows gives them) as one series per agency and dataset."""
    grouped: dict[tuple[int, str], list[QualityRow]] = defaultdict(list)
    for row in rows:
        grouped[row.agency_id, row.dataset_slug].append(row)
    series = []
    for periods in grouped.values():
        periods = sorted(periods, key=lambda row: row.period_start)
        series.append(
            QualitySeries(
                agency_name=periods[0].agency_name,
                dataset_name=periods[0].dataset_name,
                periods=[period_words(row.period_start, row.period_end) for row in periods],
                rejected_rate=[row.rejected_rate for row in periods],
                completeness=[row.completeness for row in periods],
                geocoding_rate=[row.geocoding_rate for row in periods],
            )
        )
    return series


def quality_rows(
    *,
    partnership: Partnership,
    agency: Agency | None = None,
    dataset: Dataset | None = None,
) -> list[QualityRow]:
    """The data quality of each agency's supplies, one row per dataset and period (its latest
    completed supply; superseded ones are history), newest period first, each compared with
    the previous period. Two queries, however many supplies."""
    supplies = Supply.objects.current().filter(agency__partnership=partnership)
    if agency is not None:
        supplies = supplies.filter(agency=agency)
    if dataset is not None:
        supplies = supplies.filter(dataset=dataset)
    # Only the report's measures are read: its lists of errors and warnings can be long.
    latest = (
        supplies.order_by("agency_id", "dataset_id", "period_start", "period_end", "-created_at")
        .distinct("agency_id", "dataset_id", "period_start", "period_end")
        .values(
            "pk",
            "agency_id",
            "agency__name",
            "dataset_id",
            "period_start",
            "period_end",
            "created_at",
            "record_count",
            "rejected_count",
            report_completeness=KeyTransform("completeness", "report"),
            report_locations=KeyTransform("locations", "report"),
            report_currency_days=KeyTransform("currency_days", "report"),
        )
    )
    latest = list(latest)
    if not latest:
        return []
    schemas = {
        dataset.pk: dataset
        for dataset in Dataset.objects.filter(pk__in={supply["dataset_id"] for supply in latest})
    }

    series: dict[tuple[int, int], list[QualityRow]] = defaultdict(list)
    for supply in latest:
        dataset = schemas[supply["dataset_id"]]
        schema = dataset.schema
        received = supply["record_count"] or 0
        completeness = supply["report_completeness"] or {}
        required = [
            completeness[spec.name]
            for spec in schema.fields
            if spec.required and spec.name in completeness
        ]
        locations = {
            method: count
            for method, count in (supply["report_locations"] or {}).items()
            if method in LocationMethod.values
        }
        placed = sum(locations.values())
        row = QualityRow(
            supply_id=supply["pk"],
            agency_id=supply["agency_id"],
            agency_name=supply["agency__name"],
            dataset_slug=dataset.slug,
            dataset_name=dataset.name,
            period_start=supply["period_start"],
            period_end=supply["period_end"],
            supplied_at=supply["created_at"],
            received=received,
            rejected=supply["rejected_count"] or 0,
            rejected_rate=_percent(supply["rejected_count"] or 0, received),
            completeness=round(sum(required) / len(required), 1) if required else None,
            geocoding_rate=(
                _percent(placed - locations.get(LocationMethod.UNLOCATED, 0), placed)
                if schema.locations
                else None
            ),
            locations=locations,
            currency_days=supply["report_currency_days"],
        )
        series[supply["agency_id"], supply["dataset_id"]].append(row)

    rows = []
    for periods in series.values():
        # The query ordered each series by period, oldest first.
        rows.append(periods[0])
        rows.extend(_compared(row, previous) for previous, row in pairwise(periods))
    # Two stable sorts: by agency and dataset, newest period first within each.
    rows.sort(key=lambda row: row.period_start, reverse=True)
    rows.sort(key=lambda row: (row.agency_name, row.dataset_name))
    return rows
