"""Writes to the catalogue: the Dataset rows made to match the schema files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from datasets.catalogue import SCHEMA_DIR, read_catalogue
from datasets.models import Dataset
from datasets.storage import storage_sync
from hub.audit import HUB_WIDE
from hub.choices import AuditAction
from hub.models import User
from hub.services import audit_record


@dataclass
class CatalogueSyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)


def _sha256(descriptor: dict) -> str:
    canonical = json.dumps(descriptor, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def catalogue_sync(
    *, acting_user: User | None = None, directory: Path = SCHEMA_DIR, system: str = ""
) -> CatalogueSyncResult:
    """Make the Dataset rows match the schema files: idempotent, all or nothing.

    A dataset whose file is gone is retired, not deleted, so that supplies keep their dataset.
    The records table gains the columns new fields need (datasets.storage). Raises
    CatalogueError, naming the file, before anything changes if any file is invalid.
    """
    schemas = read_catalogue(directory)
    storage_sync(schemas)
    existing = {dataset.slug: dataset for dataset in Dataset.objects.select_for_update()}
    result = CatalogueSyncResult()
    for schema in schemas:
        values = {
            "name": schema.name,
            "section": schema.section,
            "tier": schema.tier,
            "kind": schema.kind,
            "supplier_types": list(schema.suppliers),
            "description": schema.description,
            "descriptor": schema.descriptor,
            "schema_sha256": _sha256(schema.descriptor),
            "is_active": True,
        }
        dataset = existing.get(schema.slug)
        if dataset is None:
            Dataset.objects.create(slug=schema.slug, **values)
            result.created.append(schema.slug)
        elif dataset.schema_sha256 != values["schema_sha256"] or not dataset.is_active:
            Dataset.objects.filter(pk=dataset.pk).update(**values)
            result.updated.append(schema.slug)
        else:
            result.unchanged.append(schema.slug)
    listed = {schema.slug for schema in schemas}
    for slug, dataset in existing.items():
        if slug not in listed and dataset.is_active:
            Dataset.objects.filter(pk=dataset.pk).update(is_active=False)
            result.retired.append(slug)
    if result.changed:
        audit_record(
            actor=acting_user,
            action=AuditAction.CATALOGUE_SYNC,
            partnership=HUB_WIDE,  # the catalogue is every partnership's, whoever synced it
            detail={
                "created": result.created,
                "updated": result.updated,
                "retired": result.retired,
            },
            system=system,
        )
    return result
