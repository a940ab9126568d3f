"""Disclosure control: how much detail a permitted answer may carry. The access gate
(sharing.access) decides whose records and which fields; this decides what of them may leave.

- Users who may see a dataset's records get exact counts: a count tells them nothing the records
  do not. Aggregate-level users' counts are perturbed by cell key (perturbation), the same
  value for the same records on every route, over whole months only, broken down or filtered
  by coded fields only, and with no cell, row or column whose shown count is 0.
- Precise locations (the map's points and numbers, full postcodes) go only to record-level
  users at core-tier agencies; associate-tier record outputs are k-anonymous (kanonymity) and
  their maps and repeat locations no finer than their extracts.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import pandas as pd
from django.conf import settings

from datasets.catalogue import DatasetSchema, FieldSpec
from hub.choices import IspTier
from sharing.access import AccessDecision, RecordScope
from sharing.choices import AccessLevel
from sharing.disclosure.kanonymity import KAnonymity
from sharing.disclosure.perturbation import KEY_RANGE, perturbed, ptable, ptable_frame
from sharing.disclosure.tables import (
    OTHER_CODE,
    TOTAL,
    codes_only,
    count_table,
    released,
    without_zeros,
)
from sharing.records import category_fields

__all__ = [
    "COUNTS_ONLY", "KEY_RANGE", "OTHER_CODE", "RELEASE_HEADER", "TOTAL", "KAnonymity", "Release",
    "breakdown_fields", "category_values_invalid", "codes_only", "count_table", "counts_note",
    "counts_release", "extract_beyond_release", "month_area_counts", "perturbed",
    "period_invalid_for", "ptable", "ptable_frame", "release_for", "release_labelled",
    "release_of", "released",
]  # fmt: skip


@dataclass(frozen=True)
class Release:
    """What one answer about one dataset may carry for one user."""

    exact: bool  # exact counts: the user may see the records (depersonalised or personal)
    precise: bool  # points, full postcodes and the map's numbers: records, at a core-tier agency

    @property
    def k(self) -> int | None:
        """The k that record outputs must meet, if any: associate-tier record users'."""
        return settings.HUB_EXTRACT_K if self.exact and not self.precise else None

    @property
    def name(self) -> str:
        """How counts were released, as data routes label their answers (X-Hub-Release)."""
        return "exact" if self.exact else "perturbed"

    def joined(self, other: Release) -> Release:
        """The release of an answer drawing on both datasets: the lesser of the two."""
        return Release(exact=self.exact and other.exact, precise=self.precise and other.precise)


# What anyone who may only count receives: the release to fall back on when none is known.
COUNTS_ONLY = Release(exact=False, precise=False)

RELEASE_HEADER = "X-Hub-Release"


def release_labelled(response, release: Release):
    """The response, saying how its counts were released: every data route labels its answer,
    and the route matrix reads the label."""
    response[RELEASE_HEADER] = release.name
    return response


def release_for(scope: RecordScope) -> Release:
    """The release for what the scope's user holds of its dataset (not the level one answer
    asks for: a user with the records gains nothing from perturbed counts of them)."""
    return release_of(scope.decision, tier=scope.tier)


def release_of(decision: AccessDecision, *, tier: str) -> Release:
    """The release for a user's access decision on a dataset, at an agency of ``tier``."""
    records = decision.allows(AccessLevel.DEPERSONALISED)
    return Release(exact=records, precise=records and tier == IspTier.CORE)


def counts_release(decision: AccessDecision) -> Release:
    """The release of counts alone, where only the level matters (not the tier, which decides
    locations): for offering breakdowns before any answer is made."""
    return release_of(decision, tier=IspTier.NONE)


def breakdown_fields(schema: DatasetSchema, release: Release) -> list[str]:
    """Fields counts may be broken down or filtered by: any category for exact releases,
    coded fields only (enums, booleans, code lists) for the rest."""
    fields = category_fields(schema)
    if release.exact:
        return fields
    return [name for name in fields if schema.by_name[name].coded]


def month_area_counts(
    cells: pd.DataFrame, *, breakdown: FieldSpec | None, release: Release
) -> pd.DataFrame:
    """Records by month × area × the breakdown's values (``cells``: month, area, category,
    count, key_sum) with each month's totals, as ``release`` lets them be shown."""
    if not release.exact:
        cells = codes_only(cells, "category", breakdown)
    table = count_table(
        cells, within=("month",), rows="area", columns="category", exact=release.exact
    )
    return table if release.exact else without_zeros(table)


