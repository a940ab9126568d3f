"""The areas people work in (wards, LSOAs, MSOAs, local authorities, postcode districts):
each postcode's areas for the load, and finding a partnership's areas by code or by name.

A partnership's areas are those of its local authorities (``Partnership.local_authorities``)
and the postcode districts of its postcode areas.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from django.db.models import CharField, F, Func, Q, Value

from sanitise.choices import AreaKind, GazetteerKind
from sanitise.models import Area, AreaStatistic, GazetteerVersion, PostcodeAreas, PostcodeCentroid

AREA_COLUMNS = ("oa_code", "lsoa_code", "msoa_code", "ward_code", "lad_code")
# The kinds an analyst counts, maps and filters by, and each one's column on a record.
COUNTED_KINDS = (AreaKind.WARD, AreaKind.LSOA, AreaKind.MSOA, AreaKind.LAD)
DISTRICT = "district"
KIND_COLUMN = {
    AreaKind.OA: "oa_code",
    AreaKind.LSOA: "lsoa_code",
    AreaKind.MSOA: "msoa_code",
    AreaKind.WARD: "ward_code",
    AreaKind.LAD: "lad_code",
}
KIND_WORDS = {
    DISTRICT: "Postcode district",
    AreaKind.WARD: "Ward",
    AreaKind.LSOA: "LSOA",
    AreaKind.MSOA: "MSOA",
    AreaKind.LAD: "Local authority",
    AreaKind.OA: "Output area",
}
_GSS_CODE = re.compile(r"^[EWSN]\d{8}$", re.IGNORECASE)
_DISTRICT = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$", re.IGNORECASE)
SUGGESTIONS = 5


class AreaUnknown(ValueError):
    """An area the partnership does not have; ``suggestions`` are the nearest it does."""

    def __init__(self, value: str, suggestions: list[AreaChoice]):
        self.value = value
        self.suggestions = suggestions
        near = "; ".join(choice.label for choice in suggestions)
        hint = f" Did you mean: {near}?" if near else ""
        super().__init__(
            f"There is no area {value!r} in the partnership (wards, LSOAs, MSOAs, local "
            f"authorities by code or name; postcode districts such as WN1).{hint}"
        )


@dataclass(frozen=True)
class AreaChoice:
    """One area as the picker offers it and a filter takes it."""

    kind: str
    code: str
    name: str

    @property
    def label(self) -> str:
        if self.kind == DISTRICT:
            return f"{self.code} (postcode district)"
        return f"{self.name} ({KIND_WORDS[self.kind].lower()} {self.code})"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "code": self.code, "name": self.name, "label": self.label}


# Postcode lookups, cached per import and partnership: the load reads each chunk's areas from
# memory.
_lookup_lock = threading.Lock()
_lookup: dict[tuple, pd.DataFrame] = {}


def postcode_area_pattern(postcode_areas: Sequence[str]) -> str:
    """A regular expression matching the postcodes of these postcode areas ("M" is not "ML")."""
    letters = "|".join(re.escape(area.upper()) for area in postcode_areas) or "(?!)"
    return f"^({letters})[0-9]"


def area_lookup_version() -> int:
    """The latest postcode lookup's version (0 before any is imported)."""
    return (
        GazetteerVersion.objects.filter(kind=GazetteerKind.AREA_LOOKUP)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


def postcode_areas_current(
    *, local_authorities: Sequence[str], postcode_areas: Sequence[str]
) -> pd.DataFrame:
    """The areas (index: postcode; AREA_COLUMNS) of every postcode in the partnership's local
    authorities or postcode areas: those a record of the partnership takes (a postcode
    elsewhere lies in none of its areas, and the whole country's lookup would not fit a
    worker's memory). Read again only when a new lookup has been imported."""
    version = area_lookup_version()
    key = (version, tuple(sorted(local_authorities)), tuple(sorted(postcode_areas)))
    with _lookup_lock:
        cached = _lookup.get(key)
        if cached is None:
            rows = PostcodeAreas.objects.filter(
                Q(lad_code__in=list(local_authorities))
                | Q(postcode__regex=postcode_area_pattern(postcode_areas))
            ).values_list("postcode", *AREA_COLUMNS)
            frame = pd.DataFrame(list(rows), columns=["postcode", *AREA_COLUMNS])
            cached = frame.set_index("postcode").astype("category")
            _lookup.clear()
            _lookup[key] = cached
        return cached


def areas_of_postcodes(lookup: pd.DataFrame, postcodes: pd.Series) -> pd.DataFrame:
    """The areas of each postcode (AREA_COLUMNS), "" for a postcode the lookup lacks."""
    found = lookup.reindex(postcodes.fillna("").to_numpy())
    return pd.DataFrame(
        {column: found[column].astype(object).fillna("").to_numpy() for column in AREA_COLUMNS},
        index=postcodes.index,
    )


def _partnership_areas(local_authorities: Sequence[str]) -> Q:
    return Q(lad_code__in=list(local_authorities)) | Q(code__in=list(local_authorities))


def partnership_areas(
    *, local_authorities: Sequence[str], kinds: Iterable[str] = COUNTED_KINDS
) -> list[Area]:
    """The named areas of these local authorities, of these kinds, by name."""
    return list(
        Area.objects.filter(_partnership_areas(local_authorities), kind__in=list(kinds))
        .order_by("kind", "name")
        .defer("boundary")
    )


def partnership_districts(*, postcode_areas: Sequence[str]) -> list[str]:
    """The postcode districts of these postcode areas that the gazetteer holds."""
    districts = (
        PostcodeCentroid.objects.filter(area__in=[a.upper() for a in postcode_areas])
        .annotate(
            district=Func(
                F("postcode"),
                Value(" "),
                Value(1),
                function="split_part",
                output_field=CharField(),
            )  # fmt: skip
        )
        .values_list("district", flat=True)
        .distinct()
    )
    return sorted(districts, key=_district_order)


def _district_order(district: str) -> tuple:
    letters = re.match(r"[A-Z]+", district)
    number = re.search(r"\d+", district)
    return (letters[0] if letters else "", int(number[0]) if number else 0, district)


def _choices(
    *, local_authorities: Sequence[str], postcode_areas: Sequence[str]
) -> list[AreaChoice]:
    areas = [
        AreaChoice(kind=area.kind, code=area.code, name=area.name)
        for area in partnership_areas(local_authorities=local_authorities)
    ]
    districts = [
        AreaChoice(kind=DISTRICT, code=district, name=district)
        for district in partnership_districts(postcode_areas=postcode_areas)
    ]
    return areas + districts


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def area_search(
    *, local_authorities: Sequence[str], postcode_areas: Sequence[str], text: str, limit: int = 12
) -> list[AreaChoice]:
    """The partnership's areas whose code or name starts with, then contains, ``text``: the
    search-as-you-type picker's answer."""
    wanted = _normal(text)
    if not wanted:
        return []
    choices = _choices(local_authorities=local_authorities, postcode_areas=postcode_areas)
    starts, contains = [], []
    for choice in choices:
        names = (_normal(choice.code), _normal(choice.name))
        if any(name.startswith(wanted) for name in names):
            starts.append(choice)
        elif any(wanted in name for name in names):
            contains.append(choice)
    return (starts + contains)[:limit]


def areas_resolve(
    *, local_authorities: Sequence[str], postcode_areas: Sequence[str], values: Sequence[str]
) -> list[AreaChoice]:
    """Each value (a code, a name, or a label the picker gave) as the partnership's area;
    AreaUnknown, with suggestions, for the first that is not one. A name shared by areas of
    different kinds (a ward and its LSOAs rarely are) is refused as ambiguous."""
    choices = _choices(local_authorities=local_authorities, postcode_areas=postcode_areas)
    by_code = {choice.code.upper(): choice for choice in choices}
    by_name: dict[str, list[AreaChoice]] = {}
    for choice in choices:
        by_name.setdefault(_normal(choice.name), []).append(choice)
        by_name.setdefault(_normal(choice.label), []).append(choice)
    resolved: list[AreaChoice] = []
    for value in values:
        key = value.strip()
        choice = by_code.get(key.upper())
        if choice is None:
            named = by_name.get(_normal(key), [])
            if len(named) > 1:
                raise AreaUnknown(value, named[:SUGGESTIONS])
            choice = named[0] if named else None
        if choice is None:
            raise AreaUnknown(value, _suggestions(key, choices))
        if choice not in resolved:
            resolved.append(choice)
    return resolved


def _suggestions(value: str, choices: list[AreaChoice]) -> list[AreaChoice]:
    keyed = {_normal(choice.name): choice for choice in choices}
    keyed.update({_normal(choice.code): choice for choice in choices})
    close = difflib.get_close_matches(_normal(value), list(keyed), n=SUGGESTIONS, cutoff=0.6)
    if not close:
        close = [key for key in keyed if _normal(value)[:3] and key.startswith(_normal(value)[:3])]
    found: list[AreaChoice] = []
    for key in close:
        if keyed[key] not in found:
            found.append(keyed[key])
    return found[:SUGGESTIONS]


def looks_like_area_code(value: str) -> bool:
    """A GSS code (E05014989) or a postcode district (WN1)."""
    value = value.strip()
    return bool(_GSS_CODE.match(value) or _DISTRICT.match(value))


def area_statistics(*, codes: Sequence[str], indicators: Sequence[str]) -> pd.DataFrame:
    """The imported figures of these areas (index: area code; a column per indicator, NaN
    where none was imported)."""
    rows = AreaStatistic.objects.filter(
        area_code__in=list(codes), indicator__in=list(indicators)
    ).values_list("area_code", "indicator", "value")
    frame = pd.DataFrame(list(rows), columns=["area_code", "indicator", "value"])
    table = frame.pivot(index="area_code", columns="indicator", values="value")
    return table.reindex(index=list(codes), columns=list(indicators))


def statistics_synthetic(*, codes: Sequence[str]) -> bool:
    """Whether any figure of these areas came from a synthetic import (the demo's)."""
    versions = (
        AreaStatistic.objects.filter(area_code__in=list(codes))
        .values_list("version_id", flat=True)
        .distinct()
    )
    return GazetteerVersion.objects.filter(pk__in=list(versions), synthetic=True).exists()
