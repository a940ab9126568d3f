"""Counts for the analyst's workspace, over time and by area, and the pieces the linked
view and the comparison share.

Every number leaves here through sharing.disclosure, as the workspace's Release for the
dataset allows: exact, or perturbed by cell key. Records are counted in SQL (psycopg2.sql over the
workspace query's WHERE, so current supplies of the analyst's partnership only); pandas
shapes the aggregated rows. Counts by month and district over whole months come from the
records' monthly counts (datasets.summary) when no other filter applies: the same numbers
from thousands of rows instead of millions.

A month no current supply covers (datasets.coverage) has nothing to count: it is shown as
"no supply" (None in a table or series), never as 0, which is what a supplied month with no
matching records shows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from django.db import connection
from psycopg2 import sql

from datasets.choices import MonthCoverage
from datasets.coverage import MonthSupply, supply_coverage, with_records
from datasets.models import RecordMonthlyCount
from datasets.spreadsheets import neutralise_cell, neutralise_formulas
from sanitise.areas import DISTRICT, KIND_WORDS
from sanitise.models import Area
from sharing.area_keys import AREA_KEYS, area_label_sql
from sharing.disclosure import (
    TOTAL,
    Release,
    area_kind_invalid_for,
    breakdown_fields,
    count_table,
    month_area_counts,
    release_for,
)
from sharing.records import ExtractQuery
from sharing.workspace.filters import (
    FilterBeyondRelease,
    FilterInvalid,
    WorkspaceQuery,
)

OFFENCES, VICTIMS = "police_crime_offence", "police_crime_victim"

OFFENDERS = "police_crime_offender"

# Offence groups by Home Office class, the code's leading number without its zeros ("105A" is
# class 105; "8N", and "008N" or "028/01" as stored before codes were normalised, classes 8
# and 28), following the Home Office Counting Rules' crime types. A class not listed is
# "Other offences".
OFFENCE_GROUPS: dict[str, tuple[str, ...]] = {
    "Violence against the person": ("1", "2", "3", "4", "5", "8", "11", "37", "104", "105",
                                    "106"),
    "Sexual offences": ("17", "19", "20", "21", "22", "23", "70", "71", "88"),
    "Robbery": ("34",),
    "Burglary": ("28", "29", "30", "31"),
    "Vehicle offences": ("45", "48", "126"),
    "Theft": ("39", "40", "41", "42", "43", "44", "46", "47", "49"),
    "Criminal damage and arson": ("56", "58", "59"),
    "Drug offences": ("92",),
}  # fmt: skip

OTHER_OFFENCES = "Other offences"

VIOLENCE = "Violence against the person"

# Victims' ages in the bands community safety products use; lower bounds, inclusive.
AGE_BANDS: list[tuple[int, str]] = [
    (0, "0-15"), (16, "16-24"), (25, "25-34"), (35, "35-49"), (50, "50-64"), (65, "65+"),
]  # fmt: skip

AGE_NOT_GIVEN = "Age not given"


@dataclass
class Table:
    """A shown table: a label (or labels) and a count per column, for each row; None where
    there is nothing to count (a month with no supply)."""

    columns: list[str]
    rows: list[tuple[tuple[str, ...], list[int | None]]]

    def frame(self, label_names: list[str]) -> pd.DataFrame:
        # Objects, so that a None stays empty rather than turning the column's counts to floats.
        return pd.DataFrame(
            [[*labels, *values] for labels, values in self.rows],
            columns=[*label_names, *self.columns],
            dtype=object,
        )


# -- shared pieces ----------------------------------------------------------------------------


def months_of(period: tuple[datetime.date, datetime.date]) -> list[str]:
    """Every month ("YYYY-MM") the period touches, so that an empty month shows as 0."""
    return list(pd.period_range(period[0], period[1], freq="M").strftime("%Y-%m"))


def query_coverage(query: ExtractQuery) -> list[MonthSupply]:
    """Each month of the query's period (as months_of) and whether current supplies of its
    dataset, by the supplying agencies in its scope, cover it."""
    return supply_coverage(
        partnership_id=query.partnership_id,
        datasets=[query.dataset],
        period=query.period,
        agency_ids=query.supplying_agency_ids,
    )


def plain(value) -> int:
    """numpy integers as Python ints, for templates and JSON."""
    return int(value)


def released_table(
    cells: pd.DataFrame, *, rows: list[str], columns: list[str], release: Release
) -> Table:
    """One area × category table (cells: area, category, count, key_sum) with totals, as
    ``release`` allows; rows and columns in the given order, those with no records 0."""
    long = count_table(cells, rows="area", columns="category", exact=release.exact)
    wide = long.pivot(index="area", columns="category", values="count")
    order_rows, order_columns = [*rows, TOTAL], [*columns, TOTAL]
    wide = wide.reindex(index=order_rows, columns=order_columns).fillna(0)
    return Table(
        columns=order_columns,
        rows=[((label,), [plain(v) for v in wide.loc[label]]) for label in order_rows],
    )


def fetch(query: sql.Composable, params: dict, columns: list[str]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def offence_group_sql(column: sql.Composable) -> sql.Composable:
    """The HO class of an offence code column (as OFFENCE_GROUPS writes it), in SQL."""
    return sql.SQL("ltrim(substring(trim({}) from '^[0-9]+'), '0')").format(column)


def offence_groups(codes: pd.Series) -> pd.Series:
    """Each HO offence code's group (OFFENCE_GROUPS)."""
    by_class = {cls: group for group, classes in OFFENCE_GROUPS.items() for cls in classes}
    leading = codes.fillna("").astype(str).str.strip().str.extract(r"^([0-9]+)", expand=False)
    return leading.str.lstrip("0").map(by_class).fillna(OTHER_OFFENCES)