def area_values_shown(release: Release) -> bool:
    """Whether a choropleth and its table may carry counts and rates, or classes only: users
    short of exact locations (who may only count, or see records of an associate-tier
    agency) get each area's class, as on the hotspot map, since a rate puts a small count
    back together from a published denominator and an LSOA is smaller than the postcode
    sector their record outputs stop at."""
    return release.precise


def counts_note(release: Release) -> str:
    """What the counts shown under ``release`` are, in words."""
    if release.exact:
        return "Counts are exact: you may see these records."
    return (
        "Counts are perturbed: each has a little noise added (at most 3 either way, none on "
        "average, and never a 1 or a 2 shown), the same noise for the same records wherever "
        "they are counted. Totals are counted, not added up, so they may differ a little "
        "from the sum of their cells."
    )


def category_values_invalid(spec: FieldSpec, values: list[str], release: Release) -> str:
    """Why values asked for of a code-list field are refused, or "": users short of exact
    counts may name codes only, so that a count cannot test whether some text was typed."""
    if release.exact or not spec.code_pattern:
        return ""
    pattern = re.compile(spec.code_pattern)
    wrong = [value for value in values if not pattern.fullmatch(value)]
    if not wrong:
        return ""
    return f"{', '.join(repr(v) for v in wrong)} is not a {spec.code_list} code."


def extract_beyond_release(
    *,
    schema: DatasetSchema,
    level: str,
    category: str,
    period: tuple[datetime.date, datetime.date],
    area: dict | None,
    release: Release,
) -> str:
    """What an extract asks for that ``release`` does not allow, or "": checked when it is
    asked for and again when it is built (its maker may hold less by then)."""
    if level == AccessLevel.AGGREGATE:
        if category and category not in breakdown_fields(schema, release):
            return f"Counts cannot be broken down by {category!r}."
        problem = period_invalid_for(period, release)
        if problem:
            return problem
    if (area or {}).get("bbox") and not release.precise:
        # A box a few metres round one sanitised point would be a postcode, or a single record.
        return (
            "Your access gives no exact locations: name postcode districts as the area, not a box."
        )
    return area_invalid_for(area or {}, release)


# Areas smaller than a postcode sector (an LSOA has about 650 households), which the
# k-anonymity of record outputs generalises away (kanonymity: a sector keeps its ward).
FINE_AREAS = {"lsoas": "LSOA", "oas": "output area"}
FINE_AREA_KINDS = {"lsoa": "LSOA", "oa": "output area"}


def area_invalid_for(area: dict, release: Release) -> str:
    """Why naming these areas is refused under ``release``, or "": users who see records but
    not exact locations (associate tier) may not narrow exact counts, or an extract's row
    count, to an area smaller than a postcode sector. Perturbed counts may."""
    if not release.exact or release.precise:
        return ""
    fine = [words for key, words in FINE_AREAS.items() if area.get(key)]
    if not fine:
        return ""
    return (
        f"Your access gives no locations finer than a postcode sector, so not an {fine[0]}: "
        "name wards, MSOAs, local authorities or postcode districts."
    )


def area_kind_invalid_for(kind: str, release: Release) -> str:
    """Why counting by this kind of area is refused under ``release``, or "" (as
    area_invalid_for: no exact counts by areas smaller than a postcode sector without exact
    locations)."""
    if not release.exact or release.precise or kind not in FINE_AREA_KINDS:
        return ""
    return (
        "Your access gives no locations finer than a postcode sector: count by ward, MSOA, "
        f"local authority or postcode district, not by {FINE_AREA_KINDS[kind]}."
    )


def area_counts_release(release: Release) -> Release:
    """The release of figures by area that users short of exact locations see as classes
    only (area_values_shown): perturbed, so that neither a class nor an index rebuilt from a
    published denominator can give back an exact small count."""
    return release if release.precise else COUNTS_ONLY


def period_invalid_for(period: tuple[datetime.date, datetime.date], release: Release) -> str:
    """Why a period is refused for counts under ``release``, or "": perturbed counts cover
    whole months only, so that overlapping periods a day apart cannot be differenced."""
    start, end = period
    if release.exact or (start.day == 1 and (end + datetime.timedelta(days=1)).day == 1):
        return ""
    return (
        "Counts at your level are of whole months: start on the 1st and end on the last day "
        "of a month."
    )
