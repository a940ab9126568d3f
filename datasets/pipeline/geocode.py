"""The geocode stage: each location group of the validated rows placed on the National Grid
from the supplied coordinates, address or postcode; its warnings added to the report."""

from __future__ import annotations

from collections import Counter

from datasets.catalogue import primary_group
from datasets.pipeline.stages import (
    LATITUDE,
    LONGITUDE,
    REPORT_LIST_LIMIT,
    Claim,
    advance,
    chunks_with_progress,
)
from datasets.staging import StageWriter


def geocode(claim: Claim) -> None:
    from sanitise.geocode import LocationInput, geocode_frame
    from sanitise.reference import gazetteer_current

    schema = claim.schema
    gazetteer = gazetteer_current()
    area = gazetteer.area_for(
        claim.supply.agency.partnership.postcode_areas, name=str(claim.supply.agency.partnership)
    )
    primary = primary_group(schema)
    groups = [
        LocationInput.from_group(
            group,
            latitude=LATITUDE if group is primary else None,
            longitude=LONGITUDE if group is primary else None,
        )
        for group in schema.locations
    ]
    writer = StageWriter(claim.supply.pk, "geocoded", claim.data_key)
    warnings: list[dict] = []
    for chunk in chunks_with_progress(claim, "validated"):
        if groups and not chunk.empty:
            result = geocode_frame(chunk, groups=groups, gazetteer=gazetteer, area=area)
            chunk = chunk.join(result.frame)
            warnings.extend(result.errors + result.warnings)
        writer.write(chunk)
    writer.commit()
    report = dict(claim.supply.report)
    report["warnings"] = (report.get("warnings", []) + _plain(warnings))[:REPORT_LIST_LIMIT]
    counts = Counter(report.get("warning_counts", {}))
    counts.update(warning["code"] for warning in warnings)
    report["warning_counts"] = dict(counts)
    advance(claim, report=report)


def _plain(entries: list[dict]) -> list[dict]:
    """Report entries as JSON-ready values (row numbers from numpy become ints)."""
    return [
        {**entry, "row": int(entry["row"]) if entry.get("row") is not None else None}
        for entry in entries
    ]