def age_bands(ages: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(ages, errors="coerce")
    bounds = [lower for lower, _ in AGE_BANDS] + [np.inf]
    bands = pd.cut(numbers, bounds, right=False, labels=[label for _, label in AGE_BANDS])
    return bands.astype(object).where(bands.notna(), AGE_NOT_GIVEN)


# -- counts over time and by area -------------------------------------------------------------

DAY = datetime.timedelta(days=1)


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + 4 * DAY).replace(day=1)


def _whole_months(
    period: tuple[datetime.date, datetime.date],
) -> tuple[datetime.date, datetime.date] | None:
    """The first days of the first and last whole months within the period, if any."""
    start, end = period
    first = start if start.day == 1 else _next_month(start)
    last = end.replace(day=1)
    if _next_month(end) != end + DAY:
        last = (last - DAY).replace(day=1)
    return (first, last) if first <= last else None


def summary_answers(query: ExtractQuery) -> bool:
    """Whether the monthly counts hold the query's answer: a dataset, a period and areas
    (postcode districts, wards, LSOAs, …), nothing else. Hours, days, category values, a
    box, or any filter ExtractQuery gains later, make the query differ from its answerable
    part and go to the records."""
    area = {key: query.area[key] for key in ("districts", *AREA_KEYS) if query.area.get(key)}
    answerable = ExtractQuery(
        partnership_id=query.partnership_id,
        dataset=query.dataset,
        period=query.period,
        fields=query.fields,
        area=area,
        linked=query.linked,
        linked_fields=query.linked_fields,
        identifying=query.identifying,
    )
    return query == answerable


def summary_split(
    query: ExtractQuery,
) -> tuple[tuple[datetime.date, datetime.date] | None, list[ExtractQuery]]:
    """Which of the query's months a summary (datasets.summary) answers, and the queries the
    records answer for the rest: its whole months when the summaries hold its answer
    (summary_answers), and a part month at either end; otherwise none, and the query."""
    months = _whole_months(query.period)
    if months is None or not summary_answers(query):
        return None, [query]
    start, end = query.period
    following = _next_month(months[1])
    rest = []
    if start < months[0]:
        rest.append(replace(query, period=(start, months[0] - DAY)))
    if end >= following:
        rest.append(replace(query, period=(following, end)))
    return months, rest


