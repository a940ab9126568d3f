"""A chunk of sanitised records as the warehouse's columns: the records' common columns, each
dataset's typed fields, the areas of the sanitised postcode and each record's key for
cell-key perturbation."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from datasets import copytext, storage
from datasets.catalogue import DatasetSchema, primary_group
from datasets.choices import LocationMethod
from datasets.models import RECORD_KEY_RANGE
from datasets.pipeline.stages import EVENT_DATE, EVENT_TIME, Claim
from datasets.storage import FIELD_PREFIX, stored_columns
from sanitise.areas import AREA_COLUMNS, areas_of_postcodes

# The records' common columns; each dataset's fields follow (datasets.storage).
COMMON_COLUMNS = [
    "partnership_id",
    "dataset_id",
    "supply_id",
    "row_number",
    "event_date",
    "event_time",
    "easting",
    "northing",
    "postcode",
    "location_method",
    *AREA_COLUMNS,
    "record_key",
]


def record_columns(schema: DatasetSchema) -> list[str]:
    """The columns a dataset's records are COPYed into: the common ones, then its fields'."""
    return COMMON_COLUMNS + [FIELD_PREFIX + name for name in stored_columns(schema)]


def record_table(claim: Claim, lookup: pd.DataFrame, records: pd.DataFrame) -> pa.Table:
    """One chunk of sanitised records as the warehouse table's columns (record_columns), each
    with the areas of its sanitised postcode from ``lookup`` (sanitise.areas)."""
    primary = primary_group(claim.schema)
    role = primary.role if primary else None
    typed = {
        "easting": f"{role}_easting",
        "northing": f"{role}_northing",
        "postcode": f"{role}_postcode",
        "location_method": f"{role}_location_method",
    }
    count = len(records)

    def located(column: str) -> pd.Series:
        source = typed[column]
        if role and source in records:
            return records[source]
        return pd.Series(None, index=records.index, dtype=object)

    def metres(column: str) -> pa.Array:
        rounded = pd.to_numeric(located(column)).round().astype("Int64")
        return pa.array(rounded, type=pa.int64(), from_pandas=True)

    def text(values: pd.Series, missing: str | None = None) -> pa.Array:
        array = pa.array(values, type=pa.string(), from_pandas=True)
        return array if missing is None else pc.fill_null(array, missing)

    event_dates = pa.array(pd.to_datetime(records[EVENT_DATE]), from_pandas=True)
    rest = records.drop(
        columns=[EVENT_DATE, EVENT_TIME, *(c for c in typed.values() if c in records)]
    )
    fields = stored_columns(claim.schema)
    unstored = sorted(set(rest.columns) - set(fields))
    if unstored:
        # Sanitisation kept what the storage has no column for: stop rather than drop it.
        raise ValueError(f"{claim.schema.slug}: no column stores {', '.join(unstored)}")
    columns = {
        "partnership_id": pa.repeat(claim.supply.agency.partnership_id, count),
        "dataset_id": pa.repeat(claim.supply.dataset_id, count),
        "supply_id": pa.repeat(str(claim.supply.pk), count),
        "row_number": pa.array(records.index, type=pa.int64()),
        "event_date": pc.cast(event_dates, options=copytext.TO_DATE),
        "event_time": text(records[EVENT_TIME]),
        "easting": metres("easting"),
        "northing": metres("northing"),
        "postcode": text(located("postcode"), ""),
        "location_method": text(located("location_method"), LocationMethod.UNLOCATED),
    }
    areas = areas_of_postcodes(lookup, located("postcode"))
    columns.update({column: text(areas[column]) for column in AREA_COLUMNS})
    for name, kind in fields.items():
        values = rest[name] if name in rest else pd.Series(None, index=records.index)
        columns[FIELD_PREFIX + name] = storage.copy_values(values, kind)
    columns["record_key"] = record_keys(columns, [FIELD_PREFIX + name for name in fields])
    names = record_columns(claim.schema)
    return pa.table([columns[name] for name in names], names=names)


def record_keys(columns: dict[str, pa.Array], field_columns: list[str]) -> pa.Array:
    """Each record's key for cell-key perturbation (sharing.disclosure): SipHash, keyed by the
    hub's perturbation secret, of what the record says, modulo RECORD_KEY_RANGE. Uniform and
    unpredictable without the secret like a random key, but the same for the same record when
    a period is supplied again, so a re-supply gives its cells no fresh noise to average."""
    content = pc.binary_join_element_wise(
        *(
            pc.cast(columns[name], pa.string())
            for name in ("dataset_id", "event_date", "event_time", "postcode", *field_columns)
        ),
        "\x1f",
        null_handling="replace",
        null_replacement="",
    )
    hashes = pd.util.hash_pandas_object(
        content.to_pandas(), index=False, hash_key=_record_key_secret()
    )
    return pa.array((hashes.to_numpy() % RECORD_KEY_RANGE).astype("int16"))


def _record_key_secret() -> str:
    """The 16-character SipHash key pandas takes, derived from HUB_PERTURBATION_KEY."""
    derived = hmac.new(
        settings.HUB_PERTURBATION_KEY.encode(), b"csp-hub record keys v1", hashlib.sha256
    ).digest()
    return base64.b64encode(derived[:12]).decode()
