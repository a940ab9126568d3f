"""Postcodes are read whatever their case and spacing; O/0 and I/1 only when unambiguous."""

import pandas as pd
import pytest

from .conftest import tiny_gazetteer

GAZETTEER = tiny_gazetteer(
    [
        ("WN1 1AA", 358016, 405780, 10),
        ("WN2 1PE", 359723, 408660, 10),
        # Two real-looking postcodes that differ only by O/0: a typed "WN5 OAB" is ambiguous.
        ("WN5 0AB", 355000, 404000, 10),
        ("WN5 OAB", 355100, 404000, 10),
    ]
)


@pytest.mark.parametrize(
    ("typed", "found", "corrected"),
    [
        ("WN1 1AA", "WN1 1AA", False),
        ("wn1 1aa", "WN1 1AA", False),
        ("WN11AA", "WN1 1AA", False),
        ("WN1  1AA", "WN1 1AA", False),
        (" wn1-1aa ", "WN1 1AA", False),
        ("WN1 IAA", "WN1 1AA", True),
        ("WNI 1AA", "WN1 1AA", True),
        ("wn2 ipe", "WN2 1PE", True),
        ("WN5 0AB", "WN5 0AB", False),
        ("WN5 OAB", "WN5 OAB", False),
        ("WN5 0A8", None, False),
        ("WN1 1AZ", None, False),
        ("not a postcode", None, False),
        ("", None, False),
    ],
)
def test_postcodes_are_normalised_and_corrected_only_when_one_candidate_fits(
    typed, found, corrected
):
    match = GAZETTEER.match_postcodes(pd.Series([typed]))

    position = match.positions[0]
    assert (GAZETTEER.postcodes[position] if position >= 0 else None) == found
    assert bool(match.corrected[0]) is corrected


def test_an_o_for_zero_is_not_corrected_when_two_postcodes_would_fit():
    match = GAZETTEER.match_postcodes(pd.Series(["WN5 OA8", "wn5 oab"]))

    assert match.positions[0] == -1
    assert GAZETTEER.postcodes[match.positions[1]] == "WN5 OAB"


def test_canonical_form_puts_one_space_before_the_inward_code():
    match = GAZETTEER.match_postcodes(pd.Series(["sw1a1aa", "M11AE", "EC1A 1BB", "xx"]))

    assert match.canonical.tolist() == ["SW1A 1AA", "M1 1AE", "EC1A 1BB", None]
