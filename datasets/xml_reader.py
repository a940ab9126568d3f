"""Reading an XML submission into the same chunks of text as a CSV: the Information Sharing to
Tackle Violence (ISTV) minimum data set as emergency departments send it.

The file is streamed by defusedxml's iterparse, each record dropped from the tree once read,
so that a large file is never held whole; it is refused if it declares a document type or
entities (which can make a small file expand without limit, or read other files) or runs past
the upload limit. A group is an element whose children hold values. The submission header is
the group that names the reporting period (the schema's ``xmlSubmission``); every other group
with a value named as one of the dataset's fields is a record: one row, with a column for each
value, named as its element is, so that the fields' aliases map the names to fields, as they
map a CSV's header. Rows are numbered by record from 1: a report's row 5 is the fifth record.
Every chunk carries the header's values in ``attrs[SUBMISSION_HEADER]``.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

import pandas as pd
from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import iterparse

from datasets.catalogue import DatasetSchema
from datasets.headers import known_headers, normalise_header
from datasets.supplied import UnreadableFile

SUBMISSION_HEADER = "submission_header"
PERIOD_START, PERIOD_END, SITE_CODE = "period_start", "period_end", "site_code"
# No submission nests this deep; a file that does is not one.
MAX_DEPTH = 32
# As many distinct value names as a CSV may have columns (datasets.readers.MAX_COLUMNS).
MAX_NAMES = 1000
_MAX_CHUNK_CELLS = 10_000_000
_HEADER_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:T[0-9:.]*)?(?:Z|[+-]\d{2}:?\d{2})?\s*$")
_BRITISH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")

_REFUSED = (
    "The XML file declares a document type (<!DOCTYPE …>) or entities, which the hub refuses: "
    "they can make a small file expand without limit or read other files. Export the "
    "submission again without them (the ISTV XML submission needs neither)."
)


@dataclass(frozen=True)
class XmlLayout:
    """What the groups of a dataset's XML submission are: the normalised names a record's
    values may have (None: any group is a record), and for each of the header's roles
    (PERIOD_START, PERIOD_END, SITE_CODE) the normalised names it may have."""

    record_names: frozenset[str] | None = None
    header: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def header_names(self) -> frozenset[str]:
        return frozenset().union(*self.header.values())


def xml_layout(schema: DatasetSchema) -> XmlLayout:
    """The layout of the dataset's XML submission: its records' values are named as its
    fields are (names and aliases), its header's as its ``xmlSubmission`` says."""
    submission = schema.xml_submission
    header = {}
    if submission is not None:
        roles = {
            PERIOD_START: submission.period_start,
            PERIOD_END: submission.period_end,
            SITE_CODE: submission.site_code,
        }
        header = {role: frozenset(map(normalise_header, names)) for role, names in roles.items()}
    return XmlLayout(record_names=known_headers(schema), header=header)


def header_date(text: str | None) -> datetime.date | None:
    """A header's date as the XML schema writes it (yyyy-mm-dd, perhaps with a time zone),
    or as dd/mm/yyyy; None if it is missing or no date."""
    if not text:
        return None
    iso, british = _HEADER_DATE.match(text), _BRITISH_DATE.match(text)
    try:
        if iso:
            return datetime.date(*map(int, iso.groups()))
        if british:
            day, month, year = map(int, british.groups())
            return datetime.date(year, month, day)
    except ValueError:
        return None
    return None


class _Capped(io.RawIOBase):
    """Stops a file that runs past the upload limit."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._limit = limit
        self._remaining = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        self._remaining -= len(data)
        if self._remaining < 0:
            raise UnreadableFile(
                f"The XML file is larger than the hub accepts ({self._limit / 2**20:,.0f} MB). "
                "Supply it in smaller periods."
            )
        buffer[: len(data)] = data
        return len(data)


def _local(tag) -> str:
    """An element's name without its namespace."""
    return str(tag).rsplit("}", 1)[-1]


