"""Counts for the analyst's workspace: over time and by area, the linked crime view, and the
cross-agency comparison of guidance §4.3.1.

Every number leaves here through the aggregate extracts' disclosure control: suppress_counts
where a table has totals, and the same marker for any single count from 1 to
HUB_EXTRACT_SMALL_NUMBER − 1 elsewhere. Records are counted in SQL (psycopg2.sql over the
workspace query's WHERE, so current supplies of the analyst's partnership only); pandas
shapes the aggregated rows. Counts by month and district over whole months come from the
records' monthly counts (datasets.summary) when no other filter applies: the same numbers
from thousands of rows instead of millions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.http import QueryDict
from psycopg2 import sql

from datasets import selectors as dataset_selectors
from datasets.models import Dataset, Record, RecordMonthlyCount
from datasets.spreadsheets import neutralise_cell, neutralise_formulas
from hub.models import User
from sharing.access import AccessDecision, access_decisions, refuse
from sharing.choices import AccessLevel
from sharing.disclosure import SUPPRESSED, suppress_counts
from sharing.records import ExtractQuery, category_fields, linkable
from sharing.workspace import FilterInvalid, WorkspaceQuery, partnership_chosen, workspace_query

OFFENCES, VICTIMS = "police_crime_offence", "police_crime_victim"
OFFENDERS = "police_crime_offender"
AE_ASSAULT, AMBULANCE = "ae_assault", "ambulance_callout"
TOTAL = "Total"

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
OFFENDER_BANDS = ["2 offences", "3 offences", "4 offences", "5 or more offences"]
REPEAT_LOCATION_MIN = 3


def threshold() -> int:
    return settings.HUB_EXTRACT_SMALL_NUMBER


@dataclass
class Table:
    """A shown table: a label (or labels) and a value or marker per column, for each row."""

    columns: list[str]
    rows: list[tuple[tuple[str, ...], list[int | str]]]

    def frame(self, label_names: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            [[*labels, *values] for labels, values in self.rows],
            columns=[*label_names, *self.columns],
        )


# -- shared pieces ----------------------------------------------------------------------------


def months_of(period: tuple[datetime.date, datetime.date]) -> list[str]:
    """Every month ("YYYY-MM") the period touches, so that an empty month shows as 0."""
    return list(pd.period_range(period[0], period[1], freq="M").strftime("%Y-%m"))


def _plain(value) -> int | str:
    """numpy integers as Python ints (the chart tells counts from markers by type)."""
    return value if isinstance(value, str) else int(value)


def primary_suppressed(counts: pd.Series, limit: int) -> pd.Series:
    """Single counts with no total beside them: 1 to limit − 1 becomes the marker."""
    hidden = (counts > 0) & (counts < limit)
    return counts.astype(object).mask(hidden, SUPPRESSED.format(threshold=limit))


def _suppressed_table(
    frame: pd.DataFrame, *, rows: list[str], columns: list[str], limit: int
) -> Table:
    """One area × category table (frame: area, category, count) with totals, through
    suppress_counts; rows and columns in the given order, those with no records shown as 0."""
    long = suppress_counts(frame.assign(month="all"), limit)
    wide = long.pivot(index="area", columns="category", values="count") if len(long) else None
    order_rows, order_columns = [*rows, TOTAL], [*columns, TOTAL]
    if wide is None:
        wide = pd.DataFrame(index=order_rows, columns=order_columns)
    wide = wide.reindex(index=order_rows, columns=order_columns).fillna(0)
    return Table(
        columns=order_columns,
        rows=[((label,), [_plain(v) for v in wide.loc[label]]) for label in order_rows],
    )


def _fetch(query: sql.Composable, params: dict, columns: list[str]) -> pd.DataFrame:
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
    return _fetch(
        sql.SQL(
            "SELECT to_char(c.month, 'YYYY-MM'), "
            "COALESCE(NULLIF(c.district, ''), '(not located)'), 'All', sum(c.count) "
            "FROM {summary} c WHERE {where} GROUP BY 1, 2"
        ).format(
            summary=sql.Identifier(RecordMonthlyCount._meta.db_table),
            where=sql.SQL(" AND ").join(clauses),
        ),
        {**params, "first": months[0], "last": months[1]},
        ["month", "area", "category", "count"],
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
    monthly: list[tuple[str, int | str]]  # each month's total, as the table shows it


def workspace_counts(*, workspace: WorkspaceQuery, breakdown: str | None) -> CountsResult:
    """Records by month × postcode district (× the breakdown field's values), suppressed as
    aggregate extracts are, with each month's total as the table shows it."""
    if breakdown and breakdown not in category_fields(workspace.dataset.schema):
        raise FilterInvalid(f"{workspace.dataset.name} cannot be broken down by {breakdown!r}.")
    limit = threshold()
    shown = suppress_counts(counts_frame(workspace.query, breakdown), limit)
    months = months_of(workspace.query.period)
    if shown.empty:
        return CountsResult(breakdown, Table([TOTAL], []), [(month, 0) for month in months])
    wide = shown.pivot(index=["month", "area"], columns="category", values="count").fillna(0)
    columns = [c for c in wide.columns if c != TOTAL] + [TOTAL]
    # Districts in order within each month, its total last.
    keys = sorted(wide.index, key=lambda key: (key[0], key[1] == TOTAL, key[1]))
    wide = wide.reindex(index=keys, columns=columns)
    table = Table(
        columns=[str(c) for c in columns],
        rows=[(key, [_plain(v) for v in wide.loc[key]]) for key in keys],
    )
    totals = shown[(shown["area"] == TOTAL) & (shown["category"] == TOTAL)]
    by_month = dict(zip(totals["month"], totals["count"], strict=True))
    return CountsResult(breakdown, table, [(m, _plain(by_month.get(m, 0))) for m in months])


def counts_csv(*, result: CountsResult) -> str:
    """The shown table as CSV, cells a spreadsheet would run as formulas neutralised, the
    header's too (its columns are the breakdown's supplied values)."""
    frame = result.table.frame(["month", "postcode_district"])
    frame.columns = [neutralise_cell(column) for column in frame.columns]
    return neutralise_formulas(frame.astype(object)).to_csv(index=False, lineterminator="\r\n")


# -- the linked crime view --------------------------------------------------------------------


@dataclass
class LinkedSection:
    """One part of the linked view: its table, or why it is not shown."""

    title: str
    refusal: str = ""
    no_supplies: str = ""
    table: Table | None = None
    label: str = ""


@dataclass
class LinkedView:
    offences: Dataset
    workspace: WorkspaceQuery | None
    sections: list[LinkedSection] = field(default_factory=list)


def _needs_records(dataset: Dataset, decision: AccessDecision) -> str:
    """Why a section needing the dataset's records is not shown, or "" when it may be."""
    if decision.allows(AccessLevel.DEPERSONALISED):
        return ""
    return f"It needs depersonalised records of {dataset.name}: {decision.reason}"


def _link_key(linked: Dataset, main: Dataset) -> str:
    (key,), _ = next(link for link in linked.schema.links if link[1] == main.slug)
    return key


def _joined(query: ExtractQuery, linked: Dataset) -> tuple[sql.Composable, sql.Composable, dict]:
    """The join of the offences (r) to a linked file's current records (v), and the WHERE."""
    where, params = query._where()
    key = sql.Literal(_link_key(linked, query.dataset))
    join = sql.SQL(
        "{records} r JOIN {records} v ON v.dataset_id = %(linked)s "
        "AND v.partnership_id = r.partnership_id AND v.data ->> {key} = r.data ->> {key} "
        "AND {current}"
    ).format(records=sql.Identifier(Record._meta.db_table), key=key, current=query._current("v"))
    return join, where, {**params, "linked": linked.pk}


def victims_by_age_and_offence(*, query: ExtractQuery, victims: Dataset) -> Table:
    """Victims of the offences by age band × offence group, suppressed with totals."""
    join, where, params = _joined(query, victims)
    frame = _fetch(
        sql.SQL(
            "SELECT r.data ->> 'ho_offence_code', v.data ->> 'age', count(*) "
            "FROM {join} WHERE {where} GROUP BY 1, 2"
        ).format(join=join, where=where),
        params,
        ["code", "age", "count"],
    )
    frame = pd.DataFrame(
        {
            "area": age_bands(frame["age"]),
            "category": offence_groups(frame["code"]),
            "count": frame["count"].astype(int),
        }
    )
    frame = frame.groupby(["area", "category"], as_index=False)["count"].sum()
    rows = [label for _, label in AGE_BANDS]
    if (frame["area"] == AGE_NOT_GIVEN).any():
        rows.append(AGE_NOT_GIVEN)
    columns = [g for g in [*OFFENCE_GROUPS, OTHER_OFFENCES] if g in set(frame["category"])]
    return _suppressed_table(frame, rows=rows, columns=columns or [VIOLENCE], limit=threshold())


def repeat_locations(*, query: ExtractQuery) -> Table:
    """Postcodes with REPEAT_LOCATION_MIN or more offences; a count below the threshold shows
    the marker, and those come last in postcode order, so that the order gives nothing away."""
    where, params = query._where()
    frame = _fetch(
        sql.SQL(
            "SELECT r.postcode, count(*) FROM {records} r WHERE {where} AND r.postcode <> '' "
            "GROUP BY 1 HAVING count(*) >= %(repeat_min)s"
        ).format(records=sql.Identifier(Record._meta.db_table), where=where),
        {**params, "repeat_min": REPEAT_LOCATION_MIN},
        ["postcode", "count"],
    )
    limit = threshold()
    frame["shown_order"] = frame["count"].where(frame["count"] >= limit, 0)
    frame = frame.sort_values(["shown_order", "postcode"], ascending=[False, True])
    shown = primary_suppressed(frame["count"].astype(int), limit)
    return Table(
        columns=["Offences"],
        rows=[((p,), [_plain(v)]) for p, v in zip(frame["postcode"], shown, strict=True)],
    )


def offenders_with_several_offences(*, query: ExtractQuery, offenders: Dataset) -> Table:
    """Offenders (by offender_ref) with two or more of the offences, by how many, suppressed
    with their total."""
    join, where, params = _joined(query, offenders)
    key = sql.Literal(_link_key(offenders, query.dataset))
    frame = _fetch(
        sql.SQL(
            "SELECT offences, count(*) FROM (SELECT v.data ->> 'offender_ref' AS offender, "
            "count(DISTINCT r.data ->> {key}) AS offences FROM {join} WHERE {where} "
            "AND COALESCE(v.data ->> 'offender_ref', '') <> '' GROUP BY 1) AS per_offender "
            "WHERE offences >= 2 GROUP BY 1"
        ).format(key=key, join=join, where=where),
        params,
        ["offences", "count"],
    )
    bands = np.minimum(frame["offences"].astype(int), 5) - 2
    frame = (
        pd.DataFrame(
            {
                "area": np.array(OFFENDER_BANDS, dtype=object)[bands.to_numpy()],
                "category": "Offenders",
                "count": frame["count"].astype(int),
            }
        )
        .groupby(["area", "category"], as_index=False)["count"]
        .sum()
    )
    return _suppressed_table(frame, rows=OFFENDER_BANDS, columns=["Offenders"], limit=threshold())


def _supplied(query: ExtractQuery, dataset: Dataset) -> bool:
    """Whether any current supply of the dataset covers part of the period."""
    probe = replace(query, dataset=dataset, fields=[], linked=None, linked_fields=[])
    return bool(probe.supplies())


def linked_crime_view(
    *, user: User, params: QueryDict, ip_address: str | None = None
) -> LinkedView:
    """Offences joined with their victim and offender files by crime reference: victims by
    age band × offence group, repeat locations and offenders with several offences. A section
    is shown only to a user with depersonalised records of every dataset it uses; otherwise
    it says why."""
    offences = dataset_selectors.dataset_get(slug=OFFENCES)
    linked = {dataset.slug: dataset for dataset in linkable(offences)}
    decisions = access_decisions(
        user=user, datasets=[offences, *linked.values()], partnership=partnership_chosen(params)
    )
    refused = _needs_records(offences, decisions[offences.pk])
    view = LinkedView(offences=offences, workspace=None)
    if refused:
        refuse(user=user, route="linked", reason=refused, dataset_slug=offences.slug,
               ip_address=ip_address)  # fmt: skip
    if decisions[offences.pk].allows(AccessLevel.AGGREGATE):
        view.workspace = workspace_query(
            user=user, params=params, route="linked", dataset=offences, ip_address=ip_address
        )
    query = view.workspace.query if view.workspace else None
    for slug, title, label in [
        (VICTIMS, "Victims by age band and offence group", "Age band"),
        (None, f"Repeat locations: postcodes with {REPEAT_LOCATION_MIN} or more offences",
         "Postcode"),
        (OFFENDERS, "Offenders with several offences", "Offences each"),
    ]:  # fmt: skip
        section = LinkedSection(title=title, label=label)
        view.sections.append(section)
        dataset = linked.get(slug) if slug else None
        if slug and dataset is None:
            section.refusal = "The catalogue holds no file linked to the offences for this."
        section.refusal = section.refusal or refused
        if dataset is not None and not section.refusal:
            section.refusal = _needs_records(dataset, decisions[dataset.pk])
            if section.refusal:
                refuse(
                    user=user, route="linked", reason=section.refusal,
                    dataset_slug=dataset.slug, ip_address=ip_address,
                )  # fmt: skip
        if section.refusal:
            continue
        if not _supplied(query, dataset or offences):
            section.no_supplies = (
                f"No current supplies of {(dataset or offences).name} cover the period."
            )
            continue
        if slug == VICTIMS:
            section.table = victims_by_age_and_offence(query=query, victims=dataset)
        elif slug == OFFENDERS:
            section.table = offenders_with_several_offences(query=query, offenders=dataset)
        else:
            section.table = repeat_locations(query=query)
    return view


# -- cross-agency comparison ------------------------------------------------------------------


@dataclass
class ComparisonSeries:
    name: str
    dataset_slug: str
    refusal: str = ""
    no_supplies: str = ""
    values: list[int | str | None] = field(default_factory=list)


@dataclass
class Comparison:
    months: list[str]
    series: list[ComparisonSeries]


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
        group = offence_group_sql(sql.SQL("r.data ->> 'ho_offence_code'"))
        return sql.SQL("{} = ANY(%(violence)s)").format(group), {
            "violence": list(OFFENCE_GROUPS[VIOLENCE])
        }
    return sql.SQL("lower(trim(r.data ->> 'incident_type')) = 'assault'"), {}


def monthly_counts(*, query: ExtractQuery, measure: sql.Composable, extra: dict) -> pd.Series:
    """Records by month ("YYYY-MM") that also meet ``measure``."""
    where, params = query._where()
    frame = _fetch(
        sql.SQL(
            "SELECT to_char(r.event_date, 'YYYY-MM'), count(*) FROM {records} r "
            "WHERE {where} AND {measure} GROUP BY 1"
        ).format(records=sql.Identifier(Record._meta.db_table), where=where, measure=measure),
        {**params, **extra},
        ["month", "count"],
    )
    return frame.set_index("month")["count"].astype(int)


def cross_agency_comparison(
    *, user: User, params: QueryDict, ip_address: str | None = None
) -> Comparison:
    """Police violence, A&E assault attendances and ambulance assault call-outs by month for
    the area and period (guidance §4.3.1: a police rise the health series do not share may be
    a reporting change). A series the user may not count says why; one with no current
    supplies says so rather than showing zeros. Counts below the threshold show the marker."""
    # Filters that mean one thing in every dataset; a category belongs to one dataset only.
    common = params.copy()
    for name in ("dataset", "category", "values"):
        common.pop(name, None)
    slugs = [slug for _, slug in COMPARED]
    datasets = {d.slug: d for d in dataset_selectors.dataset_list().filter(slug__in=slugs)}
    decisions = access_decisions(
        user=user, datasets=datasets.values(), partnership=partnership_chosen(params)
    )
    limit = threshold()
    months: list[str] | None = None
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
                   ip_address=ip_address)  # fmt: skip
            continue
        query = workspace_query(
            user=user, params=common, route="compare", dataset=dataset, ip_address=ip_address
        ).query
        months = months or months_of(query.period)
        if not query.supplies():
            one.no_supplies = f"No current supplies of {dataset.name} cover the period."
            continue
        measure, extra = _measure_sql(slug)
        counts = monthly_counts(query=query, measure=measure, extra=extra)
        shown = primary_suppressed(counts.reindex(months, fill_value=0), limit)
        one.values = [_plain(v) for v in shown]
    months = months or []
    for one in series:
        one.values = one.values or [None] * len(months)
    return Comparison(months=months, series=series)
