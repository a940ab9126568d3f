"""The streets the hub knows, by postcode: the only address text a sanitised record keeps.

Addresses are cleaned by what is allowed, not by what is removed. Whatever a supplier wrote
(a name, a house number in any form, a house name, "rear of", a plot, a PO box) is dropped,
unless it names a street of the record's own postcode, and then the gazetteer's spelling of
that street and its locality is kept ("Elm Drive, Wigan"), never the supplier's words.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sanitise import text

_STREET_WORD = re.compile(
    rf"\b(?:{'|'.join(text.STREET_TYPES + tuple(text.STREET_ABBREVIATIONS))})\b\.?$", re.I
)
# What may precede the street in a gazetteer address's street part: "12", "12A", "3-5",
# "Flat 2", "Flat A", "Unit 4 ".
_LEADING = re.compile(
    rf"^(?:(?:{'|'.join(text.FLAT_WORDS)})\s+\S+\s*,?\s*)?(?:[0-9][0-9a-z/\-–—]*\s+)?", re.I
)
_POSTCODE = re.compile(text.POSTCODE_PATTERN, re.I)
# A street must be named by this many addresses, and a locality by addresses in this many
# postcodes: a house or building name ("Old Mill Croft", "Barnes Court") is one address's own.
MIN_ADDRESSES_PER_STREET = 3
MIN_POSTCODES_PER_LOCALITY = 3


def street_index(addresses: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """The streets of each postcode in the address gazetteer: postcode → [(key, shown)], the
    key as ``text.address_key`` spells the street, shown as "Elm Drive, Wigan"."""
    parsed = [
        (postcode, *found)
        for address, postcode in zip(addresses["address"], addresses["postcode"], strict=True)
        if (found := _street_and_locality(str(address))) is not None
    ]
    frame = pd.DataFrame(parsed, columns=["postcode", "street", "locality"])
    if frame.empty:
        return {}
    streets = frame.groupby(["street", "locality"])["postcode"].transform("size")
    frame = frame[streets >= MIN_ADDRESSES_PER_STREET]
    places = frame.groupby("locality")["postcode"].transform("nunique")
    frame = frame.assign(locality=frame["locality"].where(places >= MIN_POSTCODES_PER_LOCALITY, ""))
    frame = frame.drop_duplicates(["postcode", "street", "locality"])
    shown = frame["street"].where(
        frame["locality"] == "", frame["street"] + ", " + frame["locality"]
    )
    keys = text.address_key(frame["street"])
    index: dict[str, list[tuple[str, str]]] = {}
    for postcode, key, label in zip(frame["postcode"], keys, shown, strict=True):
        index.setdefault(postcode, []).append((key, label))
    return index


def _street_and_locality(address: str) -> tuple[str, str] | None:
    """("Haigh Road", "Wigan") from "Old Mill Croft, 3 Haigh Road, Wigan, WN1 1AA": the last
    part that is a street (house and building names come before it), and the part after it;
    None when no part is a street, or the street still holds a number."""
    parts = [part.strip() for part in address.split(",") if part.strip()]
    parts = [part for part in parts if not _POSTCODE.fullmatch(part)]
    for position in range(len(parts) - 1, -1, -1):
        street = _LEADING.sub("", parts[position]).strip()
        if _STREET_WORD.search(street) and not re.search(r"[0-9]", street):
            locality = parts[position + 1] if position + 1 < len(parts) else ""
            return street, "" if re.search(r"[0-9]", locality) else locality
    return None


def streets_named(
    index: dict[str, list[tuple[str, str]]], addresses: pd.Series, postcodes: np.ndarray
) -> np.ndarray:
    """For each address, the gazetteer's street and locality if the address names a street of
    its postcode (the longest such street, as a whole phrase); None otherwise."""
    shown = np.full(len(addresses), None, dtype=object)
    if not len(addresses) or not index:
        return shown
    keys = text.address_key(addresses.fillna("").astype(str)).to_numpy(dtype=object)
    found: dict[tuple[str, str], str | None] = {}
    for row, (key, postcode) in enumerate(zip(keys, postcodes, strict=True)):
        if not isinstance(postcode, str) or not key:
            continue
        pair = (key, postcode)
        if pair not in found:
            found[pair] = _named(key, index.get(postcode, []))
        shown[row] = found[pair]
    return shown


def _named(key: str, streets: list[tuple[str, str]]) -> str | None:
    padded = f" {key.replace(',', ' ')} "
    best = None
    for street, shown in streets:
        # "Market St Wigan" reads as "market saint wigan": a street named mid-sentence.
        forms = [street]
        if street.endswith(" street"):
            forms.append(street[: -len("street")] + "saint")
        named = any(f" {form} " in padded for form in forms)
        if named and (best is None or len(street) > len(best[0])):
            best = (street, shown)
    return best[1] if best else None
