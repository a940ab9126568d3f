"""Vectorised normalisation of postcodes and address strings, for matching only.

Every function takes and returns a pandas Series. The work is done once per distinct value
(``on_uniques``), because supplies repeat the same streets and postcodes many times over.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

# The shape of a UK postcode (BS 7666): outward code, optional space, inward code.
POSTCODE_PATTERN = r"[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}"
_POSTCODE_IN_TEXT = re.compile(rf"\b{POSTCODE_PATTERN}\b", re.IGNORECASE)
_POSTCODE_COMPACT = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
# Suppliers type O for 0 and I for 1 (and back); folding both sides lets a postcode be
# corrected when exactly one real postcode folds to the same key.
_FOLD = str.maketrans({"O": "0", "I": "1"})

# Abbreviations suppliers use for street types, expanded so that both spellings match.
STREET_ABBREVIATIONS = {
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "cres": "crescent",
    "cresc": "crescent",
    "dr": "drive",
    "cl": "close",
    "sq": "square",
    "pl": "place",
    "gdns": "gardens",
    "gdn": "gardens",
    "ct": "court",
    "terr": "terrace",
    "ter": "terrace",
    "tce": "terrace",
}
# Street types that end the "number and street" part of an address.
STREET_TYPES = (
    "road",
    "street",
    "avenue",
    "lane",
    "crescent",
    "drive",
    "close",
    "square",
    "place",
    "gardens",
    "court",
    "terrace",
    "way",
    "walk",
    "grove",
    "row",
    "mews",
    "parade",
    "rise",
    "brow",
    "fold",
    "croft",
    "precinct",
    "boulevard",
)
FLAT_WORDS = ("flat", "apartment", "apt", "maisonette", "studio", "unit", "suite", "room")

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


def postcode_fold(compact: pd.Series) -> pd.Series:
    """The compact postcode with O read as 0 and I as 1, to find typing confusions."""
    return on_uniques(compact, lambda s: s.str.translate(_FOLD).astype(object))


def postcode_is_wellformed(compact: pd.Series) -> pd.Series:
    """Whether a compact postcode has the shape of a UK postcode."""
    return on_uniques(compact, lambda s: s.str.match(_POSTCODE_COMPACT)).astype(bool)


def postcode_canonical(compact: pd.Series) -> pd.Series:
    """'WN11AA' → 'WN1 1AA' (the inward code is always the last three characters).

    Values that are not shaped like a postcode become None.
    """

    def canonical(s: pd.Series) -> pd.Series:
        formatted = s.str[:-3] + " " + s.str[-3:]
        return formatted.where(s.str.match(_POSTCODE_COMPACT), None).astype(object)

    return on_uniques(compact, canonical)


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


def building_key(keys: pd.Series) -> pd.Series:
    """A ``street_key`` without its flat prefix, to match a flat to its building."""
    return on_uniques(keys, lambda s: s.str.replace(_FLAT_PREFIX, "", regex=True).astype(object))


def first_segment(keys: pd.Series) -> pd.Series:
    """The part of an ``address_key`` before its first comma."""
    return on_uniques(keys, lambda s: s.str.split(",", n=1).str[0].str.strip().astype(object))
