"""The supply's one pass: chunk by chunk, its rows checked, geocoded, sanitised and handed to
the loader, which COPYs them into the warehouse on the other core while the next chunk is
worked on; the file's whole-file checks then decide whether the load commits."""

from __future__ import annotations

from contextlib import closing

from datasets.pipeline.geocode import Geocoding
from datasets.pipeline.load import Loader, overlap_problem, overlapping_supply
from datasets.pipeline.sanitise import Sanitising
from datasets.pipeline.stages import Claim, SupplyRejected
from datasets.pipeline.validate import FileCheck


def process(claim: Claim) -> None:
    from sanitise.areas import area_lookup_version, postcode_areas_current

    # Refused before the file is read: a period that overlaps another supply's cannot load
    # whatever the file holds. (The load checks again as it commits.)
    overlap = overlapping_supply(claim.supply)
    if overlap is not None:
        raise SupplyRejected([overlap_problem(claim.supply, overlap)])
    check = FileCheck(claim)
    geocoding = Geocoding(claim)
    sanitising = Sanitising(claim, geocoding.gazetteer)
    partnership = claim.supply.agency.partnership
    # The version first: a lookup imported in between is then caught as the load commits.
    areas_version = area_lookup_version()
    areas_lookup = postcode_areas_current(
        local_authorities=partnership.local_authorities,
        postcode_areas=partnership.postcode_areas,
    )
    loader = Loader(claim, areas_lookup, areas_version=areas_version)
    # Closed however the pass ends, so that the file and its reading thread are let go.
    with loader, closing(check.accepted()) as chunks:
        for accepted in chunks:
            if not accepted.empty:
                loader.put(sanitising.sanitise(geocoding.place(accepted)))
            claim.progress(check.fraction_read())
        report, counts = check.outcome()
        report = {**geocoding.reported(report), "locations": dict(sanitising.location_counts)}
        loader.commit(report=report, counts=counts)