def _groups(
    open_stream: Callable[[], AbstractContextManager], max_bytes: int
) -> Iterator[tuple[str, dict[str, str]]]:
    """Each group, in document order: its element's name and its values by name (a name
    given twice keeps its first value). Each group is dropped from the tree once read."""
    with open_stream() as raw:
        stack = []
        try:
            events = iterparse(_Capped(raw, max_bytes), events=("start", "end"), forbid_dtd=True)
            for event, element in events:
                if event == "start":
                    stack.append(element)
                    if len(stack) > MAX_DEPTH:
                        raise UnreadableFile(
                            f"The XML file nests elements more than {MAX_DEPTH} deep, as no "
                            "submission does. Export the submission again from your system."
                        )
                    continue
                stack.pop()
                if len(element) == 0:
                    # A value, read with its group; a group holds no more values than a CSV
                    # has columns, so that the part of the tree held stays small.
                    if stack and len(stack[-1]) > MAX_NAMES:
                        raise UnreadableFile(
                            f"An element of the XML file holds over {MAX_NAMES:,} values, as "
                            "no submission does. Export the submission again from your system."
                        )
                    continue
                values: dict[str, str] = {}
                for child in element:
                    if len(child) == 0:
                        values.setdefault(_local(child.tag), (child.text or "").strip())
                if values:
                    yield _local(element.tag), values
                element.clear()
                if stack:
                    stack[-1].remove(element)
        except UnreadableFile:
            raise
        except DefusedXmlException as error:
            raise UnreadableFile(_REFUSED) from error
        except ParseError as error:
            raise UnreadableFile(
                f"The file is not well-formed XML ({error}). Export the submission again from "
                "your system, or supply the records as a CSV."
            ) from error
        except (ValueError, LookupError) as error:  # an encoding expat cannot read
            raise UnreadableFile(
                "The XML file's character encoding cannot be read: export it as UTF-8."
            ) from error


@dataclass
class _Survey:
    header: dict[str, str] | None = None
    columns: dict[str, None] = field(default_factory=dict)
    records: int = 0
    # Other groups' element names and value names, for a message when there are no records.
    others: dict[str, set[str]] = field(default_factory=dict)


def _kind(values: dict[str, str], layout: XmlLayout) -> str:
    names = {normalise_header(name) for name in values}
    if names & layout.header_names:
        return "header"
    if layout.record_names is None or names & layout.record_names:
        return "record"
    return "other"


def _header(values: dict[str, str], layout: XmlLayout) -> dict[str, str]:
    found = {}
    for name, value in values.items():
        for role, names in layout.header.items():
            if normalise_header(name) in names:
                found.setdefault(role, value)
    return found


def _survey(groups: Iterator[tuple[str, dict[str, str]]], layout: XmlLayout) -> _Survey:
    """The first pass: the header, and every value name of the records in first-seen order
    (a record leaves out the elements it has no value for, so the first records alone may not
    name every column)."""
    survey = _Survey()
    for element, values in groups:
        kind = _kind(values, layout)
        if kind == "header":
            if survey.header is not None:
                raise UnreadableFile(
                    "The XML file has more than one submission header; a submission has one, "
                    "for one period and site. Supply each submission as a file of its own."
                )
            survey.header = _header(values, layout)
        elif kind == "record":
            survey.records += 1
            survey.columns.update(dict.fromkeys(values))
            if len(survey.columns) > MAX_NAMES:
                raise UnreadableFile(
                    f"The XML file's records have over {MAX_NAMES:,} different elements, as no "
                    "submission does. Export the submission again from your system."
                )
        else:
            survey.others.setdefault(element, set()).update(values)
    return survey


def _no_records(survey: _Survey) -> UnreadableFile:
    if not survey.others:
        return UnreadableFile(
            "The XML submission has no records, so there is nothing to load. Supply the "
            "submission with its records; if the period had none, tell the co-ordinator rather "
            "than supplying an empty file."
        )
    shown = "; ".join(
        f"<{element}> with " + ", ".join(f"<{name}>" for name in sorted(names)[:6])
        for element, names in list(survey.others.items())[:3]
    )
    return UnreadableFile(
        "The XML file has no records of this dataset: none of its elements is named as one of "
        f"the dataset's fields (it has {shown}). Check that it is the dataset's XML submission."
    )


def xml_chunks(
    open_stream: Callable[[], AbstractContextManager],
    *,
    max_bytes: int,
    chunk_rows: int,
    layout: XmlLayout,
) -> Iterator[pd.DataFrame]:
    """The submission's records as chunks of text, ``chunk_rows`` at a time (fewer for very
    many columns), indexed by record number; read twice, to learn every column first."""
    survey = _survey(_groups(open_stream, max_bytes), layout)
    if not survey.records:
        raise _no_records(survey)
    columns = list(survey.columns)
    chunk_rows = max(1, min(chunk_rows, _MAX_CHUNK_CELLS // len(columns)))
    header = survey.header or {}

    def chunk(batch: list[list[str]], numbers: list[int]) -> pd.DataFrame:
        frame = pd.DataFrame(batch, columns=columns, index=numbers, dtype=object)
        frame.attrs[SUBMISSION_HEADER] = dict(header)
        return frame

    batch: list[list[str]] = []
    numbers: list[int] = []
    number = 0
    for _element, values in _groups(open_stream, max_bytes):
        if _kind(values, layout) != "record":
            continue
        number += 1
        batch.append([values.get(name, "") for name in columns])
        numbers.append(number)
        if len(batch) == chunk_rows:
            yield chunk(batch, numbers)
            batch, numbers = [], []
    if batch:
        yield chunk(batch, numbers)
