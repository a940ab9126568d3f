"""The cross-agency comparison of guidance §4.3.1: monthly counts of several agencies'
datasets side by side, each series as sharing.disclosure releases its dataset's counts.

A month no current supply of a series' dataset covers (datasets.coverage) is "no supply" in
that series, None and not 0: A&E's missing months beside the police's 734 are not a quiet
month at A&E. A supplied month with nothing that matches is 0."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from django.http import QueryDict
from psycopg2 import sql

from datasets import selectors as dataset_selectors
from datasets.choices import MonthCoverage
from datasets.coverage import MonthSupply, with_records
from datasets.models import Record
from datasets.storage import field_sql
from hub.access import refuse
from hub.models import User
from sharing.access import access_decisions, acting_partnership
from sharing.choices import AccessLevel
from sharing.disclosure import Release, counts_note, released
from sharing.records import ExtractQuery
from sharing.workspace.counts import (
    OFFENCE_GROUPS,
    OFFENCES,
    VIOLENCE,
    fetch,
    months_of,
    offence_group_sql,
    plain,
    query_coverage,
)
from sharing.workspace.filters import (
    FilterBeyondRelease,
    partnership_chosen,
    twelve_whole_months,
    workspace_query,
)

AE_ASSAULT, AMBULANCE = "ae_assault", "ambulance_callout"

# -- cross-agency comparison ------------------------------------------------------------------


@dataclass
class ComparisonSeries:
    name: str
    dataset_slug: str
    refusal: str = ""
    no_supplies: str = ""
    note: str = ""  # how the counts shown were released (sharing.disclosure)
    values: list[int | None] = field(default_factory=list)  # None: not shown, or no supply
    # Each month's supply, for a series the user may count; empty for one refused.
    coverage: list[MonthSupply] = field(default_factory=list)

    @property
    def supplied(self) -> list[bool | None]:
        """Beside ``values``: whether a current supply covers each month; None if refused."""
        if not self.coverage:
            return [None] * len(self.values)
        return [month.supplied for month in self.coverage]

    @property
    def months_without_supply(self) -> list[str]:
        return [month.month for month in self.coverage if not month.supplied]

    @property
    def partial(self) -> list[MonthSupply]:
        return [month for month in self.coverage if month.state == MonthCoverage.PARTIAL]


@dataclass
class Comparison:
    months: list[str]
    series: list[ComparisonSeries]
    release: Release | None = None  # the least of the shown series' releases

    @property
    def any_without_supply(self) -> bool:
        return any(one.months_without_supply for one in self.series)

    @property
    def any_partial(self) -> bool:
        return any(one.partial for one in self.series)


# The three measures of guidance §4.3.1, as (series name, dataset); _measure_sql says which of
# each dataset's records a series counts.
COMPARED: list[tuple[str, str]] = [
    ("Police recorded violence", OFFENCES),
    ("A&E assault attendances", AE_ASSAULT),
    ("Ambulance assault call-outs", AMBULANCE),
]


def _measure_sql(slug: str) -> tuple[sql.Composable, dict]:
    """Police violence is the violence group of OFFENCE_GROUPS; the health services' series
    are the incidents they record as assaults."""
    if slug == OFFENCES:
        group = offence_group_sql(field_sql("r", "ho_offence_code"))
        return sql.SQL("{} = ANY(%(violence)s)").format(group), {
            "violence": list(OFFENCE_GROUPS[VIOLENCE])
        }
    return sql.SQL("lower(trim({})) = 'assault'").format(field_sql("r", "incident_type")), {}


def monthly_counts(*, query: ExtractQuery, measure: sql.Composable, extra: dict) -> pd.DataFrame:
    """Records by month ("YYYY-MM", the index) that also meet ``measure``: their count and
    the sum of their record keys."""
    where, params = query._where()
    frame = fetch(
        sql.SQL(
            "SELECT to_char(r.event_date, 'YYYY-MM'), count(*), sum(r.record_key) "
            "FROM {records} r WHERE {where} AND {measure} GROUP BY 1"
        ).format(records=sql.Identifier(Record._meta.db_table), where=where, measure=measure),
        {**params, **extra},
        ["month", "count", "key_sum"],
    )
    return frame.set_index("month").astype(int)


def cross_agency_comparison(
    *, user: User, params: QueryDict, ip_address: str | None = None
) -> Comparison:
    """Police violence, A&E assault attendances and ambulance assault call-outs by month for
    the area and period (guidance §4.3.1: a police rise the health series do not share may be
    a reporting change). A series the user may not count says why; one with no current
    supplies says so rather than showing zeros, and a month no current supply covers is None
    in its series ("no supply"), where a supplied month with nothing to count is 0. Each
    series is released as its dataset's counts are for the user (sharing.disclosure)."""
    # Filters that mean one thing in every dataset; a category belongs to one dataset only.
    common = params.copy()
    for name in ("dataset", "category", "values"):
        common.pop(name, None)
    if not common.get("period_start") and not common.get("period_end"):
        # One period for every series, whatever each dataset's release allows.
        start, end = twelve_whole_months()
        common.update({"period_start": start.isoformat(), "period_end": end.isoformat()})
    slugs = [slug for _, slug in COMPARED]
    datasets = {d.slug: d for d in dataset_selectors.dataset_list().filter(slug__in=slugs)}
    partnership = partnership_chosen(params)
    decisions = access_decisions(user=user, datasets=datasets.values(), partnership=partnership)
    months: list[str] | None = None
    shown_release: Release | None = None
    series = []
    for name, slug in COMPARED:
        one = ComparisonSeries(name=name, dataset_slug=slug)
        series.append(one)
        dataset = datasets.get(slug)
        if dataset is None:
            one.refusal = "The catalogue holds no such dataset."
            continue
        if not decisions[dataset.pk].allows(AccessLevel.AGGREGATE):
            one.refusal = f"You may not count {dataset.name}: {decisions[dataset.pk].reason}"
            refuse(user=user, route="compare", reason=one.refusal, dataset_slug=slug,
                   partnership=acting_partnership(user=user, partnership=partnership),
                   ip_address=ip_address)  # fmt: skip
            continue
        try:
            workspace = workspace_query(
                user=user, params=common, route="compare", dataset=dataset,
                ip_address=ip_address,
            )  # fmt: skip
        except FilterBeyondRelease as beyond:
            one.refusal = f"{dataset.name}: {beyond}"
            continue
        query = workspace.query
        months = months or months_of(query.period)
        one.coverage = query_coverage(query)
        if not any(month.supplied for month in one.coverage):
            one.no_supplies = f"No current supplies of {dataset.name} cover the period."
            continue
        measure, extra = _measure_sql(slug)
        cells = monthly_counts(query=query, measure=measure, extra=extra)
        cells = cells.reindex(months, fill_value=0)
        release = workspace.release
        one.note = counts_note(release)
        shown_release = release if shown_release is None else shown_release.joined(release)
        shown = released(cells["count"], cells["key_sum"], exact=release.exact)
        counted = [month for month, value in zip(months, shown, strict=True) if value]
        one.coverage = with_records(one.coverage, counted)
        one.values = [
            plain(value) if month.supplied else None
            for value, month in zip(shown, one.coverage, strict=True)
        ]
    months = months or []
    for one in series:
        one.values = one.values or [None] * len(months)
    return Comparison(months=months, series=series, release=shown_release)
