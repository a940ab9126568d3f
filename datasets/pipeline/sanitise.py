"""Sanitising: each record dated, its locations moved to safe centroids and its identifying
fields set apart, for the load; the count of each location method."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd
from django.db import connection
from psycopg2 import sql

from datasets.choices import LocationMethod
from datasets.models import Dataset, Record, Supply
from datasets.pipeline.stages import EVENT_DATE, EVENT_TIME, LOADED_STATUSES, Claim
from datasets.storage import field_text_sql


def _linked_event_dates(claim: Claim, chunk: pd.DataFrame) -> pd.Series | None:
    """For records with no date of their own, the date of the record they link to."""
    for fields, slug in claim.schema.links:
        if len(fields) != 1 or fields[0] not in chunk:
            continue
        refs = chunk[fields[0]].dropna().astype(str).unique().tolist()
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "SELECT {ref}, r.event_date FROM {records} r "
                    "JOIN {supplies} s ON s.id = r.supply_id "
                    "WHERE r.partnership_id = %(partnership)s AND r.dataset_id = %(dataset)s "
                    "AND s.status = ANY(%(loaded)s) AND s.superseded_by_id IS NULL "
                    "AND {ref} = ANY(%(refs)s)"
                ).format(
                    ref=field_text_sql("r", fields[0]),
                    records=sql.Identifier(Record._meta.db_table),
                    supplies=sql.Identifier(Supply._meta.db_table),
                ),
                {
                    "partnership": claim.supply.agency.partnership_id,
                    "dataset": Dataset.objects.filter(slug=slug)
                    .values_list("pk", flat=True)
                    .first(),
                    "loaded": list(LOADED_STATUSES),
                    "refs": refs,
                },
            )
            rows = cursor.fetchall()
        found = dict(rows)
        dates = pd.Series(
            pd.to_datetime(list(found.values())), index=list(found), dtype="datetime64[ns]"
        )
        matched = dates.reindex(chunk[fields[0]].astype(str)).to_numpy()
        return pd.Series(matched, index=chunk.index, dtype="datetime64[ns]")
    return None


def _event_dates(claim: Claim, chunk: pd.DataFrame) -> pd.Series:
    """Each record's event date: its own, else its linked record's, else the period start."""
    period_start = pd.Timestamp(claim.supply.period_start)
    if claim.schema.event_date:
        dates = pd.to_datetime(chunk[claim.schema.event_date])
    else:
        linked = _linked_event_dates(claim, chunk)
        dates = linked if linked is not None else pd.Series(pd.NaT, index=chunk.index)
    return dates.fillna(period_start)


@dataclass
class Sanitised:
    """A chunk's records for the warehouse, and their identifying fields (None for a dataset
    that has none)."""

    records: pd.DataFrame
    identifying: pd.DataFrame | None


class Sanitising:
    """Sanitises chunk after chunk, counting how each record was located."""

    def __init__(self, claim: Claim, gazetteer):
        self.claim, self.gazetteer = claim, gazetteer
        self.location_counts: Counter = Counter({method: 0 for method in LocationMethod.values})

    def sanitise(self, chunk: pd.DataFrame) -> Sanitised:
        from sanitise.services import sanitise_frame

        schema = self.claim.schema
        event_dates = _event_dates(self.claim, chunk)
        fields = chunk[[name for name in schema.field_names if name in chunk]]
        result = sanitise_frame(
            fields, chunk, schema=schema, gazetteer=self.gazetteer, event_date=event_dates
        )
        records = result.records
        records[EVENT_DATE] = event_dates
        records[EVENT_TIME] = chunk[schema.event_time] if schema.event_time else None
        self.location_counts.update(result.location_counts)
        return Sanitised(records=records, identifying=result.identifying)
