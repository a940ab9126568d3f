from functools import cached_property

from django.contrib.postgres.fields import ArrayField
from django.db import models

from datasets.catalogue import DatasetSchema, schema_from_descriptor
from datasets.choices import DatasetKind, DatasetTier
from hub.choices import AgencyType


class Dataset(models.Model):
    """A minimum dataset of the catalogue, kept in step with its schema file."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    section = models.CharField(max_length=20, blank=True)
    tier = models.CharField(max_length=20, choices=DatasetTier.choices)
    kind = models.CharField(max_length=30, choices=DatasetKind.choices)
    supplier_types = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    description = models.TextField(blank=True)
    descriptor = models.JSONField(help_text="The schema file as loaded.")
    schema_sha256 = models.CharField(max_length=64)
    # A schema file removed from the catalogue retires its dataset; supplies keep pointing at it.
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tier", "name"]

    def __str__(self):
        return self.name

    def supplier_labels(self) -> list[str]:
        return [AgencyType(agency_type).label for agency_type in self.supplier_types]

    @cached_property
    def schema(self) -> DatasetSchema:
        return schema_from_descriptor(self.descriptor, where=self.slug)
