"""Areas in the workspace: filters by ward, LSOA, MSOA, local authority or postcode district
(by code or name), counts and rates per area, and the choropleth.

Counts come from the workspace's query (sharing.workspace.counts, so the monthly counts
answer when they can) and leave through sharing.disclosure as the workspace's release allows;
rates are worked from the released counts, never from exact ones a user may not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import QuerySet

from datasets.spreadsheets import neutralise_cell, neutralise_formulas
from hub.models import Partnership
from sanitise.areas import (
    COUNTED_KINDS,
    DISTRICT,
    KIND_WORDS,
    AreaChoice,
    area_search,
    area_statistics,
    areas_resolve,
    partnership_areas,
    partnership_districts,
    statistics_synthetic,
)
from sanitise.choices import AreaIndicator, AreaKind
from sanitise.models import Area
from sharing.area_keys import KIND_KEY
from sharing.disclosure import TOTAL, area_counts_release, area_values_shown, count_table
from sharing.workspace.classes import ClassBreaks, class_breaks, legend_labels
from sharing.workspace.counts import counts_frame
from sharing.workspace.filters import FilterInvalid, WorkspaceQuery

AREA_KINDS = (DISTRICT, *COUNTED_KINDS)
# Rates per 1,000 of these; households for crimes against homes, residents otherwise.
RATE_BASES = {
    "population": AreaIndicator.POPULATION,
    "households": AreaIndicator.HOUSEHOLDS,
}
PER = 1000
CLASS_METHODS = {"quantiles": "Quantiles", "natural": "Natural breaks"}
CLASSES = 5
# What a class is called where its range may not be shown, by how many classes there are.
CLASS_WORDS = {
    1: ["Every area"],
    2: ["Lower", "Higher"],
    3: ["Lowest", "Middle", "Highest"],
    4: ["Lowest", "Low", "High", "Highest"],
    5: ["Lowest", "Low", "Middle", "High", "Highest"],
}
NO_VALUE = "No rate (no statistics)"
ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right; Source: Office for National "
    "Statistics licensed under the Open Government Licence v.3.0"
)
# The base layers of the hotspot map: the partnership's outlines of these kinds.
OUTLINE_KINDS = {"wards": AreaKind.WARD, "lsoas": AreaKind.LSOA}


def area_kind_get(value: str | None, *, default: str = DISTRICT) -> str:
    kind = value or default
    if kind not in AREA_KINDS:
        raise FilterInvalid(
            f"Areas are counted by {', '.join(AREA_KINDS)}; {kind!r} is not one of them."
        )
    return kind


def area_choices(*, partnership: Partnership, text: str) -> list[dict]:
    """The search-as-you-type picker's answer: the partnership's areas matching ``text``."""
    return [
        choice.as_dict()
        for choice in area_search(
            local_authorities=partnership.local_authorities,
            postcode_areas=partnership.postcode_areas,
            text=text,
        )
    ]


def chosen_labels(*, partnership: Partnership, area: dict) -> list[str]:
    """The areas of an ExtractQuery ``area`` in words, for captions and saved queries."""
    codes = [code for key, codes in area.items() if key != "bbox" for code in codes]
    if not codes:
        return []
    return [
        choice.label
        for choice in areas_resolve(
            local_authorities=partnership.local_authorities,
            postcode_areas=partnership.postcode_areas,
            values=codes,
        )
    ]


def _areas_listed(partnership: Partnership, kind: str, area: dict) -> list[AreaChoice]:
    """Every area of this kind in the partnership, so that an area with no records shows 0;
    only the chosen ones where the filter chose areas of this kind and no others."""
    if kind == DISTRICT:
        listed = [
            AreaChoice(kind=DISTRICT, code=d, name=d)
            for d in partnership_districts(postcode_areas=partnership.postcode_areas)
        ]
    else:
        listed = [
            AreaChoice(kind=found.kind, code=found.code, name=found.name)
            for found in partnership_areas(
                local_authorities=partnership.local_authorities, kinds=[kind]
            )
        ]
    chosen = {key: codes for key, codes in area.items() if codes}
    if set(chosen) == {KIND_KEY[kind]}:
        wanted = {code.upper() for code in chosen[KIND_KEY[kind]]}
        listed = [choice for choice in listed if choice.code.upper() in wanted]
    return listed


@dataclass
class AreaRow:
    code: str
    name: str
    count: int | None
    rate: float | None = None
    denominator: float | None = None
    klass: int = 0


@dataclass
class AreaCounts:
    """Counts (and rates) per area over the workspace's period, as released."""

    kind: str
    rows: list[AreaRow]
    shown: bool  # whether counts and rates may be shown, or classes only
    base: str | None = None  # the rate's denominator, or None for counts
    unplaced: int | None = None  # records in no area of the table (not located, no lookup,
    # or outside the partnership's local authorities)
    synthetic: bool = False  # the denominators are the demo's made-up statistics
    breaks: ClassBreaks | None = None
    method: str = "quantiles"
    legend: list[str] = field(default_factory=list)

    @property
    def kind_words(self) -> str:
        return KIND_WORDS[self.kind]

    @property
    def value_words(self) -> str:
        if self.base:
            return f"Rate per {PER:,} {'residents' if self.base == 'population' else 'households'}"
        return "Records"

    def class_label(self, klass: int) -> str:
        """A class in words: its range where counts may be shown, else where it ranks."""
        if klass < 1:
            return NO_VALUE
        classes = len(self.breaks.bounds) if self.breaks else 0
        labels = self.legend if self.shown else CLASS_WORDS.get(classes, [])
        return labels[klass - 1] if klass <= len(labels) else str(klass)

    @property
    def legend_entries(self) -> list[tuple[int, str]]:
        """Each class with its label, lowest first; "no rate" last where an area has none."""
        classes = len(self.breaks.bounds) if self.breaks else 0
        entries = [(klass, self.class_label(klass)) for klass in range(1, classes + 1)]
        if any(row.klass == 0 for row in self.rows):
            entries.append((0, NO_VALUE))
        return entries


