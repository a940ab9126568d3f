"""The Vulnerable Localities Index (VLI): Chainey, "Identifying priority neighbourhoods using
the Vulnerable Localities Index", Policing 2(2), 2008, 196-209 (UCL Jill Dando Institute, with
Centrex). Pure: a table of areas in, a table of scores out, no database.

Six indicators: burglary dwelling and criminal damage to a dwelling (records per 1,000
households), income and employment deprivation (the IMD domain scores, shares of residents),
residents aged 15-24 (a share of residents) and educational attainment (the IMD Education,
Skills and Training score, higher = less attainment). Each is indexed against the partnership
taken as one area, index = 100 x area rate / partnership rate, so 100 is the partnership's
average and 200 twice it. The VLI is the weighted mean of the indices, the six standard ones
with weight 1, so a VLI over 200 (a priority neighbourhood) is an area twice the partnership's
level across the indicators as a whole.

What the sources leave open, and what is chosen here:
- The partnership's rate is total records / total households (or residents), not the mean of
  the areas' rates: the rate of the partnership as one area, which small areas cannot skew.
  An IMD score is a share per resident, so its partnership figure weights areas by residents.
- "Aggregating the six indices" is read as their mean: a sum would put the partnership's
  average at 600, which the "over 200" rule cannot have meant. No domains are averaged first.
- A local extra (Wigan: domestic violence, fires, probation and drug-team clients' homes) is
  indexed the same way and enters the mean with its weight: weight 2 counts as two indicators.
- An area whose denominator is 0 or blank, or whose input is blank, has no rate for that
  indicator, so no VLI: its `missing` names why rather than treating it as 0. It is left out
  of the partnership's totals for that indicator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

PRIORITY_ABOVE = 200.0
DENOMINATORS = ("households", "population")

METHOD_TEXT = (
    "The Vulnerable Localities Index (Chainey, 2008, Policing 2(2): 196-209; UCL Jill Dando "
    "Institute) scores each area on six indicators: burglary dwelling and criminal damage to a "
    "dwelling per 1,000 households, income and employment deprivation (IMD domain scores), the "
    "share of residents aged 15 to 24, and educational attainment (the IMD Education, Skills and "
    "Training score). Each indicator is indexed against the partnership as a whole: the area's "
    "rate divided by the partnership's rate, times 100, so 100 is the partnership average and "
    "200 twice it. The VLI is the average of these index values; local indicators, where added, "
    "count with the weight shown. An area with a VLI over 200 is a priority neighbourhood. An "
    "area with no household or population count, or a missing score, has no VLI rather than a "
    "guessed one."
)


@dataclass(frozen=True)
class VliIndicator:
    """One input of the VLI: a column, the denominator its rate is over, and its weight."""

    name: str  # the input column, and the stem of the output's columns
    title: str  # with its unit, as the page shows it
    denominator: str  # "households" or "population"
    per: float = 1000.0  # the rate is shown per this many; the index does not depend on it
    weight: float = 1.0
    score: bool = False  # the column is already a share per resident (an IMD domain score)

    def __post_init__(self) -> None:
        if self.denominator not in DENOMINATORS:
            raise ValueError(f"{self.name}: denominator must be one of {DENOMINATORS}")
        if not math.isfinite(self.weight) or self.weight < 0:
            raise ValueError(f"{self.name}: weight must be a number, 0 or more")


BURGLARY_DWELLING = VliIndicator(
    "burglary_dwelling", "Burglary dwelling per 1,000 households", "households"
)
CRIMINAL_DAMAGE_DWELLING = VliIndicator(
    "criminal_damage_dwelling", "Criminal damage to a dwelling per 1,000 households", "households"
)
INCOME = VliIndicator(
    "income_score", "Income deprivation (% of residents)", "population", per=100, score=True
)
# The IMD employment score is a share of working-age residents; the partnership's figure
# weights it by all residents, the count the input has.
EMPLOYMENT = VliIndicator(
    "employment_score", "Employment deprivation (% of working age)", "population", 100, score=True
)
YOUNG_PEOPLE = VliIndicator("population_15_24", "Residents aged 15 to 24 (%)", "population", 100)
EDUCATION = VliIndicator(
    "education_score", "Education, skills and training (IMD score)", "population", 1, score=True
)
STANDARD_INDICATORS = (
    BURGLARY_DWELLING,
    CRIMINAL_DAMAGE_DWELLING,
    INCOME,
    EMPLOYMENT,
    YOUNG_PEOPLE,
    EDUCATION,
)
INPUT_COLUMNS = (*(i.name for i in STANDARD_INDICATORS), *DENOMINATORS)
SHARES = ("income_score", "employment_score")  # proportions, 0 to 1


@dataclass(frozen=True)
class ExtraIndicator:
    """A local indicator: records per area (absent = none), per 1,000 of its denominator."""

    name: str
    title: str
    counts: pd.Series
    denominator: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        # The indicator it becomes checks the denominator and the weight: refused when made.
        _ = self.indicator

    @property
    def indicator(self) -> VliIndicator:
        return VliIndicator(self.name, self.title, self.denominator, weight=self.weight)


def vli_scores(areas: pd.DataFrame, *, extras: Sequence[ExtraIndicator] = ()) -> pd.DataFrame:
    """Each area's rate and index per indicator, its VLI, whether it is a priority (VLI over
    200; NA without a VLI), its rank (1 = most vulnerable) and what is `missing` for a VLI;
    most vulnerable first, areas without a VLI last."""
    table = _inputs(areas)
    indicators = list(STANDARD_INDICATORS)
    for extra in extras:
        if extra.name in table.columns:
            raise ValueError(f"{extra.name}: an extra indicator needs a name of its own")
        table[extra.name] = _extra_counts(extra=extra, areas=table.index)
        indicators.append(extra.indicator)
    scores = pd.DataFrame(index=table.index)
    reasons: list[pd.Series] = []
    weighted_sum = pd.Series(0.0, index=table.index)
    for indicator in indicators:
        rate, index, why = _indexed(table=table, indicator=indicator)
        scores[f"{indicator.name}_rate"] = rate
        scores[f"{indicator.name}_index"] = index
        if indicator.weight > 0:  # an indicator of weight 0 is shown but does not count
            weighted_sum += indicator.weight * index  # NaN stays NaN: no VLI without it
            reasons.extend(why)
    scores["vli"] = weighted_sum / sum(i.weight for i in indicators)
    scores["priority"] = pd.array(scores["vli"] > PRIORITY_ABOVE, dtype="boolean")
    scores.loc[scores["vli"].isna(), "priority"] = pd.NA  # unknown, not "not a priority"
    scores["rank"] = scores["vli"].rank(ascending=False, method="min").astype("Int64")
    scores["missing"] = _joined(reasons, index=table.index)
    ordered = scores.sort_index(kind="stable")  # ties in area-code order, whatever came in
    return ordered.sort_values("vli", ascending=False, na_position="last", kind="stable")


def _inputs(areas: pd.DataFrame) -> pd.DataFrame:
    absent = [column for column in INPUT_COLUMNS if column not in areas.columns]
    if absent:
        raise ValueError(f"the areas have no column {', '.join(absent)}")
    if areas.index.has_duplicates:
        raise ValueError("each area may appear once")
    table = areas.loc[:, list(INPUT_COLUMNS)].apply(pd.to_numeric).astype(float)
    negative = [column for column in INPUT_COLUMNS if (table[column] < 0).any()]
    if negative:
        raise ValueError(f"{', '.join(negative)} cannot be negative")
    over_one = [column for column in SHARES if (table[column] > 1).any()]
    if over_one:
        raise ValueError(f"{', '.join(over_one)} are shares from 0 to 1, not percentages")
    return table


def _extra_counts(*, extra: ExtraIndicator, areas: pd.Index) -> pd.Series:
    counts = pd.to_numeric(extra.counts).astype(float)
    if counts.index.has_duplicates:
        raise ValueError(f"{extra.name}: each area may appear once in its counts")
    strangers = counts.index.difference(areas)
    if len(strangers):  # a wrong code would otherwise pass as an area with no records
        raise ValueError(
            f"{extra.name}: counts for areas not in the partnership: "
            + ", ".join(str(code) for code in strangers[:5])
        )
    if (counts < 0).any():
        raise ValueError(f"{extra.name}: counts cannot be negative")
    # Counts grouped by area leave out the areas with none; an explicit blank stays unknown.
    return counts.reindex(areas, fill_value=0.0)


def _indexed(
    *, table: pd.DataFrame, indicator: VliIndicator
) -> tuple[pd.Series, pd.Series, list[pd.Series]]:
    """The indicator's rate and index per area, and why an area has none ("" if it has)."""
    value, denominator = table[indicator.name], table[indicator.denominator]
    has_denominator = denominator > 0  # False for NaN too
    usable = has_denominator & value.notna()
    # A score is already a share per resident: residents x score are the people it counts.
    records = value * denominator if indicator.score else value
    share = (records / denominator).where(usable)
    total_records, total_denominator = records[usable].sum(), denominator[usable].sum()
    blank = pd.Series("", index=table.index)
    why = [
        blank.mask(~has_denominator, indicator.denominator),
        blank.mask(value.isna(), indicator.name),
    ]
    if total_records > 0:
        index = share / (total_records / total_denominator) * 100
    else:  # no records anywhere: 0 / 0, not an index of 100 nor of 0
        index = pd.Series(float("nan"), index=table.index)
        why.append(blank.mask(usable, f"{indicator.name} (none in the partnership)"))
    return share * indicator.per, index, why


def _joined(reasons: list[pd.Series], *, index: pd.Index) -> pd.Series:
    """Per area, its reasons in indicator order, each once."""
    rows = zip(*reasons, strict=True) if reasons else ([] for _ in index)
    return pd.Series([", ".join(dict.fromkeys(r for r in row if r)) for row in rows], index=index)
