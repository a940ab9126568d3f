"""Counts for the analyst's workspace, over time and by area, and the pieces the linked
view and the comparison share.

Every number leaves here through sharing.disclosure, as the workspace's Release for the
dataset allows: exact, or perturbed by cell key. Records are counted in SQL (psycopg2.sql over the
workspace query's WHERE, so current supplies of the analyst's partnership only); pandas
shapes the aggregated rows. Counts by month and district over whole months come from the
records' monthly counts (datasets.summary) when no other filter applies: the same numbers
from thousands of rows instead of millions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from django.db import connection
from psycopg2 import sql

from datasets.models import RecordMonthlyCount
from datasets.spreadsheets import neutralise_cell, neutralise_formulas
from sharing.disclosure import (
    TOTAL,
    Release,
    breakdown_fields,
    count_table,
    month_area_counts,
    release_for,
)
from sharing.records import ExtractQuery
from sharing.workspace.filters import (
    FilterInvalid,
    WorkspaceQuery,
)

OFFENCES, VICTIMS = "police_crime_offence", "police_crime_victim"

OFFENDERS = "police_crime_offender"

# Offence groups by Home Office class, the code's first three characters ("105A" is class 105,
# "028/01" class 028), following the Home Office Counting Rules' crime types. A class not
# listed is "Other offences".
OFFENCE_GROUPS: dict[str, tuple[str, ...]] = {
    "Violence against the person": ("001", "002", "003", "004", "005", "008", "011", "037",
                                    "104", "105", "106"),
    "Sexual offences": ("017", "019", "020", "021", "022", "023", "070", "071", "088"),
    "Robbery": ("034",),
    "Burglary": ("028", "029", "030", "031"),
    "Vehicle offences": ("045", "048", "126"),
    "Theft": ("039", "040", "041", "042", "043", "044", "046", "047", "049"),
    "Criminal damage and arson": ("056", "058", "059"),
    "Drug offences": ("092",),
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
    """A shown table: a label (or labels) and a count per column, for each row."""

    columns: list[str]
    rows: list[tuple[tuple[str, ...], list[int]]]

    def frame(self, label_names: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            [[*labels, *values] for labels, values in self.rows],
            columns=[*label_names, *self.columns],
        )


# -- shared pieces ----------------------------------------------------------------------------


def months_of(period: tuple[datetime.date, datetime.date]) -> list[str]:
    """Every month ("YYYY-MM") the period touches, so that an empty month shows as 0."""
    return list(pd.period_range(period[0], period[1], freq="M").strftime("%Y-%m"))


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
    """The HO class of an offence code column, in SQL."""
    return sql.SQL("left(upper(trim({})), 3)").format(column)


def offence_groups(codes: pd.Series) -> pd.Series:
    """Each HO offence code's group (OFFENCE_GROUPS)."""
    by_class = {cls: group for group, classes in OFFENCE_GROUPS.items() for cls in classes}
    classes = codes.fillna("").astype(str).str.strip().str.upper().str[:3]
    return classes.map(by_class).fillna(OTHER_OFFENCES)


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
    """Whether the monthly counts hold the query's answer: a dataset, a period and postcode
    districts, nothing else. Hours, days, category values, a box, or any filter ExtractQuery
    gains later, make the query differ from its answerable part and go to the records."""
    districts = query.area.get("districts")
    answerable = ExtractQuery(
        partnership_id=query.partnership_id,
        dataset=query.dataset,
        period=query.period,
        fields=query.fields,
        area={"districts": districts} if districts else {},
        linked=query.linked,
        linked_fields=query.linked_fields,
        identifying=query.identifying,
    )
    return query == answerable