def area_counts(
    *,
    workspace: WorkspaceQuery,
    partnership: Partnership,
    kind: str,
    base: str | None = None,
    method: str = "quantiles",
) -> AreaCounts:
    """Records per area of ``kind`` over the period (every area of the partnership listed,
    0 where none), with rates per 1,000 residents or households when ``base`` is given and
    the areas' statistics are imported, classed for the choropleth."""
    if base is not None and base not in RATE_BASES:
        raise FilterInvalid(f"Rates are per 1,000 of {' or '.join(RATE_BASES)}.")
    if method not in CLASS_METHODS:
        raise FilterInvalid(f"Classes are {' or '.join(CLASS_METHODS)}.")
    release = workspace.release
    cells = counts_frame(workspace.query, None, area_kind=kind)
    table = count_table(
        cells.drop(columns="month").assign(category="All") if not cells.empty else cells,
        rows="area",
        columns="category",
        exact=area_counts_release(release).exact,
    )
    counts = table[table["category"] == TOTAL].set_index("area")["count"]
    listed = _areas_listed(partnership, kind, workspace.query.area)
    rows = [
        AreaRow(code=choice.code, name=choice.name, count=int(counts.get(choice.code, 0)))
        for choice in listed
    ]
    # Not located, no area known for the postcode, or an area outside the partnership's
    # local authorities (a postcode of its postcode areas over the boundary): not in the table.
    listed_codes = {choice.code for choice in listed}
    outside = [label not in listed_codes and label != TOTAL for label in counts.index]
    unplaced = int(counts[outside].sum())
    synthetic = False
    if base is not None and kind != DISTRICT:
        codes = [row.code for row in rows]
        denominators = area_statistics(codes=codes, indicators=[RATE_BASES[base]])
        synthetic = statistics_synthetic(codes=codes)
        for row in rows:
            value = denominators.loc[row.code].iloc[0]
            if pd.notna(value) and value > 0:
                row.denominator = float(value)
                row.rate = round(row.count * PER / float(value), 1)
    elif base is not None:
        raise FilterInvalid("Rates need wards, LSOAs, MSOAs or local authorities.")
    values = np.array(
        [(row.rate if base else row.count) for row in rows], dtype=float
    )  # NaN where no rate
    breaks = class_breaks(values, method=method, classes=CLASSES)
    for row, klass in zip(rows, breaks.class_of(values), strict=True):
        row.klass = int(klass)
    shown = area_values_shown(release)
    if not shown:
        for row in rows:
            row.count, row.rate = None, None
        unplaced = None
    return AreaCounts(
        kind=kind,
        rows=rows,
        shown=shown,
        base=base,
        unplaced=unplaced,
        synthetic=synthetic,
        breaks=breaks,
        method=method,
        legend=legend_labels(breaks, decimals=1 if base else 0) if shown else [],
    )


