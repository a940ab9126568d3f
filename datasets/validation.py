"""Checking a supply's rows against its dataset's schema, chunk by chunk, once
datasets.headers has matched the header to the fields.

What rejects the whole supply: an unreadable file, a header that lacks a required column, or
two columns that mean the same field. What rejects a row: a value of the wrong type, out of
range, not in the allowed list, not a code of its field's code list, a missing required value,
a date in the future, or a repeat of an earlier row's key. Everything else loads, with
warnings (a code written right but not on the published list is one). Codes are stored in
their list's normal form (datasets.codelists): "008/N" is stored as 8N. All checks are
vectorised.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datasets.catalogue import DatasetSchema, FieldSpec
from datasets.choices import FieldClass, FieldType
from datasets.codelists import rule_for

MAX_TEXT_LENGTH = 1000
# An event dated this long before the period is unusual enough to point out (crimes are often
# recorded some time after they were committed, so some earlier dates are expected).
EARLY_EVENT_DAYS = 366
ERROR_COLUMNS = ["row", "field", "code", "message"]
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S")
_TEXT = pd.StringDtype("pyarrow")
_PLAIN_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_PLAIN_BRITISH_DATE = r"^(\d{2})/(\d{2})/(\d{4})$"
_PLAIN_TIME = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"


@dataclass
class ChunkResult:
    accepted: pd.DataFrame
    errors: pd.DataFrame
    rejected: pd.DataFrame
    warnings: pd.DataFrame
    filled: pd.Series


def _flag(mask: pd.Series) -> pd.Series:
    """A plain True/False mask: comparisons with missing values give False, not NA."""
    return mask.astype("boolean").fillna(False).astype(bool)


def _errors(
    mask: pd.Series, spec: FieldSpec, code: str, message: str | Callable[[pd.Series], pd.Series]
) -> pd.DataFrame:
    """One error row per True in ``mask``; ``message`` is a text, or makes the texts from the
    mask (so that messages are only written for the rows that need them)."""
    rows = mask.index[mask.to_numpy()]
    if len(rows) == 0:
        return pd.DataFrame(columns=ERROR_COLUMNS)
    text = message(mask) if callable(message) else message
    return pd.DataFrame({"row": rows, "field": spec.name, "code": code, "message": text})


def _shown(values: pd.Series, spec: FieldSpec) -> pd.Series:
    """The value as a supplier may see it in a report: never an identifying value."""
    if spec.field_class == FieldClass.IDENTIFYING:
        return pd.Series("The value", index=values.index)
    return "'" + values.str.slice(0, 40) + "'"


def _arrow(text: pd.Series) -> pa.Array:
    return pa.array(text, type=pa.string(), from_pandas=True)


def _plain_iso_dates(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The values written exactly yyyy-mm-dd or dd/mm/yyyy, as yyyy-mm-dd, and where they
    are: nearly every date a supplier sends, rewritten in C++ for pandas' fast ISO parser."""
    values = _arrow(text)
    british = pc.fill_null(pc.match_substring_regex(values, _PLAIN_BRITISH_DATE), False)
    iso = pc.fill_null(pc.match_substring_regex(values, _PLAIN_ISO_DATE), False)
    rewritten = pc.replace_substring_regex(values, _PLAIN_BRITISH_DATE, r"\3-\2-\1")
    plain = pc.or_(british, iso).to_numpy(zero_copy_only=False)
    return pd.Series(rewritten, index=text.index, dtype=object), plain


# Dates pandas can hold at nanosecond precision; anything outside (01/01/0001, a year 9999
# placeholder) is no real event or birth date and is reported as not a date.
_EARLIEST_DATE = pd.Timestamp.min.ceil("D")
_LATEST_DATE = pd.Timestamp.max.floor("D")


