"""The validate stage: the supplied file read in chunks, its header mapped to the dataset's
fields, every row checked; accepted rows staged for geocoding, rejected rows written to the
rejected-rows file, and the report's errors, warnings and completeness."""

from __future__ import annotations

from collections import Counter
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
    advance,
)
from datasets.readers import HEADER_ROW, HEADER_SEARCH_ROWS, read_chunks
from datasets.rejected_rows import RejectedRowsWriter, rejected_rows_path
from datasets.staging import StageWriter, read_ahead
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


def validate(claim: Claim) -> None:
    supply, schema = claim.supply, claim.schema
    supplied = SuppliedFile(
        path=Path(supply.raw_path),
        data_key=claim.data_key,
        file_format=supply.file_format,
        max_bytes=settings.HUB_MAX_UPLOAD_BYTES,
    )
    # The next chunk is read and parsed while this one is validated.
    chunks = read_ahead(
        read_chunks(
            supplied,
            chunk_rows=settings.HUB_CHUNK_ROWS,
            find_header=header_finder(schema),
            xml_layout=xml_layout(schema),
        )
    )
    try:
        first = next(chunks)
    except UnreadableFile as error:
        raise SupplyRejected([str(error)]) from error
    submission = first.attrs.get(SUBMISSION_HEADER)
    if supply.file_format == FileFormat.XML and schema.xml_submission is not None:
        problem = _submission_period_problem(submission or {}, supply)
        if problem:
            raise SupplyRejected([problem])
    header_row = first.attrs.get(HEADER_ROW, 1)
    mapping = map_header(first.columns, schema)
    if not mapping.read:
        raise SupplyRejected([_nothing_named(list(first.columns), header_row)])
    if mapping.problems:
        raise SupplyRejected(mapping.problems, dropped_columns=mapping.dropped)
    headers = mapping.field_columns

    missing_values = schema.descriptor.get("missingValues", [""])
    period = (supply.period_start, supply.period_end)
    today = timezone.localdate()
    duplicates = DuplicateTracker(schema.primary_key, shown_as=headers)
    tally = PeriodTally(period, ongoing=schema.ongoing)
    writer = StageWriter(supply.pk, "validated", claim.data_key)
    received = 0
    filled = pd.Series(0, index=schema.field_names)
    error_frames: list[pd.DataFrame] = []
    warning_frames: list[pd.DataFrame] = []
    expected = supply.declared_record_count or 0
    rejected_rows = RejectedRowsWriter(
        rejected_rows_path(supply), claim.data_key, headers=mapping.read_as
    )
    with rejected_rows:
        try:
            for chunk in chain([first], chunks):
                # Unknown columns go no further than this line: they are never stored.
                known = fields_of(chunk, mapping)
                result = validate_chunk(
                    known, schema, missing_values=missing_values, today=today, period=period
                )
                repeats = duplicates.errors(result.accepted)
                errors = pd.concat([result.errors, repeats], ignore_index=True)
                accepted = result.accepted.drop(index=repeats["row"])
                if mapping.latitude and mapping.longitude:
                    coordinates = chunk.loc[accepted.index, [mapping.latitude, mapping.longitude]]
                    accepted[LATITUDE] = pd.to_numeric(coordinates.iloc[:, 0], errors="coerce")
                    accepted[LONGITUDE] = pd.to_numeric(coordinates.iloc[:, 1], errors="coerce")
                # A chunk whose every row was rejected goes no further: the later stages
                # expect rows.
                if not accepted.empty:
                    writer.write(accepted)
                    if schema.event_date:
                        tally.add(accepted[schema.event_date])
                rejected_rows.write(chunk, errors)
                received += len(chunk)
                filled = filled.add(result.filled, fill_value=0)
                error_frames.append(errors)
                warning_frames.append(result.warnings)
                claim.progress(received / expected if expected else 0.5)
        except UnreadableFile as error:
            writer.discard()
            raise SupplyRejected([str(error)], dropped_columns=mapping.dropped) from error
    if not received:
        writer.discard()
        # An empty supply would supersede the period's records with none.
        raise SupplyRejected(
            ["The file has its header row but no rows of data, so there is nothing to load. "
             "Supply the file with its rows; if the period had no records, tell the "
             "co-ordinator rather than supplying an empty file."],
            dropped_columns=mapping.dropped,
        )  # fmt: skip

    errors_listed, error_counts = _counted(error_frames, headers)
    warnings_listed, warning_counts = _counted(warning_frames, headers)
    if header_row > 1:
        warning_counts["header_not_first"] = 1
        warnings_listed.insert(
            0,
            {
                "row": header_row,
                "field": "",
                "column": "",
                "code": "header_not_first",
                "message": f"The column names were found on row {header_row}; the rows above "
                "it were read as a title and skipped.",
            },
        )
    rejected_count = sum(frame["row"].nunique() for frame in error_frames if not frame.empty)
    if supply.declared_record_count is not None and supply.declared_record_count != received:
        warning_counts["declared_count_differs"] = 1
        warnings_listed.insert(
            0,
            {
                "row": None,
                "field": "",
                "column": "",
                "code": "declared_count_differs",
                "message": f"The form declared {supply.declared_record_count} records; "
                f"the file has {received}.",
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
            name: round(100 * float(filled[name]) / received, 1) if received else 0.0
            for name in schema.field_names
        },
    }
    if submission:
        # What the XML submission's header said of itself: its period and site.
        report["submission_header"] = submission
    counts = {"record_count": received, "rejected_count": rejected_count}
    if rejected_count == received:
        writer.discard()
        # Loading none of its rows would supersede the period's records with nothing.
        raise SupplyRejected(
            [f"Every row of the file was rejected ({received:,} of {received:,}), so nothing "
             "was loaded and any earlier supply for the period stands. The problems are "
             "listed below and in the rejected rows file: correct them in your file and "
             "supply it again."],
            counts=counts,
            **report,
        )  # fmt: skip
    out_of_period = tally.problem(column=headers.get(schema.event_date, ""))
    if out_of_period:
        writer.discard()
        raise SupplyRejected([out_of_period], counts=counts, **report)
    writer.commit()
    advance(claim, report=report, **counts, accepted_count=received - rejected_count)