def area_boundaries(*, codes: list[str]) -> QuerySet[Area]:
    return Area.objects.filter(code__in=codes, boundary__isnull=False)


def choropleth(*, result: AreaCounts) -> dict:
    """The areas' boundaries as GeoJSON with each one's class (and count and rate where they
    may be shown), for the map."""
    by_code = {row.code: row for row in result.rows}
    features = []
    for area in area_boundaries(codes=list(by_code)):
        row = by_code[area.code]
        properties = {
            "code": area.code,
            "name": area.name,
            "class": row.klass,
            "approximate": area.approximate,
        }
        if result.shown:
            properties |= {"count": row.count, "rate": row.rate}
        features.append({"type": "Feature", "geometry": area.boundary, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def area_rows(*, result: AreaCounts) -> list[dict]:
    """The table's rows as plain values: counts and rates only where they may be shown."""
    rows = []
    for row in result.rows:
        one = {"code": row.code, "name": row.name, "class": row.klass}
        one["class_label"] = result.class_label(row.klass)
        if result.shown:
            one |= {"count": row.count, "rate": row.rate}
        rows.append(one)
    return rows


def areas_csv(*, result: AreaCounts) -> str:
    """The table as CSV (area code, its name, count and rate where shown, class), cells a
    spreadsheet would run as formulas neutralised."""
    columns = ["area", "area_name"]
    if result.shown:
        columns += ["count"] + ([f"rate_per_{PER}_{result.base}"] if result.base else [])
    columns += ["class", "class_label"]
    frame = pd.DataFrame(
        [
            [row["code"], row["name"]]
            + ([row["count"]] + ([row["rate"]] if result.base else []) if result.shown else [])
            + [row["class"], row["class_label"]]
            for row in area_rows(result=result)
        ],
        columns=columns,
        dtype=object,
    )
    frame.columns = [neutralise_cell(column) for column in frame.columns]
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n")


def area_outlines(*, partnership: Partnership) -> dict:
    """The partnership's wards and LSOAs as GeoJSON outlines with their names: the hotspot
    map's base layers. Names and boundaries only, no data."""
    layers = {}
    for layer, kind in OUTLINE_KINDS.items():
        codes = [
            area.code
            for area in partnership_areas(
                local_authorities=partnership.local_authorities, kinds=[kind]
            )
        ]
        features = [
            {
                "type": "Feature",
                "geometry": area.boundary,
                "properties": {
                    "code": area.code,
                    "name": area.name,
                    "approximate": area.approximate,
                },
            }
            for area in area_boundaries(codes=codes)
        ]
        layers[layer] = {"type": "FeatureCollection", "features": features}
    return layers


def chosen_words(*, workspace: WorkspaceQuery) -> list[str]:
    """The areas the workspace's filters keep, in words, for captions: the partnership's
    areas by their labels, postcode districts as typed."""
    area = workspace.query.area
    named = {key: codes for key, codes in area.items() if key not in ("districts", "bbox")}
    labels = chosen_labels(partnership=workspace.scope.agency.partnership, area=named)
    return labels + [f"{code} (postcode district)" for code in area.get("districts", [])]
