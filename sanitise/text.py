"""Vectorised normalisation of postcodes and address strings, for matching only.

Every function takes and returns a pandas Series. The work is done once per distinct value
(``on_uniques``), because supplies repeat the same streets and postcodes many times over.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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

# The same rules for Arrow's RE2 kernels, which are many times faster than ``re`` but are used
# on ASCII text only: there RE2's ``\b`` matches ``re``'s, whereas ``re`` also treats accented
# letters as word characters and folds some non-ASCII letters into [A-Z]. ``re``'s ``\s`` is
# spelt out because RE2's leaves out \v and \x1c-\x1f.
_ASCII_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
_RE2_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"
_RE2_POSTCODE = rf"\b[A-Za-z]{{1,2}}[0-9][A-Za-z0-9]?{_RE2_SPACE}*[0-9][A-Za-z]{{2}}\b"
_RE2_POSTCODE_LOWER = rf"\b[a-z]{{1,2}}[0-9][a-z0-9]?{_RE2_SPACE}*[0-9][a-z]{{2}}\b"
_RE2_ABBREVIATIONS = tuple(
    (rf"\b(?:{'|'.join(k for k, v in STREET_ABBREVIATIONS.items() if v == word)})\b", word)
    for word in dict.fromkeys(STREET_ABBREVIATIONS.values())
)
_RE2_STREET_PART = rf"^(?P<street>(?:[^,]*,)*?[^,]*\b(?:{_STREET_TYPES_ALT})\b)"


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


def _by_arrow(
    s: pd.Series,
    fast: Callable[[pa.StringArray], pa.Array],
    slow: Callable[[pd.Series], pd.Series],
) -> pd.Series:
    """``fast`` on the ASCII strings of ``s``, ``slow`` (the ``re`` rules) on the others.

    Both must give the same result for ASCII text; the result is an object Series.
    """
    try:
        array = pa.array(np.asarray(s, dtype=object), type=pa.string())
    except UnicodeEncodeError:
        # Lone surrogates cannot be written as UTF-8 for Arrow.
        return slow(s).astype(object)
    ascii_text = pc.string_is_ascii(array).to_numpy(zero_copy_only=False)
    if ascii_text.all():
        return pd.Series(fast(array).to_numpy(zero_copy_only=False), index=s.index, dtype=object)
    result = np.empty(len(s), dtype=object)
    result[ascii_text] = fast(array.filter(ascii_text)).to_numpy(zero_copy_only=False)
    result[~ascii_text] = np.asarray(slow(s[~ascii_text]), dtype=object)
    return pd.Series(result, index=s.index, dtype=object)


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

    def extract_ascii(array: pa.StringArray) -> pa.Array:
        found = pc.struct_field(
            pc.extract_regex(array, f"(?P<postcode>{_RE2_POSTCODE})"), "postcode"
        )
        upper = pc.ascii_upper(found.fill_null(""))
        return pc.replace_substring_regex(upper, "[^A-Z0-9]", "")

    return on_uniques(addresses, lambda s: _by_arrow(s, extract_ascii, extract))


def remove_postcodes(addresses: pd.Series) -> pd.Series:
    """The address strings with any postcode in them taken out."""

    def remove(s: pd.Series) -> pd.Series:
        removed = s.str.replace(_POSTCODE_IN_TEXT, "", regex=True)
        return removed.str.replace(r"[\s,]+$", "", regex=True)

    def remove_ascii(array: pa.StringArray) -> pa.Array:
        removed = pc.replace_substring_regex(array, _RE2_POSTCODE, "")
        return pc.ascii_rtrim(removed, _ASCII_SPACE + ",")

    return on_uniques(addresses, lambda s: _by_arrow(s, remove_ascii, remove))


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


def _normalise_ascii(array: pa.StringArray) -> pa.Array:
    """``_normalise`` for ASCII text.

    After the punctuation and comma steps the text is only [a-z0-9, ], single spaces, no space
    next to a comma and none at either end, so "st" followed by optional spaces and a comma or
    the end is "st" followed by a comma or the end, and the final whitespace tidying in
    ``_normalise`` has nothing left to do.
    """
    a = pc.replace_substring_regex(pc.ascii_lower(array), _RE2_POSTCODE_LOWER, " ")
    a = pc.replace_substring(pc.replace_substring(a, "&", " and "), "'", "")
    a = pc.replace_substring_regex(a, "[^a-z0-9,]+", " ")
    a = pc.ascii_trim(pc.replace_substring_regex(a, " *,[ ,]*", ","), " ,")
    a = pc.replace_substring_regex(a, r"\bst(,|$)", r"street\1")
    a = pc.replace_substring_regex(a, r"\bst\b", "saint")
    for pattern, word in _RE2_ABBREVIATIONS:
        a = pc.replace_substring_regex(a, pattern, word)
    a = pc.replace_substring_regex(a, _FLAT_WORD.pattern, "flat")
    return pc.replace_substring(a, ",", ", ")


def address_key(addresses: pd.Series) -> pd.Series:
    """Lower case, punctuation and postcode removed, street types and flat words spelt out.

    "Flat 2, 5 Acacia Ave., WIGAN  WN1 1AA" → "flat 2, 5 acacia avenue, wigan".
    """
    return on_uniques(addresses, lambda s: _by_arrow(s, _normalise_ascii, _normalise))


def street_key(keys: pd.Series) -> pd.Series:
    """From an ``address_key``: everything up to the street type, commas dropped.

    "flat 2, 5 acacia avenue, wigan" → "flat 2 5 acacia avenue"; without a street type, the
    whole key. Localities are left out because suppliers write them inconsistently.
    """

    def street(s: pd.Series) -> pd.Series:
        part = s.str.extract(_STREET_PART)[0].fillna(s)
        return part.str.replace(",", "", regex=False).str.strip()

    def street_ascii(array: pa.StringArray) -> pa.Array:
        part = pc.struct_field(pc.extract_regex(array, _RE2_STREET_PART), "street")
        part = pc.coalesce(part, array)
        return pc.ascii_trim(pc.replace_substring(part, ",", ""), _ASCII_SPACE)

    return on_uniques(keys, lambda s: _by_arrow(s, street_ascii, street))


def building_key(keys: pd.Series) -> pd.Series:
    """A ``street_key`` without its flat prefix, to match a flat to its building."""
    return on_uniques(keys, lambda s: s.str.replace(_FLAT_PREFIX, "", regex=True).astype(object))


def first_segment(keys: pd.Series) -> pd.Series:
    """The part of an ``address_key`` before its first comma."""
    return on_uniques(keys, lambda s: s.str.split(",", n=1).str[0].str.strip().astype(object))
