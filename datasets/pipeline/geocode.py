"""Geocoding: each location group of the accepted rows placed on the National Grid from the
supplied coordinates, address or postcode; its warnings added to the report."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from datasets.catalogue import primary_group
from datasets.pipeline.stages import LATITUDE, LONGITUDE, REPORT_LIST_LIMIT, Claim


class Geocoding:
    """Places chunk after chunk, keeping their warnings for the report."""

    def __init__(self, claim: Claim):
        from sanitise.geocode import LocationInput
        from sanitise.reference import gazetteer_current

        self.gazetteer = gazetteer_current()
        partnership = claim.supply.agency.partnership
        self._area = self.gazetteer.area_for(partnership.postcode_areas, name=str(partnership))
        primary = primary_group(claim.schema)
        self._groups = [
            LocationInput.from_group(
                group,
                latitude=LATITUDE if group is primary else None,
                longitude=LONGITUDE if group is primary else None,
            )
            for group in claim.schema.locations
        ]
        # The first warnings, as many as the report lists, and a count of every one.
        self._warnings: list[dict] = []
        self._warning_counts: Counter = Counter()

    def place(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """The chunk with each location group's point and how it was found."""
        from sanitise.geocode import geocode_frame

        if not self._groups:
            return chunk
        result = geocode_frame(
            chunk, groups=self._groups, gazetteer=self.gazetteer, area=self._area
        )
        found = result.errors + result.warnings
        self._warning_counts.update(warning["code"] for warning in found)
        self._warnings.extend(found[: REPORT_LIST_LIMIT - len(self._warnings)])
        return chunk.join(result.frame)

    def reported(self, report: dict) -> dict:
        """The report with geocoding's warnings added to the file check's."""
        counts = Counter(report.get("warning_counts", {})) + self._warning_counts
        listed = report.get("warnings", []) + _plain(self._warnings)
        return {**report, "warnings": listed[:REPORT_LIST_LIMIT], "warning_counts": dict(counts)}


def _plain(entries: list[dict]) -> list[dict]:
    """Report entries as JSON-ready values (row numbers from numpy become ints)."""
    return [
        {**entry, "row": int(entry["row"]) if entry.get("row") is not None else None}
        for entry in entries
    ]
