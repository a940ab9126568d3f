"""Dates and times read on the fast path give exactly what trying each format in turn gives."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from datasets.validation import _DATE_FORMATS, _TIME_FORMATS, _parse_dates, _parse_times


def dates_format_by_format(text: pd.Series) -> pd.Series:
    """Each format in turn, at a precision that holds any year; a date pandas cannot hold at
    nanoseconds (before 1677, after 2262) is not a date."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for date_format in _DATE_FORMATS:
        todo = parsed.isna() & text.notna()
        parsed[todo] = pd.to_datetime(text[todo], format=date_format, errors="coerce")
    held = parsed.between(pd.Timestamp.min, pd.Timestamp.max)
    return parsed.where(held).astype("datetime64[ns]").dt.normalize()


def times_format_by_format(text: pd.Series) -> pd.Series:
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for time_format in _TIME_FORMATS:
        todo = parsed.isna() & text.notna()
        parsed[todo] = pd.to_datetime(text[todo], format=time_format, errors="coerce")
    return parsed.dt.strftime("%H:%M:%S")


def outcome(parse, text: pd.Series):
    """The parsed values, or the kind of error (a year pandas cannot hold fails both ways)."""
    try:
        return parse(text)
    except (ValueError, OverflowError) as error:
        return type(error)


def assert_same(parse, reference, text: pd.Series) -> None:
    got, expected = outcome(parse, text), outcome(reference, text)
    if isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got, expected)
    else:
        assert got is expected


def two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map("{:02d}".format)


# Well-formed values (some impossible, such as 31/02), near misses and other writing.
DATE_TEXT = st.one_of(
    st.builds("{}/{}/{}".format, two(0, 39), two(0, 19), st.integers(1850, 2100).map(str)),
    st.builds("{}-{}-{}".format, st.integers(1850, 2100).map(str), two(0, 19), two(0, 39)),
    st.builds("{}/{}/{}".format, st.integers(1, 31), st.integers(1, 12), st.integers(1, 2100)),
    st.builds(
        "{}/{}/{} {}:{}".format, two(1, 31), two(1, 12), st.just("2026"), two(0, 25), two(0, 61)
    ),
    st.text(alphabet="0123456789/-: ٣T", max_size=19),
    st.none(),
)
TIME_TEXT = st.one_of(
    st.builds("{}:{}".format, two(0, 25), two(0, 61)),
    st.builds("{}:{}:{}".format, two(0, 25), two(0, 61), two(0, 61)),
    st.builds("{}:{}".format, st.integers(0, 30), st.integers(0, 70)),
    st.text(alphabet="0123456789: ٣.", max_size=9),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(DATE_TEXT, min_size=1, max_size=30))
def test_dates_match_trying_each_format_in_turn(values):
    text = pd.Series(values, dtype="string")

    assert_same(_parse_dates, dates_format_by_format, text)


@settings(max_examples=200, deadline=None)
@given(st.lists(TIME_TEXT, min_size=1, max_size=30))
def test_times_match_trying_each_format_in_turn(values):
    text = pd.Series(values, dtype="string")

    assert_same(_parse_times, times_format_by_format, text)


def test_usual_and_unusual_writing_both_parse():
    dates = pd.Series(["31/01/2026", "2026-01-31", "31/02/2026", "1/2/2026", None], dtype="string")
    times = pd.Series(["22:30", "22:30:15", "9:05", "24:00", None], dtype="string")

    parsed = _parse_dates(dates)
    assert parsed[:2].tolist() == [pd.Timestamp(2026, 1, 31)] * 2
    assert parsed[3] == pd.Timestamp(2026, 2, 1)
    assert parsed[[2, 4]].isna().all()
    read = _parse_times(times)
    assert read[:3].tolist() == ["22:30:00", "22:30:15", "09:05:00"]
    assert read[3:].isna().all()
