"""Choropleth classes: where a map's colours change, and the legend that says so. Pure.

Two methods. "quantiles" cuts the distinct values (not every value) at numpy's quantiles, so
that equal values always share a class and a run of zeros cannot fill two classes. "natural"
is Fisher-Jenks natural breaks (jenkspy) over every value, so that a value's frequency counts
in where the breaks fall.

A class is the range from its lowest to its highest value, and holds every value from its
lowest up to the next class's lowest; the last class holds everything above. No class is empty
or repeated: with fewer distinct values than classes, each distinct value is a class of its
own. NaN (and infinity) is no value: it places no break, and is class 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import jenkspy
import numpy as np

METHODS = ("quantiles", "natural")
MORE_DECIMALS = 6  # how far legend_labels goes to tell two classes apart


@dataclass(frozen=True)
class ClassBreaks:
    method: str
    bounds: list[tuple[float, float]]  # each class's (lowest, highest) value, ascending

    @property
    def classes(self) -> int:
        return len(self.bounds)

    def class_of(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Each value's class, 1 to the number of classes; 0 for NaN or no classes at all."""
        data = _as_floats(values)
        found = np.zeros(data.shape, dtype=int)
        finite = np.isfinite(data)
        if not self.bounds or not finite.any():
            return found
        lowest = np.array([low for low, _ in self.bounds])
        # A class runs up to the next one's lowest value: a value between two classes' ranges
        # (one not among those classed) goes with the lower, as the legend's labels read.
        at = np.searchsorted(lowest, data[finite], side="right")
        found[finite] = np.clip(at, 1, len(lowest))  # below the lowest: the first class
        return found


def class_breaks(
    values: Sequence[float] | np.ndarray, *, method: str = "quantiles", classes: int = 5
) -> ClassBreaks:
    """At most `classes` classes of the values by `method` ("quantiles" or "natural")."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if isinstance(classes, bool) or not isinstance(classes, int | np.integer) or classes < 1:
        raise ValueError("classes must be a whole number, 1 or more")
    data = _as_floats(values).ravel()
    data = data[np.isfinite(data)]
    distinct = np.unique(data)  # sorted
    if len(distinct) <= classes:  # no room to group: each value is a class of its own
        group = np.arange(len(distinct))
    elif method == "quantiles":
        cuts = np.quantile(distinct, np.arange(1, classes) / classes)
        group = np.searchsorted(cuts, distinct, side="left")  # a value on a cut closes a class
    else:
        # jenks_breaks gives [lowest, each class's highest ...]; it needs more distinct values
        # than classes, which the branch above sees to.
        breaks = np.asarray(jenkspy.jenks_breaks(data, n_classes=classes), dtype=float)
        group = np.searchsorted(breaks[1:-1], distinct, side="left")
    # Only groups that hold a value become classes: none is empty, none repeats another.
    bounds = [
        (float(distinct[group == g][0]), float(distinct[group == g][-1])) for g in np.unique(group)
    ]
    return ClassBreaks(method=method, bounds=bounds)


def legend_labels(breaks: ClassBreaks, *, decimals: int = 0) -> list[str]:
    """One label per class, meeting without overlap at the precision shown: "0 to 4",
    "5 to 12", "13 or more" for counts; "0.0 to 4.2", "4.3 to 11.9", "12.0 or more" for
    rates (decimals=1). A class is labelled up to just below the next class's lowest value, so
    the labels cover every value class_of can be given. Where two classes' lowest values would
    look the same, more decimals are shown, as many as it takes to tell them apart."""
    if decimals < 0:
        raise ValueError("decimals cannot be negative")
    if not breaks.bounds:
        return []
    lowest = [low for low, _ in breaks.bounds]
    places = decimals
    while places < decimals + MORE_DECIMALS and not _increasing(_rounded(lowest, places)):
        places += 1
    starts = _rounded(lowest, places)
    step = Decimal(1).scaleb(-places)
    if len(starts) == 1:  # one class: its own range, as there is nothing above it to meet
        (top,) = _rounded([breaks.bounds[0][1]], places)
        return [_range(starts[0], top, places)]
    labels = [
        _range(start, following - step, places)
        for start, following in zip(starts, starts[1:], strict=False)
    ]
    return [*labels, f"{_shown(starts[-1], places)} or more"]


def _as_floats(values: Sequence[float] | np.ndarray) -> np.ndarray:
    if hasattr(values, "to_numpy"):  # pandas: its NA becomes NaN
        return np.asarray(values.to_numpy(dtype=float, na_value=np.nan))
    return np.asarray(values, dtype=float)


def _rounded(values: list[float], places: int) -> list[Decimal]:
    # Half up from the shortest decimal that is the float ("2.675" -> 2.68), as people round.
    exponent = Decimal(1).scaleb(-places)
    return [Decimal(repr(value)).quantize(exponent, rounding=ROUND_HALF_UP) for value in values]


def _increasing(values: list[Decimal]) -> bool:
    return all(a < b for a, b in zip(values, values[1:], strict=False))


def _range(start: Decimal, end: Decimal, places: int) -> str:
    if end <= start:
        return _shown(start, places)
    return f"{_shown(start, places)} to {_shown(end, places)}"


def _shown(value: Decimal, places: int) -> str:
    return f"{value:,.{places}f}"