def _parse_dates(text: pd.Series) -> pd.Series:
    # Parsed at microsecond precision, which holds every year from 1 to 9999, so that an
    # out-of-range date is a bad value in its row, not an error that stops the supply.
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    iso_text, plain = _plain_iso_dates(text)
    if plain.any():
        parsed[plain] = pd.to_datetime(iso_text[plain], format="%Y-%m-%d", errors="coerce")
    # Anything else is tried against each accepted format, as written.
    rest = pd.Series(~plain, index=text.index)
    for date_format in _DATE_FORMATS:
        todo = rest & parsed.isna() & text.notna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=date_format, errors="coerce")
    in_range = parsed.between(_EARLIEST_DATE, _LATEST_DATE)
    return parsed.where(in_range).astype("datetime64[ns]").dt.normalize()


def _parse_times(text: pd.Series) -> pd.Series:
    # Times written exactly HH:MM or HH:MM:SS need no parsing, only seconds where missing.
    values = _arrow(text)
    plain = pc.fill_null(pc.match_substring_regex(values, _PLAIN_TIME), False)
    short = pc.equal(pc.utf8_length(values), 5)
    full = pc.if_else(short, pc.binary_join_element_wise(values, ":00", ""), values)
    times = pd.Series(pc.if_else(plain, full, None), index=text.index, dtype="str")
    todo = ~pd.Series(plain.to_numpy(zero_copy_only=False), index=text.index) & text.notna()
    if todo.any():
        parsed = pd.Series(pd.NaT, index=text.index[todo], dtype="datetime64[ns]")
        for time_format in _TIME_FORMATS:
            again = parsed.isna()
            parsed[again] = pd.to_datetime(text[todo][again], format=time_format, errors="coerce")
        times[todo] = parsed.dt.strftime("%H:%M:%S")
    return times


