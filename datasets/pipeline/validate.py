"""Checking the supplied file: read in chunks, its header mapped to the dataset's fields,
every row checked; accepted rows passed on, rejected rows written to the rejected-rows file;
then the checks of the file as a whole, and the report's errors, warnings and completeness."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.utils import timezone

from datasets.choices import FileFormat
from datasets.headers import fields_of, header_finder, map_header
from datasets.pipeline.stages import (
    LATITUDE,
    LONGITUDE,
    REPORT_LIST_LIMIT,
    Claim,
    SupplyRejected,
    read_ahead,
)
from datasets.readers import HEADER_ROW, HEADER_SEARCH_ROWS, ROWS_EXPECTED, read_chunks
from datasets.rejected_rows import RejectedRowsWriter, rejected_rows_path
from datasets.supplied import SuppliedFile, UnreadableFile
from datasets.supply_period import PeriodTally
from datasets.validation import ERROR_COLUMNS, DuplicateTracker, validate_chunk
from datasets.xml_reader import (
    PERIOD_END,
    PERIOD_START,
    SUBMISSION_HEADER,
    header_date,
    xml_layout,
)


def _counted(
    frames: list[pd.DataFrame], headers: dict[str, str]
) -> tuple[list[dict], dict[str, int]]:
    """The first REPORT_LIST_LIMIT entries in row order, each with the supplier's name for
    its column, and the count of each code, over all frames."""
    combined = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ERROR_COLUMNS)
    )
    counts = Counter(combined["code"]) if not combined.empty else Counter()
    first = combined.sort_values(["row", "field"], kind="stable").head(REPORT_LIST_LIMIT)
    listed = first.astype({"row": "int64"}).to_dict("records")
    for entry in listed:
        fields = entry["field"].split(" and ") if entry["field"] else []
        entry["column"] = " and ".join(headers.get(name, name) for name in fields)
    return listed, dict(counts)


def _nothing_named(header: list[str], header_row: int) -> str:
    shown = ", ".join(f"“{cell}”" for cell in header[:8] if cell) or "nothing"
    return (
        f"No row among the first {HEADER_SEARCH_ROWS} names any of the dataset's columns; the "
        f"row read as the header, row {header_row}, has {shown}. Put the column names, as in "
        "the dataset's CSV template, in the row above the data and supply the file again."
    )


def _submission_period_problem(header: dict[str, str], supply) -> str | None:
    """Why an XML submission's header does not fit the supply, if it does not: the header
    must give the reporting period, and it must be the period the supply was made for."""
    start, end = header_date(header.get(PERIOD_START)), header_date(header.get(PERIOD_END))
    if start is None or end is None:
        return (
            "The XML submission's header does not give its reporting period: it needs its "
            "REPORTING PERIOD START DATE and REPORTING PERIOD END DATE, as yyyy-mm-dd. Export "
            "the submission again from your system."
        )
    if (start, end) != (supply.period_start, supply.period_end):
        return (
            f"The submission header's reporting period is {start:%d/%m/%Y} to {end:%d/%m/%Y}, "
            f"but the supply was made for {supply.period_start:%d/%m/%Y} to "
            f"{supply.period_end:%d/%m/%Y}. Supply the file again for the period its header "
            "gives, or correct the header."
        )
    return None


class FileCheck:
    """The supplied file, checked as it is read: ``accepted()`` gives each chunk's accepted
    rows, and ``outcome()`` then checks the file as a whole and gives the report.

    Made, it has read the first chunk and mapped the header; SupplyRejected if the file or
    its header cannot be used."""

    def __init__(self, claim: Claim):
        supply, schema = claim.supply, claim.schema
        self.claim, self.schema = claim, schema
        supplied = SuppliedFile(
            path=Path(supply.raw_path),
            data_key=claim.data_key,
            file_format=supply.file_format,
            max_bytes=settings.HUB_MAX_UPLOAD_BYTES,
        )
        # The next chunk is read and parsed while this one is worked on.
        self._chunks = read_ahead(
            read_chunks(
                supplied,
                chunk_rows=settings.HUB_CHUNK_ROWS,
                find_header=header_finder(schema),
                xml_layout=xml_layout(schema),
            )
        )
        try:
            self._first = next(self._chunks)
        except UnreadableFile as error:
            raise SupplyRejected([str(error)]) from error
        self.submission = self._first.attrs.get(SUBMISSION_HEADER)
        if supply.file_format == FileFormat.XML and schema.xml_submission is not None:
            problem = _submission_period_problem(self.submission or {}, supply)
            if problem:
                raise SupplyRejected([problem])
        self.header_row = self._first.attrs.get(HEADER_ROW, 1)
        self.mapping = map_header(self._first.columns, schema)
        if not self.mapping.read:
            raise SupplyRejected([_nothing_named(list(self._first.columns), self.header_row)])
        if self.mapping.problems:
            raise SupplyRejected(self.mapping.problems, dropped_columns=self.mapping.dropped)
        self.received = 0
        self._rows_expected: int | None = None
        self._filled = pd.Series(0, index=schema.field_names)
        self._error_frames: list[pd.DataFrame] = []
        self._warning_frames: list[pd.DataFrame] = []
        self._tally = PeriodTally((supply.period_start, supply.period_end), ongoing=schema.ongoing)

    def accepted(self) -> Iterator[pd.DataFrame]:
        """Each chunk's accepted rows, with the supplied point where there is one (none, for
        a chunk whose every row was rejected). The rejected rows go to their file."""
        supply, schema, mapping = self.claim.supply, self.schema, self.mapping
        missing_values = schema.descriptor.get("missingValues", [""])
        period = (supply.period_start, supply.period_end)
        today = timezone.localdate()
        duplicates = DuplicateTracker(schema.primary_key, shown_as=mapping.field_columns)
        rejected_rows = RejectedRowsWriter(
            rejected_rows_path(supply), self.claim.data_key, headers=mapping.read_as
        )
        # The first chunk is let go once read, as every other is.
        first, self._first = self._first, None
        with rejected_rows:
            try:
                for chunk in chain([first], self._chunks):
                    # Unknown columns go no further than this line: they are never stored.
                    known = fields_of(chunk, mapping)
                    result = validate_chunk(
                        known, schema, missing_values=missing_values, today=today, period=period
                    )
                    repeats = duplicates.errors(result.accepted)
                    errors = pd.concat([result.errors, repeats], ignore_index=True)
                    accepted = result.accepted.drop(index=repeats["row"])
                    if mapping.latitude and mapping.longitude:
                        points = chunk.loc[accepted.index, [mapping.latitude, mapping.longitude]]
                        accepted[LATITUDE] = pd.to_numeric(points.iloc[:, 0], errors="coerce")
                        accepted[LONGITUDE] = pd.to_numeric(points.iloc[:, 1], errors="coerce")
                    rejected_rows.write(chunk, errors)
                    self.received += len(chunk)
                    self._rows_expected = chunk.attrs.get(ROWS_EXPECTED)
                    self._filled = self._filled.add(result.filled, fill_value=0)
                    self._error_frames.append(errors)
                    self._warning_frames.append(result.warnings)
                    if schema.event_date and not accepted.empty:
                        self._tally.add(accepted[schema.event_date])
                    yield accepted
            except UnreadableFile as error:
                raise SupplyRejected([str(error)], dropped_columns=mapping.dropped) from error
            finally:
                # The reading thread and the file let go now, not when this check is.
                self._chunks.close()

    def fraction_read(self) -> float:
        """How much of the file has been read, as far as can be told before its end: by the
        count the supplier declared, else by the rows the reader expects."""
        expected = self.claim.supply.declared_record_count or self._rows_expected
        return min(self.received / expected, 0.99) if expected else 0.5

    def outcome(self) -> tuple[dict, dict[str, int]]:
        """The report and the supply's counts, once every chunk is read; SupplyRejected if
        the file as a whole cannot replace the period's records."""
        supply, schema, mapping = self.claim.supply, self.schema, self.mapping
        received, headers = self.received, mapping.field_columns
        if not received:
            # An empty supply would supersede the period's records with none.
            raise SupplyRejected(
                ["The file has its header row but no rows of data, so there is nothing to "
                 "load. Supply the file with its rows; if the period had no records, tell the "
                 "co-ordinator rather than supplying an empty file."],
                dropped_columns=mapping.dropped,
            )  # fmt: skip
        errors_listed, error_counts = _counted(self._error_frames, headers)
        warnings_listed, warning_counts = _counted(self._warning_frames, headers)
        if self.header_row > 1:
            warning_counts["header_not_first"] = 1
            warnings_listed.insert(
                0,
                {
                    "row": self.header_row,
                    "field": "",
                    "column": "",
                    "code": "header_not_first",
                    "message": f"The column names were found on row {self.header_row}; the "
                    "rows above it were read as a title and skipped.",
                },
            )
        rejected_count = sum(
            frame["row"].nunique() for frame in self._error_frames if not frame.empty
        )
        declared = supply.declared_record_count
        if declared is not None and declared != received:
            warning_counts["declared_count_differs"] = 1
            warnings_listed.insert(
                0,
                {
                    "row": None,
                    "field": "",
                    "column": "",
                    "code": "declared_count_differs",
                    "message": f"The form declared {declared} records; the file has {received}.",
                },
            )
        report = {
            "errors": errors_listed,
            "error_counts": error_counts,
            "warnings": warnings_listed,
            "warning_counts": warning_counts,
            "dropped_columns": mapping.dropped,
            # Each of the supplier's columns and the field it was read as, so that the report
            # and the rejected rows can speak of the columns by the supplier's own names.
            "header_mapping": mapping.read_as,
            "geocoding_inputs": [c for c in (mapping.latitude, mapping.longitude) if c],
            "missing_optional_columns": mapping.missing_optional,
            "completeness": {
                name: round(100 * float(self._filled[name]) / received, 1)
                for name in schema.field_names
            },
        }
        if self.submission:
            # What the XML submission's header said of itself: its period and site.
            report["submission_header"] = self.submission
        counts = {"record_count": received, "rejected_count": rejected_count}
        if rejected_count == received:
            # Loading none of its rows would supersede the period's records with nothing.
            raise SupplyRejected(
                [f"Every row of the file was rejected ({received:,} of {received:,}), so "
                 "nothing was loaded and any earlier supply for the period stands. The "
                 "problems are listed below and in the rejected rows file: correct them in "
                 "your file and supply it again."],
                counts=counts,
                **report,
            )  # fmt: skip
        out_of_period = self._tally.problem(column=headers.get(schema.event_date, ""))
        if out_of_period:
            raise SupplyRejected([out_of_period], counts=counts, **report)
        return report, {**counts, "accepted_count": received - rejected_count}
