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
# What precedes the street in a gazetteer address's street part: "12", "12A", "3-5", "Flat 2".
_LEADING_NUMBER = re.compile(r"^(?:[a-z]+\s+)?[0-9][0-9a-z/\-–—]*\s+", re.I)
_POSTCODE = re.compile(text.POSTCODE_PATTERN, re.I)


def street_index(addresses: pd.DataFrame) -> pd.DataFrame:
    """One row per street of each postcode in the address gazetteer: postcode, key (the
    street as ``text.address_key`` spells it) and shown ("Elm Drive, Wigan")."""
    rows = []
    for address, postcode in zip(addresses["address"], addresses["postcode"], strict=True):
        street = _street_and_locality(str(address))
        if street is not None:
            rows.append((postcode, *street))
    frame = pd.DataFrame(rows, columns=["postcode", "street", "shown"])
    if frame.empty:
        return pd.DataFrame(columns=["postcode", "key", "shown"])
    frame = frame.drop_duplicates(["postcode", "shown"])
    frame["key"] = text.address_key(frame["street"]).to_numpy()
    return frame[["postcode", "key", "shown"]].reset_index(drop=True)


def _street_and_locality(address: str) -> tuple[str, str] | None:
    """("Elm Drive", "Elm Drive, Wigan") from "12 Elm Drive, Wigan, WN1 1AA"; None when no
    part of the address is a street, or the street still holds a number."""
    parts = [part.strip() for part in address.split(",") if part.strip()]
    parts = [part for part in parts if not _POSTCODE.fullmatch(part)]
    for position, part in enumerate(parts):
        street = _LEADING_NUMBER.sub("", part).strip()
        if _STREET_WORD.search(street) and not re.search(r"[0-9]", street):
            locality = parts[position + 1] if position + 1 < len(parts) else ""
            if re.search(r"[0-9]", locality):
                locality = ""
            return street, ", ".join(p for p in (street, locality) if p)
    return None


def streets_named(index: pd.DataFrame, addresses: pd.Series, postcodes: np.ndarray) -> np.ndarray:
    """For each address, the gazetteer's street and locality if the address names a street of
    its postcode (the longest such street, as a whole phrase); None otherwise."""
    shown = np.full(len(addresses), None, dtype=object)
    if not len(addresses) or index.empty:
        return shown
    keys = text.address_key(addresses.fillna("").astype(str)).to_numpy(dtype=object)
    by_postcode = {
        postcode: list(zip(group["key"], group["shown"], strict=True))
        for postcode, group in index.groupby("postcode", sort=False)
    }
    found: dict[tuple[str, str], str | None] = {}
    for row, (key, postcode) in enumerate(zip(keys, postcodes, strict=True)):
        if not isinstance(postcode, str) or not key:
            continue
        pair = (key, postcode)
        if pair not in found:
            found[pair] = _named(key, by_postcode.get(postcode, []))
        shown[row] = found[pair]
    return shown


def _named(key: str, streets: list[tuple[str, str]]) -> str | None:
    padded = f" {key.replace(',', ' ')} "
    best = None
    for street, shown in streets:
        # "Market St Wigan" reads as "market saint wigan": a street named mid-sentence.
        forms = [street] + (
            [street[: -len("street")] + "saint"] if street.endswith(" street") else []
        )
        if any(f" {form} " in padded for form in forms) and (
            best is None or len(street) > len(best[0])
        ):
            best = (street, shown)
    return best[1] if best else None
