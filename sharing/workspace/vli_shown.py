"""The VLI table as it leaves the hub (sharing.workspace.vulnerability works it out): its rows
as a user's release allows, classed for the map, as CSV and as the choropleth's GeoJSON."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pandas as pd

from datasets.spreadsheets import neutralise_cell, neutralise_formulas
from sanitise.areas import KIND_WORDS
from sharing.disclosure import Release
from sharing.workspace.areas import CLASSES, area_boundaries
from sharing.workspace.classes import class_breaks, legend_labels
from sharing.workspace.vli import PRIORITY_ABOVE


@dataclass(frozen=True)
class IndicatorColumn:
    name: str
    title: str
    weight: float


@dataclass
class VliRow:
    rank: int | None
    code: str
    name: str
    cells: list[tuple[float | None, float | None]]  # (rate, index) per shown column
    counts: dict[str, int]  # records per record indicator; empty where counts are not shown
    vli: float | None
    priority: bool | None  # None: no VLI, so not known
    missing: str  # why the area has no VLI, in words
    klass: int = 0  # the map's class, 1 up; 0 without a VLI


@dataclass
class VliResult:
    kind: str
    period: tuple[datetime.date, datetime.date]
    release: Release  # the lesser of the releases of the datasets counted
    shown: bool  # whether records' counts, rates and indices may be shown (area_values_shown)
    columns: list[IndicatorColumn]  # the indicators whose rates and indices are shown
    rows: list[VliRow]
    extras: list  # sharing.workspace.vulnerability.ExtraChoice, every local indicator
    method: str = "quantiles"
    legend: list[str] = field(default_factory=list)
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    weights: float = 0.0  # of every indicator in the VLI, hidden or shown

    @property
    def kind_words(self) -> str:
        return KIND_WORDS[self.kind]

    @property
    def priorities(self) -> int:
        return sum(1 for row in self.rows if row.priority)


def missing_words(missing: str, words: dict[str, str]) -> str:
    """vli_scores' ``missing`` ("households, income_score") in the page's words."""
    found = []
    for reason in filter(None, missing.split(", ")):
        name, _, rest = reason.partition(" (")
        found.append(words.get(name, name) + (f" ({rest}" if rest else ""))
    return "; ".join(found)


def _number(value, places: int) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), places)


def shown_rows(
    scores: pd.DataFrame,
    *,
    names: dict[str, str],
    columns: list[IndicatorColumn],
    counts: pd.DataFrame,
    shown: bool,
    words: dict[str, str],
) -> list[VliRow]:
    """The ranked rows as shown. Users who may only count get the VLI in whole numbers, its
    class and the priority flag, and the published statistics' rates and indices; the
    records' counts, rates and indices are left out (``columns`` and ``counts`` come without
    them), as area_values_shown leaves out a choropleth's rates: a rate, or an index (a rate
    over the partnership's), times a published denominator puts a small count back together.
    The VLI mixes the records' indices with the statistics' ones, which such a user can work
    out for themselves; whole numbers keep what is left of the records' indices coarse. The
    priority flag is the VLI as shown over 200, so that the page never flags a "200"."""
    rows = []
    for code, score in scores.iterrows():
        vli = _number(score["vli"], 1 if shown else 0)
        rank = score["rank"]
        rows.append(
            VliRow(
                rank=None if pd.isna(rank) else int(rank),
                code=str(code),
                name=names.get(code, code),
                cells=[
                    (_number(score[f"{c.name}_rate"], 1), _number(score[f"{c.name}_index"], 1))
                    for c in columns
                ],
                counts={name: int(counts.at[code, name]) for name in counts.columns},
                vli=vli,
                priority=None if vli is None else vli > PRIORITY_ABOVE,
                missing=missing_words(score["missing"], words),
            )
        )
    return rows


def classed(rows: list[VliRow], *, method: str, shown: bool) -> list[str]:
    """Each row's class of its VLI as shown, by ``method``; the legend's labels."""
    values = [float("nan") if row.vli is None else row.vli for row in rows]
    breaks = class_breaks(values, method=method, classes=CLASSES)
    for row, klass in zip(rows, breaks.class_of(values), strict=True):
        row.klass = int(klass)
    return legend_labels(breaks, decimals=1 if shown else 0)


def vli_csv(result: VliResult) -> str:
    """The table as CSV, as shown: counts only where they may be; cells a spreadsheet would
    run as formulas (an area's name) neutralised."""
    count_names = list(result.rows[0].counts) if result.rows else []
    header = ["rank", "area_code", "area_name", *(f"{name}_records" for name in count_names)]
    for column in result.columns:
        header += [f"{column.name}_rate", f"{column.name}_index"]
    header += ["vli", "class", "priority", "no_vli_because"]
    lines = []
    for row in result.rows:
        line: list = [row.rank, row.code, row.name, *(row.counts[n] for n in count_names)]
        for rate, index in row.cells:
            line += [rate, index]
        priority = "" if row.priority is None else ("yes" if row.priority else "no")
        line += [row.vli, row.klass or "", priority, row.missing]
        lines.append(line)
    frame = pd.DataFrame(lines, columns=header, dtype=object)
    frame.columns = [neutralise_cell(column) for column in frame.columns]
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n")


def vli_choropleth(result: VliResult) -> dict:
    """The areas' boundaries as GeoJSON with each one's VLI as shown, class, rank and flag."""
    by_code = {row.code: row for row in result.rows}
    features = []
    for area in area_boundaries(codes=list(by_code)):
        row = by_code[area.code]
        properties = {
            "code": area.code, "name": area.name, "class": row.klass, "vli": row.vli,
            "rank": row.rank, "priority": bool(row.priority), "approximate": area.approximate,
        }  # fmt: skip
        features.append({"type": "Feature", "geometry": area.boundary, "properties": properties})
    return {"type": "FeatureCollection", "features": features}
