"""The one records query: what may be asked for, and the rows of a dataset's current
supplies, for extracts, the workspace and the map alike.

Rows come only from current supplies (completed, not superseded) of the analyst's
partnership, streamed from a server-side cursor in chunks. Locations are always the
sanitised ones. Identifying fields are decrypted only for personal extracts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

import pandas as pd
from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from datasets.catalogue import DatasetSchema, primary_group
from datasets.choices import FieldClass, SupplyStatus
from datasets.models import Dataset, IdentifyingRecord, Record, RecordMonthlyCount, Supply
from datasets.spreadsheets import neutralise_sql
from datasets.storage import field_sql, field_text_sql
from sanitise.areas import DISTRICT
from sanitise.choices import LOCATION_PRECISION_M
from sanitise.models import Area
from sharing.area_keys import AREA_KEYS, area_label_sql

CIPHERTEXT, SUPPLY, ROW = "_ciphertext", "_supply", "_row"
# The records' own location columns, then the precision their method gives them.
STORED_LOCATION_COLUMNS = ["easting", "northing", "postcode", "location_method"]
# The record's ward and LSOA, by code and by the name the area lookup gives.
AREA_OUTPUT_COLUMNS = ["ward_code", "ward_name", "lsoa_code", "lsoa_name"]
LOCATION_COLUMNS = [*STORED_LOCATION_COLUMNS, "location_precision_m", *AREA_OUTPUT_COLUMNS]


class ExtractRefused(Exception):
    """The request cannot be met; the message says why, for the analyst."""


# A period any query may cover: no record is older, and a longer one is a mistake or a
# scrape (and would be a table of thousands of months).
EARLIEST_DAY = datetime.date(1900, 1, 1)
LONGEST_PERIOD_YEARS = 10


def period_invalid(
    start: datetime.date, end: datetime.date, *, today: datetime.date | None = None
) -> str:
    """Why ``start`` to ``end`` cannot be a query's period, or "" if it can."""
    latest = datetime.date((today or timezone.localdate()).year + 1, 12, 31)
    if end < start:
        return "The period ends before it starts."
    if start < EARLIEST_DAY or end > latest:
        return f"A period lies between {EARLIEST_DAY:%d/%m/%Y} and {latest:%d/%m/%Y}."
    if (end.year - start.year, end.month, end.day) > (LONGEST_PERIOD_YEARS, start.month, start.day):
        return f"A period is at most {LONGEST_PERIOD_YEARS} years: ask for a longer one in parts."
    return ""


# -- what may be asked for --------------------------------------------------------------------


def record_fields(schema: DatasetSchema) -> list[str]:
    """The dataset's fields a depersonalised extract may hold: every field not identifying,
    and address members, which sanitisation reduced to street and locality. The primary
    location's postcode and coordinates come as the sanitised location columns instead."""
    addresses = {group.address for group in schema.locations if group.address}
    primary = primary_group(schema)
    replaced = {primary.postcode, primary.easting, primary.northing} if primary else set()
    return [
        spec.name
        for spec in schema.fields
        if (spec.field_class != FieldClass.IDENTIFYING or spec.name in addresses)
        and spec.name not in replaced
    ]


def personal_fields(schema: DatasetSchema) -> list[str]:
    """Identifying fields a personal-level extract may add: names, dates of birth and full
    addresses. Property-precise coordinates stay out: the mapped point is the sanitised one."""
    coordinates = {g.easting for g in schema.locations} | {g.northing for g in schema.locations}
    return [
        spec.name
        for spec in schema.fields
        if spec.field_class == FieldClass.IDENTIFYING and spec.name not in coordinates
    ]


def category_fields(schema: DatasetSchema) -> list[str]:
    """Fields counts may be broken down by: categories, not references, dates, free text or
    locations (a breakdown by postcode would be a map with exact counts)."""
    located = {
        member
        for group in schema.locations
        for member in (group.address, group.postcode, group.easting, group.northing)
        if member
    }
    return [
        spec.name
        for spec in schema.fields
        if spec.field_class == FieldClass.ATTRIBUTE
        and spec.type in ("string", "boolean")
        and spec.name not in located
    ]


def link_prefix(main: str, linked: str) -> str:
    """Column prefix for a linked dataset's fields: "victim_" for police_crime_victim."""
    common = 0
    while common < min(len(main), len(linked)) and main[common] == linked[common]:
        common += 1
    return linked[linked.rfind("_", 0, common) + 1 :] + "_"


def linkable(dataset: Dataset) -> list[Dataset]:
    """Datasets whose records link to this one's (offender and victim files to offences)."""
    return [
        candidate
        for candidate in Dataset.objects.filter(is_active=True)
        if any(target == dataset.slug for _, target in candidate.schema.links)
    ]


