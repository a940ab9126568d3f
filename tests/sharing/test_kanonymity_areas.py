"""k-anonymity over a record's areas: a generalised row keeps its ward but not its LSOA, and
a suppressed row keeps neither, nor their names."""

from __future__ import annotations

import pandas as pd

from sharing.disclosure import KAnonymity


def rows(postcodes: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "postcode": postcodes,
            "ward_code": ["E05000001" if p.startswith("WN1") else "E05000002" for p in postcodes],
            "ward_name": ["Bryn" if p.startswith("WN1") else "Abram" for p in postcodes],
            "lsoa_code": [f"E0100000{p[-1]}" for p in postcodes],
            "lsoa_name": [f"Wigan 00{p[-1]}" for p in postcodes],
            "easting": [358000] * len(postcodes),
        }
    )


def blank(values: pd.Series) -> bool:
    """Empty in the file: missing or an empty string."""
    return bool((values.fillna("") == "").all())


def test_rare_areas_are_generalised_to_the_ward_then_suppressed_with_their_names():
    frame = rows(["WN1 1AA"] * 3 + ["WN1 1AB", "WN1 1AC", "WN1 1AD", "WN2 2BB"])
    check = KAnonymity(quasi=["postcode", "ward_code", "lsoa_code"], k=3)
    check.learn(iter([frame]))

    out = check.apply(frame)

    kept = out.iloc[:3]
    assert list(kept["lsoa_name"]) == ["Wigan 00A"] * 3  # a class of 3 stays as it is
    generalised = out.iloc[3:6]
    assert list(generalised["postcode"]) == ["WN1 1"] * 3
    assert list(generalised["ward_name"]) == ["Bryn"] * 3  # the ward, larger, stays
    assert blank(generalised["lsoa_code"]) and blank(generalised["lsoa_name"])
    suppressed = out.iloc[[6]]
    for column in ("postcode", "ward_code", "ward_name", "lsoa_code", "lsoa_name"):
        assert blank(suppressed[column]), column
