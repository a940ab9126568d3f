"""Choropleth classes and their legend (sharing.workspace.classes). No database."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharing.workspace.classes import ClassBreaks, class_breaks, legend_labels


def test_natural_breaks_fall_at_the_gaps():
    values = [1, 2, 3, 10, 11, 12, 30, 31]

    breaks = class_breaks(values, method="natural", classes=3)

    assert breaks.bounds == [(1, 3), (10, 12), (30, 31)]  # breaks at 3 and 12
    assert breaks.class_of(values).tolist() == [1, 1, 1, 2, 2, 2, 3, 3]
    assert legend_labels(breaks) == ["1 to 9", "10 to 29", "30 or more"]


def test_quantiles_split_the_distinct_values_evenly():
    # numpy's quantiles of 1..10 at 20%, 40%, 60%, 80%: 2.8, 4.6, 6.4, 8.2.
    breaks = class_breaks(range(1, 11), method="quantiles", classes=5)

    assert breaks.bounds == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]
    assert legend_labels(breaks) == ["1 to 2", "3 to 4", "5 to 6", "7 to 8", "9 or more"]


def test_equal_values_share_a_class_however_many_there_are():
    # Six zeros do not take two classes: the quantiles are of 0..5, cut at 1.67 and 3.33.
    values = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]

    breaks = class_breaks(values, classes=3)

    assert breaks.bounds == [(0, 1), (2, 3), (4, 5)]
    assert breaks.class_of(values).tolist() == [1] * 7 + [2, 2, 3, 3]


def test_natural_breaks_weigh_how_often_a_value_occurs():
    breaks = class_breaks([0, 0, 0, 0, 1, 1, 5], method="natural", classes=2)

    assert breaks.bounds == [(0, 1), (5, 5)]
    assert legend_labels(breaks) == ["0 to 4", "5 or more"]


@pytest.mark.parametrize("method", ["quantiles", "natural"])
def test_nan_places_no_break_and_is_class_0(method):
    values = [math.nan, 1, 2, math.nan, 3, 4, 5, 6]

    breaks = class_breaks(values, method=method, classes=3)

    assert all(not math.isnan(v) for bound in breaks.bounds for v in bound)
    assert breaks.class_of(values)[[0, 3]].tolist() == [0, 0]
    assert breaks.class_of(pd.Series([1, None], dtype="Int64")).tolist() == [1, 0]


@pytest.mark.parametrize("method", ["quantiles", "natural"])
def test_fewer_distinct_values_than_classes_make_fewer_classes(method):
    breaks = class_breaks([5, 5, 7, 7, 9], method=method, classes=5)

    assert breaks.bounds == [(5, 5), (7, 7), (9, 9)]
    assert legend_labels(breaks) == ["5 to 6", "7 to 8", "9 or more"]


@pytest.mark.parametrize("method", ["quantiles", "natural"])
def test_all_equal_values_are_one_class(method):
    breaks = class_breaks([4, 4, 4], method=method)

    assert breaks.bounds == [(4, 4)]
    assert breaks.class_of([4, 4]).tolist() == [1, 1]
    assert legend_labels(breaks) == ["4"]


@pytest.mark.parametrize("values", [[], [math.nan, math.nan], np.array([])])
def test_no_values_are_no_classes(values):
    breaks = class_breaks(values, method="natural")

    assert breaks.bounds == []
    assert breaks.class_of([1.0, math.nan]).tolist() == [0, 0]
    assert legend_labels(breaks) == []


def test_class_of_puts_values_between_and_beyond_the_classes_with_the_labels():
    breaks = ClassBreaks(method="quantiles", bounds=[(0, 4), (10, 12), (30, 31)])

    assert breaks.class_of([-1, 0, 7, 10, 29, 30, 99]).tolist() == [1, 1, 1, 2, 2, 3, 3]


def test_rates_are_labelled_to_one_decimal_without_overlap():
    breaks = ClassBreaks(method="natural", bounds=[(0.0, 4.21), (4.26, 11.9), (12.04, 20.0)])

    assert legend_labels(breaks, decimals=1) == ["0.0 to 4.2", "4.3 to 11.9", "12.0 or more"]


def test_labels_take_more_decimals_to_tell_close_classes_apart():
    breaks = ClassBreaks(method="quantiles", bounds=[(0.0, 4.2), (4.27, 4.27), (4.31, 9.0)])

    assert legend_labels(breaks, decimals=1) == ["0.00 to 4.26", "4.27 to 4.30", "4.31 or more"]


def test_large_counts_are_labelled_with_thousands_separators():
    breaks = ClassBreaks(method="quantiles", bounds=[(0, 999), (1200, 4000), (5000, 7000)])

    assert legend_labels(breaks) == ["0 to 1,199", "1,200 to 4,999", "5,000 or more"]


@pytest.mark.parametrize(
    "kwargs", [{"method": "equal"}, {"classes": 0}, {"classes": 2.5}, {"classes": True}]
)
def test_an_unknown_method_or_a_bad_number_of_classes_is_refused(kwargs):
    with pytest.raises(ValueError):
        class_breaks([1, 2, 3], **kwargs)


@settings(database=None, max_examples=200, deadline=None)  # nothing written to the checkout
@given(
    values=st.lists(st.integers(0, 40) | st.just(math.nan), max_size=40),
    method=st.sampled_from(["quantiles", "natural"]),
    classes=st.integers(1, 7),
)
def test_classes_are_never_empty_repeated_or_split_between_equal_values(values, method, classes):
    breaks = class_breaks(values, method=method, classes=classes)
    found = breaks.class_of(values)
    present = [v for v in values if not math.isnan(v)]

    assert breaks.classes <= min(classes, len(set(present)))
    assert (breaks.classes >= 1) == bool(present)
    lows = [low for low, _ in breaks.bounds]
    assert all(a <= b for a, b in breaks.bounds)
    assert all(h < low for (_, h), low in zip(breaks.bounds, lows[1:], strict=False))
    for value, number in zip(values, found, strict=True):
        if math.isnan(value):
            assert number == 0
        else:
            low, high = breaks.bounds[number - 1]
            assert low <= value <= high  # in its class's range: equal values, equal classes
    assert sorted(set(found[found > 0].tolist())) == list(range(1, breaks.classes + 1))
    labels = legend_labels(breaks)
    assert len(labels) == len(set(labels)) == breaks.classes