def summary_counts(
    *, query: ExtractQuery, months: tuple[datetime.date, datetime.date], area_kind: str = DISTRICT
) -> pd.DataFrame:
    """Records by month and area over whole ``months``, from the monthly counts of the
    query's current supplies: the rows and labels ExtractQuery.counts(None) gives."""
    where, params = query.summary_where(months)
    return fetch(
        sql.SQL(
            "SELECT to_char(c.month, 'YYYY-MM'), {area}, 'All', sum(c.count), "
            "sum(c.key_sum)::bigint "
            "FROM {summary} c WHERE {where} GROUP BY 1, 2"
        ).format(
            area=area_label_sql("c", area_kind),
            summary=sql.Identifier(RecordMonthlyCount._meta.db_table),
            where=where,
        ),
        params,
        ["month", "area", "category", "count", "key_sum"],
    )


def counts_frame(
    query: ExtractQuery, breakdown: str | None, *, area_kind: str = DISTRICT
) -> pd.DataFrame:
    """Records by month, area (postcode district, or ``area_kind``'s code) and the
    breakdown's values (or "All"): the whole months from the monthly counts when they can
    answer, a part month at either end and everything else from the records."""
    if breakdown:
        return query.counts(breakdown, area_kind=area_kind)
    months, rest = summary_split(query)
    if months is None:
        return query.counts(None, area_kind=area_kind)
    parts = [summary_counts(query=query, months=months, area_kind=area_kind)]
    parts += [part.counts(None, area_kind=area_kind) for part in rest]
    found = [part for part in parts if not part.empty]
    return pd.concat(found, ignore_index=True) if found else parts[0]


@dataclass
class CountsResult:
    breakdown: str | None
    table: Table  # rows (month, district), columns the breakdown's values and Total
    monthly: list[tuple[str, int | None]]  # each month's total as shown; None: no supply
    release: Release
    coverage: list[MonthSupply] = field(default_factory=list)  # each month's supply
    area_kind: str = DISTRICT
    # Each area row's label ("Abram (E05000841)") with its code and name; none for districts.
    area_labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def area_words(self) -> str:
        return KIND_WORDS[self.area_kind]

    @property
    def unsupplied(self) -> list[str]:
        """The months no current supply covers."""
        return [month.month for month in self.coverage if not month.supplied]

    @property
    def partial(self) -> list[MonthSupply]:
        """The months only some of the scheduled agencies supplied."""
        return [month for month in self.coverage if month.state == MonthCoverage.PARTIAL]


def _month_rows(
    wide: pd.DataFrame, coverage: list[MonthSupply], *, exact: bool
) -> list[tuple[tuple[str, str], list[int | None]]]:
    """The table's rows: districts in order within each month, its total last. A month with
    nothing shown gets a total row of its own: empty where no supply covers it (nothing to
    count), 0s where one does and counts are exact. Perturbed counts show no 0
    (sharing.disclosure), so there a supplied month with nothing shown is left out, as a
    cell of 0 is."""
    shown = {month for month, _ in wide.index}
    blank = {
        (month.month, TOTAL): 0 if month.supplied else None
        for month in coverage
        if month.month not in shown and (exact or not month.supplied)
    }
    keys = sorted([*wide.index, *blank], key=lambda key: (key[0], key[1] == TOTAL, key[1]))
    return [
        (key, [blank[key]] * len(wide.columns))
        if key in blank
        else (key, [plain(v) for v in wide.loc[key]])
        for key in keys
    ]


