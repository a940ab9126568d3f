"""Disclosure control: how much detail a permitted answer may carry. The access gate
(sharing.access) decides whose records and which fields; this decides what of them may leave.

- Users who may see a dataset's records at a core-tier agency get exact counts, points and full
  postcodes: nothing a count could tell them that the records do not.
- Everyone else's counts (aggregate level; associate-tier agencies) are perturbed by cell key
  (perturbation), the same value for the same records on every route, and broken down or
  filtered by coded fields only.
- Associate-tier record outputs are k-anonymous (kanonymity).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.conf import settings

from datasets.catalogue import DatasetSchema, FieldSpec
from hub.choices import IspTier
from sharing.access import AccessDecision, RecordScope
from sharing.choices import AccessLevel
from sharing.disclosure.kanonymity import KAnonymity
from sharing.disclosure.perturbation import KEY_RANGE, perturbed, ptable, ptable_frame
from sharing.disclosure.tables import OTHER_CODE, TOTAL, codes_only, count_table, released
from sharing.records import category_fields

__all__ = [
    "KEY_RANGE", "OTHER_CODE", "RELEASE_HEADER", "TOTAL", "KAnonymity", "Release", "breakdown_fields",
    "codes_only", "count_table", "counts_note", "month_area_counts", "perturbed", "ptable",
    "ptable_frame", "release_for", "release_labelled", "release_of", "released",
]  # fmt: skip


@dataclass(frozen=True)
class Release:
    """What one answer about one dataset may carry for one user."""

    records: bool  # individual (sanitised) records: depersonalised or personal level
    exact: bool  # exact counts, points and full postcodes: records, at a core-tier agency

    @property
    def k(self) -> int | None:
        """The k of the k-anonymity record outputs must meet, if any."""
        return settings.HUB_EXTRACT_K if self.records and not self.exact else None

    @property
    def name(self) -> str:
        """How counts were released, as data routes label their answers (X-Hub-Release)."""
        return "exact" if self.exact else "perturbed"

    def joined(self, other: Release) -> Release:
        """The release of an answer drawing on both datasets: the lesser of the two."""
        return Release(records=self.records and other.records, exact=self.exact and other.exact)


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
    return Release(records=records, exact=records and tier == IspTier.CORE)


def breakdown_fields(schema: DatasetSchema, release: Release) -> list[str]:
    """Fields counts may be broken down or filtered by: any category for exact releases,
    coded fields only (enums, booleans, code lists) for the rest."""
    fields = category_fields(schema)
    if release.exact:
        return fields
    specs = {spec.name: spec for spec in schema.fields}
    return [name for name in fields if specs[name].coded]


def month_area_counts(
    cells: pd.DataFrame, *, breakdown: FieldSpec | None, release: Release
) -> pd.DataFrame:
    """Records by month × area × the breakdown's values (``cells``: month, area, category,
    count, key_sum) with each month's totals, as ``release`` lets them be shown."""
    if not release.exact:
        cells = codes_only(cells, "category", breakdown)
    return count_table(
        cells, within=("month",), rows="area", columns="category", exact=release.exact
    )


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
