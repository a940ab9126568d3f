"""Reading an extract's rows out of PostgreSQL: in the order they are stored, by one process,
and in chunks, never all in memory."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pandas as pd
from django.db import DatabaseError, connection
from psycopg2 import sql

from sharing.records import ExtractQuery

# Rows per frame read from a server-side cursor.
CHUNK_ROWS = 50_000


@contextlib.contextmanager
def scans_in_stored_order() -> Iterator[None]:
    """Queries run in here read each table with one process, so that rows come in the order
    the scan meets them. PostgreSQL's parallel workers would interleave them (a different
    file each time, which deflates worse) and take the cores that compressing needs."""
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    try:
        yield
    finally:
        # A connection that has failed is discarded, and its setting with it.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")


def stream_parts(parts: list[ExtractQuery]) -> Iterator[pd.DataFrame]:
    """The rows of an extract's parts (ExtractQuery.parts), part after part, in chunks."""
    for part in parts:
        yield from stream_rows(*part.records())


def stream_rows(query: sql.Composable, params: dict, names: list[str]) -> Iterator[pd.DataFrame]:
    """The query's rows in chunks, from a server-side cursor: never all in memory."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(query, params)
        while rows := cursor.fetchmany(CHUNK_ROWS):
            frame = pd.DataFrame(rows, columns=names, dtype=object)
            frame["event_date"] = pd.to_datetime(frame["event_date"]).dt.strftime("%Y-%m-%d")
            yield frame
