"""The supply's one pass: chunk by chunk, its rows checked, geocoded, sanitised and handed to
the loader, which COPYs them into the warehouse on the other core while the next chunk is
worked on; the file's whole-file checks then decide whether the load commits."""

from __future__ import annotations

from contextlib import closing

from datasets.pipeline.geocode import Geocoding
from datasets.pipeline.load import Loader
from datasets.pipeline.sanitise import Sanitising
from datasets.pipeline.stages import Claim
from datasets.pipeline.validate import FileCheck


def process(claim: Claim) -> None:
    from sanitise.areas import postcode_areas_current

    check = FileCheck(claim)
    geocoding = Geocoding(claim)
    sanitising = Sanitising(claim, geocoding.gazetteer)
    partnership = claim.supply.agency.partnership
    areas_lookup = postcode_areas_current(
        local_authorities=partnership.local_authorities,
        postcode_areas=partnership.postcode_areas,
    )
    # Closed however the pass ends, so that the file and its reading thread are let go.
    with Loader(claim, areas_lookup) as loader, closing(check.accepted()) as chunks:
        for accepted in chunks:
            loader.put(sanitising.sanitise(geocoding.place(accepted)))
            claim.progress(check.fraction_read())
        report, counts = check.outcome()
        report = {**geocoding.reported(report), "locations": dict(sanitising.location_counts)}
        loader.commit(report=report, counts=counts)
