"""A supplied file's header: each column matched to the dataset field it names (by name or
alias, case, spacing and punctuation aside), the header row found below a title, and a column
that gives a date and a time in one value split into the two fields."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datasets.catalogue import DatasetSchema

LATITUDE_HEADERS = {"latitude", "lat"}
LONGITUDE_HEADERS = {"longitude", "long", "lon", "lng"}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TEXT = pd.StringDtype("pyarrow")


def normalise_header(text: str) -> str:
    """Case, spacing and punctuation do not matter: "Crime Ref." and "crime_ref" are one."""
    return _NON_ALNUM.sub("_", str(text).strip().casefold()).strip("_")


@dataclass
class HeaderMapping:
    rename: dict[str, str] = field(default_factory=dict)
    # Columns of a date and a time in one value, and the (date, time) fields they are read as.
    split: dict[str, tuple[str, str]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    latitude: str | None = None
    longitude: str | None = None
    missing_required: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    # The columns read, in the file's order.
    read: list[str] = field(default_factory=list)

    @property
    def read_as(self) -> dict[str, str]:
        """Each column read and the field it is read as ("incident_date and incident_time" for
        a column of dates with times), in the file's order."""
        return {
            column: self.rename.get(column) or " and ".join(self.split[column])
            for column in self.read
        }

    @property
    def field_columns(self) -> dict[str, str]:
        """Each field read and the supplier's column it is read from."""
        return {
            name: column for column, label in self.read_as.items() for name in label.split(" and ")
        }

    @property
    def problems(self) -> list[str]:
        """Messages for what makes the whole supply unusable."""
        problems = list(self.conflicts)
        if self.missing_required:
            names = ", ".join(self.missing_required)
            problems.append(
                f"The file has no column for the required field(s) {names}. Add the column, "
                "named as in the dataset's CSV template, and supply the file again."
            )
        return problems


def _spellings(schema: DatasetSchema) -> dict[str, str]:
    """Each normalised name or alias of a field, and the field it names."""
    spellings: dict[str, str] = {}
    for spec in schema.fields:
        spellings[normalise_header(spec.name)] = spec.name
        for alias in spec.aliases:
            spellings.setdefault(normalise_header(alias), spec.name)
    return spellings


def _date_time_spellings(schema: DatasetSchema) -> dict[str, tuple[str, str]]:
    """Each normalised name of a column of dates with times, and its (date, time) fields."""
    return {
        normalise_header(alias): (column.date, column.time)
        for column in schema.date_times
        for alias in column.aliases
    }


def known_headers(schema: DatasetSchema) -> frozenset[str]:
    """Every normalised column name the dataset reads: its fields' names and aliases, and the
    names of its columns of dates with times."""
    return frozenset(_spellings(schema)) | frozenset(_date_time_spellings(schema))


def header_finder(schema: DatasetSchema) -> Callable[[list[list[str]]], int]:
    """Picks the header among a file's first rows: the one naming the most of the dataset's
    fields, so that a title or notes above it are skipped; the first row if none names any."""
    spellings = known_headers(schema)

    def find(rows: list[list[str]]) -> int:
        # Names, not cells: a data row of one value repeated ("X" is an easting's name too)
        # names one column however wide it is.
        named = [
            len({key for cell in row if (key := normalise_header(cell)) in spellings})
            for row in rows
        ]
        most = max(named, default=0)
        return named.index(most) if most else 0

    return find


def map_header(columns: Iterable[str], schema: DatasetSchema) -> HeaderMapping:
    """Match the file's columns to the schema's fields by name or alias; list the rest."""
    spellings = _spellings(schema)
    date_times = _date_time_spellings(schema)
    mapping = HeaderMapping()
    claimed: dict[str, str] = {}

    def claim(field_name: str, column: str) -> None:
        if field_name in claimed:
            mapping.conflicts.append(
                f"Columns {claimed[field_name]!r} and {column!r} both mean {field_name}; "
                "remove one of them."
            )
        claimed[field_name] = column

    for column in columns:
        key = normalise_header(column)
        field_name = spellings.get(key)
        if field_name is not None:
            claim(field_name, column)
            mapping.rename[column] = field_name
            mapping.read.append(column)
        elif key in date_times:
            for name in date_times[key]:
                claim(name, column)
            mapping.split[column] = date_times[key]
            mapping.read.append(column)
        elif key in LATITUDE_HEADERS and schema.locations:
            mapping.latitude = column
        elif key in LONGITUDE_HEADERS and schema.locations:
            mapping.longitude = column
        else:
            mapping.dropped.append(str(column))
    for spec in schema.fields:
        if spec.name not in claimed:
            target = mapping.missing_required if spec.required else mapping.missing_optional
            target.append(spec.name)
    return mapping


# A date, then optionally a time (after "T" or spaces, with any fraction of a second), then
# optionally a time zone, which is dropped: the time is read as the clock showed it.
_DATE_TIME = (
    r"^\s*(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})"
    r"(?:(?:T|\s+)(?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?\s*$"
)


def split_date_time(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Values of a date and a time ("2026-10-05T22:15:00", "05/10/2026 22:15") as their
    dates and their times (NA where none is given). A value of no such form goes whole to the
    date, which reports it as not a date."""
    text = pa.array(values, type=pa.string(), from_pandas=True)
    parts = pc.extract_regex(text, _DATE_TIME)
    dates = pc.coalesce(pc.struct_field(parts, "date"), text)
    times = pc.struct_field(parts, "time")
    times = pc.if_else(pc.equal(times, ""), pa.scalar(None, pa.string()), times)
    return (
        pd.Series(pd.array(dates, dtype=_TEXT), index=values.index),
        pd.Series(pd.array(times, dtype=_TEXT), index=values.index),
    )


def fields_of(chunk: pd.DataFrame, mapping: HeaderMapping) -> pd.DataFrame:
    """The chunk's columns that were read, as the fields they were read as. Unknown columns
    go no further than this: they are never stored."""
    known = chunk[list(mapping.rename)].rename(columns=mapping.rename)
    for column, (date_field, time_field) in mapping.split.items():
        known[date_field], known[time_field] = split_date_time(chunk[column])
    return known