def summary_counts(
    *, query: ExtractQuery, months: tuple[datetime.date, datetime.date]
) -> pd.DataFrame:
    """Records by month and postcode district over whole ``months``, from the monthly counts
    of the query's current supplies: the rows and labels ExtractQuery.counts(None) gives."""
    _, params = query._where()
    clauses = [
        sql.SQL("c.dataset_id = %(dataset)s"),
        sql.SQL("c.partnership_id = %(partnership)s"),
        sql.SQL("c.month BETWEEN %(first)s AND %(last)s"),
        query._current("c"),
    ]
    if "districts" in params:
        clauses.append(sql.SQL("c.district = ANY(%(districts)s)"))
    return fetch(
        sql.SQL(
            "SELECT to_char(c.month, 'YYYY-MM'), "
            "COALESCE(NULLIF(c.district, ''), '(not located)'), 'All', sum(c.count), "
            "sum(c.key_sum)::bigint "
            "FROM {summary} c WHERE {where} GROUP BY 1, 2"
        ).format(
            summary=sql.Identifier(RecordMonthlyCount._meta.db_table),
            where=sql.SQL(" AND ").join(clauses),
        ),
        {**params, "first": months[0], "last": months[1]},
        ["month", "area", "category", "count", "key_sum"],
    )


def counts_frame(query: ExtractQuery, breakdown: str | None) -> pd.DataFrame:
    """Records by month, postcode district and the breakdown's values (or "All"): the whole
    months from the monthly counts when they can answer, a part month at either end and
    everything else from the records."""
    months = _whole_months(query.period)
    if breakdown or months is None or not summary_answers(query):
        return query.counts(breakdown or None)
    start, end = query.period
    following = _next_month(months[1])
    parts = [summary_counts(query=query, months=months)]
    if start < months[0]:
        parts.append(replace(query, period=(start, months[0] - DAY)).counts(None))
    if end >= following:
        parts.append(replace(query, period=(following, end)).counts(None))
    found = [part for part in parts if not part.empty]
    return pd.concat(found, ignore_index=True) if found else parts[0]


@dataclass
class CountsResult:
    breakdown: str | None
    table: Table  # rows (month, district), columns the breakdown's values and Total
    monthly: list[tuple[str, int]]  # each month's total, as the table shows it
    release: Release


def workspace_counts(*, workspace: WorkspaceQuery, breakdown: str | None) -> CountsResult:
    """Records by month × postcode district (× the breakdown field's values), as the
    disclosure rule releases them, with each month's total as the table shows it."""
    release = release_for(workspace.scope)
    schema = workspace.dataset.schema
    if breakdown and breakdown not in breakdown_fields(schema, release):
        raise FilterInvalid(f"{workspace.dataset.name} cannot be broken down by {breakdown!r}.")
    specs = {spec.name: spec for spec in schema.fields}
    shown = month_area_counts(
        counts_frame(workspace.query, breakdown), breakdown=specs.get(breakdown), release=release
    )
    months = months_of(workspace.query.period)
    if shown.empty:
        return CountsResult(
            breakdown, Table([TOTAL], []), [(month, 0) for month in months], release
        )
    wide = shown.pivot(index=["month", "area"], columns="category", values="count").fillna(0)
    columns = [c for c in wide.columns if c != TOTAL] + [TOTAL]
    # Districts in order within each month, its total last.
    keys = sorted(wide.index, key=lambda key: (key[0], key[1] == TOTAL, key[1]))
    wide = wide.reindex(index=keys, columns=columns)
    table = Table(
        columns=[str(c) for c in columns],
        rows=[(key, [plain(v) for v in wide.loc[key]]) for key in keys],
    )
    totals = shown[(shown["area"] == TOTAL) & (shown["category"] == TOTAL)]
    by_month = dict(zip(totals["month"], totals["count"], strict=True))
    return CountsResult(breakdown, table, [(m, plain(by_month.get(m, 0))) for m in months], release)


def counts_csv(*, result: CountsResult) -> str:
    """The shown table as CSV, cells a spreadsheet would run as formulas neutralised, the
    header's too (its columns are the breakdown's supplied values)."""
    frame = result.table.frame(["month", "postcode_district"])
    frame.columns = [neutralise_cell(column) for column in frame.columns]
    return neutralise_formulas(frame.astype(object)).to_csv(index=False, lineterminator="\r\n")