def _check_field(
    text: pd.Series, spec: FieldSpec, *, today: datetime.date
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Typed values for one column (NA where missing or bad) and its error rows."""
    errors = []
    present = _flag(text.notna())

    def shown(suffix: str) -> Callable[[pd.Series], pd.Series]:
        """Messages quoting the flagged rows' values as the supplier may see them."""
        return lambda mask: _shown(text[mask].fillna(""), spec) + suffix

    if spec.required:
        errors.append(_errors(~present, spec, "required", "A value is required here: give one."))
    if spec.type == FieldType.STRING:
        values = text
        if spec.enum:
            aliases = dict(spec.value_aliases)
            canonical = {value.casefold(): value for value in spec.enum}
            values = text.replace(aliases).astype("string").str.casefold().map(canonical)
            bad = _flag(present & values.isna())
            allowed = ", ".join(spec.enum)
            errors.append(_errors(bad, spec, "not_allowed", shown(f" is not one of: {allowed}.")))
        elif spec.code_pattern:
            # Each code in its normal form (NA where the list's rule cannot read it), which is
            # what the pattern checks and what is stored.
            values = rule_for(spec.code_rule).normalise(text)
            bad = _flag(present & ~_flag(values.str.fullmatch(spec.code_pattern)))
            errors.append(
                _errors(
                    bad,
                    spec,
                    "not_a_code",
                    shown(
                        f" is not a {spec.code_list} code: give the code itself, as the "
                        "published list writes it, not a description."
                    ),
                )
            )
            values = values.mask(bad)
        too_long = _flag(present & (text.str.len() > MAX_TEXT_LENGTH))
        errors.append(
            _errors(
                too_long,
                spec,
                "too_long",
                f"Longer than {MAX_TEXT_LENGTH} characters: shorten it.",
            )
        )
        values = values.mask(too_long)
    elif spec.type in (FieldType.INTEGER, FieldType.NUMBER):
        numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
        kind = "a whole number" if spec.type == FieldType.INTEGER else "a number"
        bad = _flag(present & numbers.isna())
        if spec.type == FieldType.INTEGER:
            bad |= _flag(present & numbers.notna() & (numbers != np.floor(numbers)))
        errors.append(_errors(bad, spec, "not_a_number", shown(f" is not {kind}.")))
        values = numbers.mask(bad)
        low, high = spec.minimum, spec.maximum
        out = pd.Series(False, index=text.index)
        if low is not None:
            out |= _flag(values < low)
        if high is not None:
            out |= _flag(values > high)
        errors.append(_errors(out, spec, "out_of_range", shown(f" is outside {low} to {high}.")))
        values = values.mask(out)
        if spec.type == FieldType.INTEGER:
            values = values.astype("Int64")
    elif spec.type == FieldType.DATE:
        dates = _parse_dates(text)
        bad = _flag(present & dates.isna())
        errors.append(
            _errors(bad, spec, "not_a_date", shown(" is not a date: use dd/mm/yyyy or yyyy-mm-dd."))
        )
        future = _flag(dates > pd.Timestamp(today))
        errors.append(_errors(future, spec, "future_date", shown(" is in the future.")))
        ancient = _flag(dates < pd.Timestamp(1900, 1, 1))
        errors.append(_errors(ancient, spec, "implausible_date", shown(" is before 1900.")))
        values = dates.mask(future | ancient)
    elif spec.type == FieldType.TIME:
        times = _parse_times(text)
        bad = _flag(present & times.isna())
        errors.append(
            _errors(bad, spec, "not_a_time", shown(" is not a time: use HH:MM or HH:MM:SS."))
        )
        values = times
    else:  # boolean
        truthy, falsy = set(spec.true_values), set(spec.false_values)
        values = pd.Series(pd.NA, index=text.index, dtype="boolean")
        values[_flag(text.isin(truthy))] = True
        values[_flag(text.isin(falsy))] = False
        bad = _flag(present & values.isna())
        errors.append(_errors(bad, spec, "not_yes_no", shown(" is not Y or N.")))
    return values, errors


def _trimmed(chunk: pd.DataFrame, missing_values: Iterable[str]) -> pd.DataFrame:
    """Every cell without surrounding whitespace, NA where it is then a missing-value marker:
    one pass per column in pyarrow."""
    missing = pa.array(list(missing_values), type=pa.string())
    columns = {}
    for name in chunk.columns:
        values = pc.utf8_trim_whitespace(_arrow(chunk[name]))
        values = pc.if_else(pc.is_in(values, value_set=missing), None, values)
        columns[name] = pd.array(values, dtype=_TEXT)
    return pd.DataFrame(columns, index=chunk.index)


def validate_chunk(
    chunk: pd.DataFrame,
    schema: DatasetSchema,
    *,
    missing_values: Iterable[str],
    today: datetime.date,
    period: tuple[datetime.date, datetime.date],
) -> ChunkResult:
    """Check one chunk (columns already renamed to field names) and type its values."""
    text = _trimmed(chunk, missing_values)
    typed = {}
    error_frames = []
    for spec in schema.fields:
        column = (
            text[spec.name]
            if spec.name in text
            else pd.Series(pd.NA, index=text.index, dtype="string")
        )
        typed[spec.name], field_errors = _check_field(column, spec, today=today)
        error_frames.extend(frame for frame in field_errors if not frame.empty)
    values = pd.DataFrame(typed, index=chunk.index)
    errors = (
        pd.concat(error_frames, ignore_index=True)
        if error_frames
        else pd.DataFrame(columns=ERROR_COLUMNS)
    )
    bad_rows = values.index.isin(errors["row"])
    warning_frames = [
        _period_warnings(values[~bad_rows], schema, period),
        _code_list_warnings(values[~bad_rows], text, schema),
    ]
    warning_frames = [frame for frame in warning_frames if not frame.empty]
    warnings = (
        pd.concat(warning_frames, ignore_index=True)
        if warning_frames
        else pd.DataFrame(columns=ERROR_COLUMNS)
    )
    known = [name for name in schema.field_names if name in chunk]
    return ChunkResult(
        accepted=values[~bad_rows],
        errors=errors,
        rejected=chunk.loc[bad_rows, known],
        warnings=warnings,
        filled=text.reindex(columns=schema.field_names).notna().sum(),
    )


def _quoting(values: pd.Series, spec: FieldSpec, suffix: str) -> Callable[[pd.Series], pd.Series]:
    """Messages quoting the flagged rows' values as the supplier may see them."""
    return lambda mask: _shown(values[mask].fillna(""), spec) + suffix


def _code_list_warnings(
    values: pd.DataFrame, text: pd.DataFrame, schema: DatasetSchema
) -> pd.DataFrame:
    """A warning for each accepted code that is not on its field's published list, quoting
    the value as supplied: it loads (the list may be older than the code), but is checked."""
    frames = []
    for spec in schema.fields:
        if not spec.code_values or spec.name not in text or values.empty:
            continue
        codes = values[spec.name]
        listed = rule_for(spec.code_rule).listed(codes, spec.code_values)
        unlisted = _flag(codes.notna() & ~listed)
        advice = (
            f" is not on the published {spec.code_list} list. The record is "
            "loaded; check the code against the list and, if it is wrong, correct it in your "
            "file and supply the period again."
        )
        supplied = text.loc[values.index, spec.name]
        frames.append(_errors(unlisted, spec, "not_in_code_list", _quoting(supplied, spec, advice)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ERROR_COLUMNS)


def _period_warnings(
    values: pd.DataFrame, schema: DatasetSchema, period: tuple[datetime.date, datetime.date]
) -> pd.DataFrame:
    if schema.event_date is None or values.empty:
        return pd.DataFrame(columns=ERROR_COLUMNS)
    dates = values[schema.event_date]
    start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    late = _flag(dates > end)
    early = _flag(dates < start - pd.Timedelta(days=EARLY_EVENT_DAYS))
    spec = next(spec for spec in schema.fields if spec.name == schema.event_date)

    def shown(suffix: str) -> Callable[[pd.Series], pd.Series]:
        return lambda mask: dates[mask].dt.strftime("%d/%m/%Y") + suffix

    frames = [
        _errors(
            late, spec, "after_period", shown(f" is after the period, which ends {end:%d/%m/%Y}.")
        ),
        _errors(
            early, spec, "long_before_period", shown(f" is over a year before {start:%d/%m/%Y}.")
        ),
    ]
    return pd.concat(frames, ignore_index=True)


class DuplicateTracker:
    """Rows that repeat an earlier row's key, across all the chunks of one supply."""

    def __init__(self, key: tuple[str, ...], *, shown_as: dict[str, str] | None = None):
        self.key = list(key)
        # What the supplier calls the key's columns, for the messages.
        self.shown_as = shown_as or {}
        # Each key's hash and the first row that had it, over the chunks so far.
        self._hashes = np.empty(0, dtype=np.uint64)
        self._first_rows = np.empty(0, dtype=np.int64)

    def errors(self, values: pd.DataFrame) -> pd.DataFrame:
        """Error rows for this chunk's repeats; remembers its first rows for later chunks."""
        if not self.key or values.empty:
            return pd.DataFrame(columns=ERROR_COLUMNS)
        hashes = pd.util.hash_pandas_object(values[self.key].astype(str), index=False).to_numpy()
        rows = values.index.to_numpy(dtype=np.int64)
        first = pd.Series(rows).groupby(hashes).transform("min").to_numpy(copy=True)
        earlier = pd.Index(self._hashes).get_indexer(hashes)
        seen = earlier >= 0
        first[seen] = self._first_rows[earlier[seen]]
        new_hashes, where = np.unique(hashes[~seen], return_index=True)
        self._hashes = np.concatenate([self._hashes, new_hashes])
        self._first_rows = np.concatenate([self._first_rows, first[~seen][where]])
        repeat = first != rows
        shown = " and ".join(self.shown_as.get(name, name) for name in self.key)
        message = (
            f"Repeats the {shown} of row "
            + pd.Series(first[repeat]).astype(str)
            + "; each must appear once."
        )
        return pd.DataFrame(
            {
                "row": rows[repeat],
                "field": " and ".join(self.key),
                "code": "duplicate",
                "message": message,
            }
        )