def area_labelled(shown: pd.DataFrame, area_kind: str) -> dict[str, tuple[str, str]]:
    """The labels of the table's area codes, "Name (code)", with each one's code and name;
    none for postcode districts, whose code is their name."""
    if area_kind == DISTRICT or shown.empty:
        return {}
    codes = set(shown["area"].astype(str))
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
    return {f"{name} ({code})": (code, name) for code, name in names.items()}


def workspace_counts(
    *, workspace: WorkspaceQuery, breakdown: str | None, area_kind: str = DISTRICT
) -> CountsResult:
    """Records by month × area (postcode district, or ward, LSOA, … labelled "Name (code)")
    (× the breakdown field's values), as the disclosure rule releases them, with each month's
    total as the table shows it: None for a month no current supply covers ("no supply"), 0
    for a supplied month with nothing shown."""
    release = release_for(workspace.scope)
    schema = workspace.dataset.schema
    if breakdown and breakdown not in breakdown_fields(schema, release):
        raise FilterInvalid(f"{workspace.dataset.name} cannot be broken down by {breakdown!r}.")
    problem = area_kind_invalid_for(area_kind, release)
    if problem:
        raise FilterBeyondRelease(problem)
    shown = month_area_counts(
        counts_frame(workspace.query, breakdown, area_kind=area_kind),
        breakdown=schema.by_name.get(breakdown),
        release=release,
    )
    labels = area_labelled(shown, area_kind)
    if labels:
        by_code = {code: label for label, (code, _) in labels.items()}
        shown = shown.assign(area=shown["area"].map(lambda code: by_code.get(code, code)))
    totals = shown[(shown["area"] == TOTAL) & (shown["category"] == TOTAL)]
    by_month = dict(zip(totals["month"], totals["count"], strict=True))
    coverage = with_records(
        query_coverage(workspace.query), [month for month, count in by_month.items() if count]
    )
    if shown.empty:
        index = pd.MultiIndex.from_tuples([], names=["month", "area"])
        wide = pd.DataFrame(columns=[TOTAL], index=index)
    else:
        wide = shown.pivot(index=["month", "area"], columns="category", values="count").fillna(0)
    columns = [c for c in wide.columns if c != TOTAL] + [TOTAL]
    wide = wide[columns]
    table = Table(
        columns=[str(c) for c in columns],
        rows=_month_rows(wide, coverage, exact=release.exact),
    )
    monthly = [
        (month.month, plain(by_month.get(month.month, 0)) if month.supplied else None)
        for month in coverage
    ]
    return CountsResult(breakdown, table, monthly, release, coverage, area_kind, labels)


# The CSV's column saying whether a row's month was supplied: its counts are empty where none
# was, which a spreadsheet leaves out of sums, averages and charts, as it should.
SUPPLY_COLUMN = "supply"


def counts_csv(*, result: CountsResult) -> str:
    """The shown table as CSV, cells a spreadsheet would run as formulas neutralised, the
    header's too (its columns are the breakdown's supplied values). After the labels, a
    ``supply`` column: "supplied", "partial: no supply from …", or "no supply", whose counts
    are empty cells (not 0: there was nothing to count). Districts are a
    ``postcode_district`` column; other areas an ``area`` column of codes with their
    ``area_name`` beside it."""
    if result.area_kind == DISTRICT:
        frame = result.table.frame(["month", "postcode_district"])
    else:
        frame = result.table.frame(["month", "area"])
        named = frame["area"].map(lambda label: result.area_labels.get(label, (label, "")))
        frame["area"] = named.map(lambda pair: pair[0])
        frame.insert(2, "area_name", named.map(lambda pair: pair[1]))
    notes = {month.month: month.note or "supplied" for month in result.coverage}
    at = 3 if result.area_kind != DISTRICT else 2
    frame.insert(at, SUPPLY_COLUMN, frame["month"].map(notes).fillna("supplied"))
    frame.columns = [neutralise_cell(column) for column in frame.columns]
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n")
