"""The Arrow (RE2) paths of ``sanitise.text`` give exactly what the ``re`` rules they replace
gave, on generated addresses and on the demo data.

The reference implementations below are the ``re`` versions, copied unchanged.
"""

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitise import text
from sanitise.demo import demo_reference
from sanitise.text import (
    _POSTCODE_IN_TEXT,
    STREET_ABBREVIATIONS,
    STREET_TYPES,
)

# --- Reference: the ``re`` implementations -------------------------------------------------

_STREET_TYPES_ALT = "|".join(STREET_TYPES)
_ABBREVIATION = re.compile(rf"\b({'|'.join(STREET_ABBREVIATIONS)})\b")
_FLAT_WORD = re.compile(r"\b(apartment|apt|maisonette|studio)\b")
# "St" at the end of a segment is Street; before a name (St Helens Road) it is Saint.
_STREET_ST = re.compile(r"\bst\b(?=\s*(,|$))")
_SAINT_ST = re.compile(r"\bst\b")
_STREET_PART = re.compile(rf"^((?:[^,]*,)*?[^,]*\b(?:{_STREET_TYPES_ALT})\b)")
_FLAT_PREFIX = re.compile(r"^flat [a-z0-9]+ ?,? ?")


def on_uniques(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a vectorised ``transform`` to the distinct values only and spread the result back.

    Missing values reach the transform as the empty string; other values as their text. The
    result is an object Series with the input's index.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    texts = [value if isinstance(value, str) else str(value) for value in uniques]
    # The extra last entry is what missing values (code -1) become.
    transformed = transform(pd.Series([*texts, ""], dtype=object))
    result = np.asarray(transformed, dtype=object)[codes]
    return pd.Series(result, index=values.index, dtype=object)


def postcode_compact(values: pd.Series) -> pd.Series:
    """Upper case, every space and punctuation mark removed: "wn1  1aa" → "WN11AA"."""
    return on_uniques(
        values, lambda s: s.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True).astype(object)
    )


def extract_postcode(addresses: pd.Series) -> pd.Series:
    """The first postcode written inside each address string, compact, or "" if none."""

    def extract(s: pd.Series) -> pd.Series:
        found = s.str.extract(f"({_POSTCODE_IN_TEXT.pattern})", flags=re.IGNORECASE)[0]
        return postcode_compact(found.fillna(""))

    return on_uniques(addresses, extract)


def remove_postcodes(addresses: pd.Series) -> pd.Series:
    """The address strings with any postcode in them taken out."""
    return on_uniques(
        addresses,
        lambda s: (
            s.str.replace(_POSTCODE_IN_TEXT, "", regex=True)
            .str.replace(r"[\s,]+$", "", regex=True)
            .astype(object)
        ),
    )


def _normalise(s: pd.Series) -> pd.Series:
    s = s.str.lower().str.replace(_POSTCODE_IN_TEXT, " ", regex=True)
    s = s.str.replace("&", " and ", regex=False).str.replace("'", "", regex=False)
    s = s.str.replace(r"[^a-z0-9,]+", " ", regex=True)
    s = s.str.replace(r"\s*,\s*", ",", regex=True).str.replace(r",+", ",", regex=True)
    s = s.str.strip(" ,")
    s = s.str.replace(_STREET_ST, "street", regex=True).str.replace(_SAINT_ST, "saint", regex=True)
    s = s.str.replace(_ABBREVIATION, lambda m: STREET_ABBREVIATIONS[m.group(1)], regex=True)
    s = s.str.replace(_FLAT_WORD, "flat", regex=True)
    return s.str.replace(r"\s+", " ", regex=True).str.replace(",", ", ", regex=False).str.strip()


def address_key(addresses: pd.Series) -> pd.Series:
    """Lower case, punctuation and postcode removed, street types and flat words spelt out.

    "Flat 2, 5 Acacia Ave., WIGAN  WN1 1AA" → "flat 2, 5 acacia avenue, wigan".
    """
    return on_uniques(addresses, lambda s: _normalise(s).astype(object))


