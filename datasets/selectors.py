"""Reads of the catalogue."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from datasets.models import Dataset


def dataset_list() -> QuerySet[Dataset]:
    """The datasets in the current catalogue. Field names are not personal data: any signed-in
    user may read them; access to records is decided per dataset elsewhere."""
    return Dataset.objects.filter(is_active=True)


def dataset_get(*, slug: str) -> Dataset:
    try:
        return dataset_list().get(slug=slug)
    except Dataset.DoesNotExist as error:
        raise Http404("No such dataset.") from error


def template_header(*, dataset: Dataset) -> list[str]:
    """The header row of the dataset's CSV template: its field names, in schema order."""
    return dataset.schema.field_names