# -- the query --------------------------------------------------------------------------------


@dataclass
class ExtractQuery:
    partnership_id: int
    dataset: Dataset
    period: tuple
    fields: list[str]
    area: dict = field(default_factory=dict)
    linked: Dataset | None = None
    linked_fields: list[str] = field(default_factory=list)
    # Identifying fields, decrypted from the records' identifying part (personal level only).
    identifying: list[str] = field(default_factory=list)
    # Analysts' filters: ISO days of the week (1 = Monday), hours [from, to) that may wrap past
    # midnight (21 to 4 is the night), and allowed values of one field.
    weekdays: list[int] = field(default_factory=list)
    hours: tuple[int, int] | None = None
    category: tuple[str, list[str]] | None = None
    # Only the records these agencies supplied (a personal-data request's scope); None: all.
    supplying_agency_ids: list[int] | None = None
    # The current supplies, fixed once (see current_supplies) so that an extract made in
    # several queries takes every part from the same supplies.
    supply_ids: list | None = None
    # One part of the rows: the records of this one supply (see parts).
    part_supply_id: str | None = None

    def _current(self, alias: str) -> sql.Composable:
        """Only the records of current supplies: completed and not superseded."""
        if self.supply_ids is not None:
            return sql.SQL("{}.supply_id = ANY(%(supplies)s)").format(sql.Identifier(alias))
        return sql.SQL(
            "EXISTS (SELECT 1 FROM {supplies} s WHERE s.id = {a}.supply_id "
            "AND s.status = {completed} AND s.superseded_by_id IS NULL{agencies})"
        ).format(
            supplies=sql.Identifier(Supply._meta.db_table),
            a=sql.Identifier(alias),
            completed=sql.Literal(SupplyStatus.COMPLETED.value),
            agencies=(
                sql.SQL(" AND s.agency_id = ANY(%(supplying_agencies)s)")
                if self.supplying_agency_ids is not None
                else sql.SQL("")
            ),
        )

    def _where(self) -> tuple[sql.Composable, dict]:
        clauses = [
            sql.SQL("r.dataset_id = %(dataset)s"),
            sql.SQL("r.partnership_id = %(partnership)s"),
            sql.SQL("r.event_date BETWEEN %(start)s AND %(end)s"),
            self._current("r"),
        ]
        params = {
            "dataset": self.dataset.pk,
            "partnership": self.partnership_id,
            "start": self.period[0],
            "end": self.period[1],
        }
        if self.supply_ids is not None:
            params["supplies"] = list(self.supply_ids)
        if self.supplying_agency_ids is not None:
            params["supplying_agencies"] = list(self.supplying_agency_ids)
        if self.part_supply_id is not None:
            clauses.append(sql.SQL("r.supply_id = %(part_supply)s"))
            params["part_supply"] = self.part_supply_id
        # Records in any of the areas named (a district, a ward, an LSOA, …).
        within = []
        if self.area.get("districts"):
            within.append(sql.SQL("split_part(r.postcode, ' ', 1) = ANY(%(districts)s)"))
            params["districts"] = [d.upper().strip() for d in self.area["districts"]]
        for key, column in AREA_KEYS.items():
            if self.area.get(key):
                within.append(
                    sql.SQL("r.{} = ANY({})").format(sql.Identifier(column), sql.Placeholder(key))
                )
                params[key] = [code.upper().strip() for code in self.area[key]]
        if within:
            clauses.append(sql.SQL("({})").format(sql.SQL(" OR ").join(within)))
        if self.area.get("bbox"):
            clauses.append(
                sql.SQL(
                    "r.easting BETWEEN %(e0)s AND %(e1)s AND r.northing BETWEEN %(n0)s AND %(n1)s"
                )
            )
            params.update(zip(["e0", "n0", "e1", "n1"], self.area["bbox"], strict=True))
        if self.weekdays:
            clauses.append(sql.SQL("EXTRACT(ISODOW FROM r.event_date) = ANY(%(weekdays)s)"))
            params["weekdays"] = list(self.weekdays)
        if self.hours is not None:
            join = "AND" if self.hours[0] <= self.hours[1] else "OR"
            clauses.append(
                sql.SQL(
                    "(EXTRACT(HOUR FROM r.event_time) >= %(h0)s {} "
                    "EXTRACT(HOUR FROM r.event_time) < %(h1)s)"
                ).format(sql.SQL(join))
            )
            params.update(h0=self.hours[0], h1=self.hours[1])
        if self.category is not None:
            clauses.append(
                sql.SQL("{} = ANY(%(category_values)s)").format(
                    field_text_sql("r", self.category[0])
                )
            )
            params["category_values"] = self.category[1]
        return sql.SQL(" AND ").join(clauses), params

    def records(self) -> tuple[sql.Composable, dict, list[str]]:
        """The SELECT of the extract's rows, its parameters and its column names. The rows
        come in the order they are stored: no sort of wide rows (see parts for the order of
        a whole extract)."""
        columns = [sql.SQL("r.event_date")]
        names = ["event_date"]
        for name in self.fields:
            columns.append(field_text_sql("r", name))
            names.append(name)
        columns += [sql.SQL("r.{}").format(sql.Identifier(c)) for c in STORED_LOCATION_COLUMNS]
        columns.append(_precision_sql())
        columns += [
            sql.SQL("r.ward_code"),
            sql.SQL("wa.name"),
            sql.SQL("r.lsoa_code"),
            sql.SQL("la.name"),
        ]
        names += LOCATION_COLUMNS
        joins = sql.SQL(
            " LEFT JOIN {areas} wa ON wa.code = NULLIF(r.ward_code, '')"
            " LEFT JOIN {areas} la ON la.code = NULLIF(r.lsoa_code, '')"
        ).format(areas=sql.Identifier(Area._meta.db_table))
        where, params = self._where()
        if self.identifying:
            columns += [
                sql.SQL("i.ciphertext"),
                sql.SQL("r.supply_id::text"),
                sql.SQL("r.row_number"),
            ]
            names += [CIPHERTEXT, SUPPLY, ROW]
            joins += sql.SQL(" LEFT JOIN {} i ON i.record_id = r.id").format(
                sql.Identifier(IdentifyingRecord._meta.db_table)
            )
        if self.linked is not None:
            prefix = link_prefix(self.dataset.slug, self.linked.slug)
            for name in self.linked_fields:
                columns.append(field_text_sql("v", name))
                names.append(prefix + name)
            joins += sql.SQL(" LEFT JOIN {records} v ON {on}").format(
                records=sql.Identifier(Record._meta.db_table), on=self.link_on(self.linked)
            )
            params["linked"] = self.linked.pk
        query = sql.SQL("SELECT {columns} FROM {records} r{joins} WHERE {where}").format(
            columns=sql.SQL(", ").join(columns),
            records=sql.Identifier(Record._meta.db_table),
            joins=joins,
            where=where,
        )
        return query, params, names

    def link_on(self, linked: Dataset) -> sql.Composable:
        """How a current record of ``linked`` (v, %(linked)s) joins this dataset's record (r):
        by the field it links by, in the same partnership."""
        (key,), _ = next(link for link in linked.schema.links if link[1] == self.dataset.slug)
        return sql.SQL(
            "v.dataset_id = %(linked)s AND v.partnership_id = r.partnership_id "
            "AND {linked_key} = {key} AND {current}"
        ).format(
            linked_key=field_sql("v", key), key=field_sql("r", key), current=self._current("v")
        )

    def csv_records(self) -> tuple[sql.Composable, dict, list[str]]:
        """The rows' SELECT with each cell as the CSV shows it, for COPY: the date in ISO
        form, formulas neutralised and empty text as NULL (both are an empty field).

        The records' SELECT is a subquery so that each field is turned into text once, not
        once for each mention in the neutralising expression.
        """
        query, params, names = self.records()
        aliases = [sql.Identifier(f"c{number}") for number in range(len(names))]
        cells = [sql.SQL("to_char(e.{}, 'YYYY-MM-DD')").format(aliases[0])]
        cells += [neutralise_sql(sql.SQL("e.{}::text").format(alias)) for alias in aliases[1:]]
        select = sql.SQL("SELECT {cells} FROM ({query}) AS e ({aliases})").format(
            cells=sql.SQL(", ").join(cells),
            query=query,
            aliases=sql.SQL(", ").join(aliases),
        )
        return select, params, names

    def current_supply_list(self):
        """The current supplies the query's records come from, whatever their period."""
        datasets = [self.dataset] + ([self.linked] if self.linked else [])
        current = Supply.objects.current().filter(
            dataset__in=datasets, agency__partnership_id=self.partnership_id
        )
        if self.supplying_agency_ids is not None:
            current = current.filter(agency_id__in=self.supplying_agency_ids)
        return current

    def current_supplies(self) -> ExtractQuery:
        """This query with the current supplies fixed as they are now."""
        current = self.current_supply_list()
        return replace(self, supply_ids=list(current.values_list("pk", flat=True)))

    def summary_where(
        self, months: tuple[datetime.date, datetime.date]
    ) -> tuple[sql.Composable, dict]:
        """The condition on a summary's rows (alias ``c``, datasets.summary) that this query's
        records over whole ``months`` meet, and its parameters: exactly for a query of a
        dataset, a period and areas (sharing.workspace.counts.summary_answers), a bound for
        any other."""
        _, params = self._where()
        clauses = [
            sql.SQL("c.dataset_id = %(dataset)s"),
            sql.SQL("c.partnership_id = %(partnership)s"),
            sql.SQL("c.month BETWEEN %(first)s AND %(last)s"),
            self._current("c"),
        ]
        within = [sql.SQL("c.district = ANY(%(districts)s)")] if "districts" in params else []
        within += [
            sql.SQL("c.{} = ANY({})").format(sql.Identifier(column), sql.Placeholder(key))
            for key, column in AREA_KEYS.items()
            if key in params
        ]
        if within:
            clauses.append(sql.SQL("({})").format(sql.SQL(" OR ").join(within)))
        return sql.SQL(" AND ").join(clauses), {**params, "first": months[0], "last": months[1]}

    def parts(self) -> tuple[list[ExtractQuery], int]:
        """The extract as one query per current supply of its dataset, in the order of their
        periods, and about how many rows there are in all. Each part's rows come as its scan
        reads them, so the whole extract is read without a sort, a supply at a time, with
        progress told (and the extract's lease renewed) after each: at the rate measured, a
        supply of up to about a hundred million rows is read within the lease.

        The rows in all, for progress only, are what the monthly counts of its supplies
        (datasets.summary) say of its months and areas, known without reading the rows once
        more (fewer for a linked extract, whose records may each have several linked); 0, for
        no figure, unless the counts answer the query exactly (summary_split): a total over
        more than the query may read would tell its user, as done ÷ total, a count beyond
        what they may see."""
        from sharing.workspace.counts import summary_split  # the workspace builds on this

        fixed = self if self.supply_ids is not None else self.current_supplies()
        supplies = (
            Supply.objects.filter(pk__in=fixed.supply_ids, dataset=self.dataset)
            .order_by("period_start", "created_at", "pk")
            .values_list("pk", flat=True)
        )
        parts = [replace(fixed, part_supply_id=str(pk)) for pk in supplies]
        months, rest = summary_split(self)
        if months is None or rest:
            return parts, 0
        where, params = fixed.summary_where(months)
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT coalesce(sum(c.count), 0) FROM {counts} c WHERE {where}").format(
                    counts=sql.Identifier(RecordMonthlyCount._meta.db_table), where=where
                ),
                params,
            )
            return parts, cursor.fetchone()[0]

    def counts(self, category: str | None, *, area_kind: str = DISTRICT) -> pd.DataFrame:
        """Records by month, area (a postcode district, or the code of the ``area_kind`` of
        sanitise.areas) and category, with the sum of their record keys (for
        sharing.disclosure)."""
        where, params = self._where()
        category_sql = (
            sql.SQL("COALESCE({}, '(not given)')").format(field_text_sql("r", category))
            if category
            else sql.SQL("'All'")
        )
        query = sql.SQL(
            "SELECT to_char(r.event_date, 'YYYY-MM') AS month, "
            "{area} AS area, "
            "{category} AS category, count(*) AS count, sum(r.record_key) AS key_sum "
            "FROM {records} r WHERE {where} GROUP BY 1, 2, 3"
        ).format(
            area=area_label_sql("r", area_kind),
            category=category_sql,
            records=sql.Identifier(Record._meta.db_table),
            where=where,
        )
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
        return pd.DataFrame(rows, columns=["month", "area", "category", "count", "key_sum"])

    def supplies(self) -> list[dict]:
        """The supplies the rows come from, for the metadata."""
        current = (
            self.current_supply_list()
            .filter(period_end__gte=self.period[0], period_start__lte=self.period[1])
            .select_related("agency", "dataset")
        )
        return [
            {
                "dataset": supply.dataset.slug,
                "agency": supply.agency.name,
                "period": f"{supply.period_start:%d/%m/%Y} to {supply.period_end:%d/%m/%Y}",
                "supplied": f"{supply.created_at:%d/%m/%Y}",
                "caveats": supply.caveats,
                "coding_systems": supply.coding_systems,
                "field_notes": supply.field_notes,
            }
            for supply in current
        ]


def _precision_sql() -> sql.Composable:
    """Each record's location precision in metres: its method's figure (NULL where the
    method has none)."""
    known = [(method, metres) for method, metres in LOCATION_PRECISION_M.items() if metres]
    if not known:
        return sql.SQL("NULL::integer")
    cases = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(str(method)), sql.Literal(metres))
        for method, metres in known
    )
    return sql.SQL("CASE r.location_method {} END").format(cases)