def street_key(keys: pd.Series) -> pd.Series:
    """From an ``address_key``: everything up to the street type, commas dropped.

    "flat 2, 5 acacia avenue, wigan" → "flat 2 5 acacia avenue"; without a street type, the
    whole key. Localities are left out because suppliers write them inconsistently.
    """

    def street(s: pd.Series) -> pd.Series:
        part = s.str.extract(_STREET_PART)[0].fillna(s)
        return part.str.replace(",", "", regex=False).str.strip().astype(object)

    return on_uniques(keys, street)


# --- Generated addresses --------------------------------------------------------------------

PIECES = (
    ["Flat", "flat", "FLAT 2A", "Apt.", "apartment", "Maisonette", "studio", "Unit 4", "No. 12"]
    + ["12", "3-5", "7a", "St", "st", "ST.", "St.", "Saint", "Rd", "rd.", "Ave", "av", "Gdns"]
    + ["Road", "street", "Close", "Terr", "tce", "Cres", "Way", "Church", "Helens", "Wigan"]
    + ["WN1 1AA", "wn11aa", "WN5  8AD", "wn5\t8ad", "M1 1AE", "B33 8TH", "W1A 0AX", "WNl 1AA"]
    + [",", ", ", " , ", ",,", "&", "'", ".", "-", "/", "(", ")", " ", "  ", "\t", "\n"]
    + ["\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u2003", "é", "Café", "ſt", "K", "İ", "ß"]
    + ["Ⅻ", "٣", "WN١ 1AA", "_", "st_", "x\u0301"]
)
address_text = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=12).map(
    lambda parts: "".join(parts)
)
address_values = st.lists(
    st.one_of(address_text, st.none(), st.just(""), st.just(np.nan)), min_size=1, max_size=30
)


def _assert_same(values: list, new: Callable, reference: Callable) -> None:
    series = pd.Series(values, dtype=object)
    got, expected = new(series), reference(series)
    assert got.dtype == expected.dtype == object
    assert got.index.equals(expected.index)
    assert got.tolist() == expected.tolist()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address_values)
def test_address_key_matches_the_re_rules(values):
    _assert_same(values, text.address_key, address_key)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address_values)
def test_extract_postcode_matches_the_re_rules(values):
    _assert_same(values, text.extract_postcode, extract_postcode)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address_values)
def test_remove_postcodes_matches_the_re_rules(values):
    _assert_same(values, text.remove_postcodes, remove_postcodes)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address_values)
def test_street_key_matches_the_re_rules(values):
    _assert_same(values, text.street_key, street_key)
    keys = address_key(pd.Series(values, dtype=object)).tolist()
    _assert_same(keys, text.street_key, street_key)


@pytest.mark.parametrize(
    "value",
    [
        "Café WN1 1AA",  # "é" is a word character for re, so no postcode starts after it
        "ſt Helens Rd",  # re folds "ſ" into [a-z]
        "2 Kings Rd WN1\x1c1AA\x1c,",  # re's \s covers \x1c, RE2's does not
        "st,st",
        "12 Church St., Wigan, WN1 1AA",
        "\ud800 Rd",  # cannot be written as UTF-8
    ],
)
def test_known_differences_between_re_and_re2_are_handled(value):
    for new, reference in [
        (text.address_key, address_key),
        (text.extract_postcode, extract_postcode),
        (text.remove_postcodes, remove_postcodes),
        (text.street_key, street_key),
    ]:
        _assert_same([value, None], new, reference)


def test_demo_addresses_match_the_re_rules():
    addresses = demo_reference().addresses
    with_postcodes = addresses["address"] + ", " + addresses["postcode"]
    values = pd.concat(
        [addresses["address"], with_postcodes, with_postcodes.str.upper(), addresses["postcode"]]
    ).tolist()
    _assert_same(values, text.address_key, address_key)
    _assert_same(values, text.extract_postcode, extract_postcode)
    _assert_same(values, text.remove_postcodes, remove_postcodes)
    _assert_same(address_key(pd.Series(values)).tolist(), text.street_key, street_key)
