"""The records' typed field columns (datasets.storage): one for every field a record keeps,
none for what sanitisation withholds, added from the schema files, and the migration that
moved the fields out of JSON and back."""

from __future__ import annotations

import copy
import datetime
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from datasets.catalogue import (
    PERSONAL_ROLES,
    CatalogueError,
    read_catalogue,
    schema_from_descriptor,
)
from datasets.choices import FieldClass
from datasets.models import Dataset, Record
from datasets.storage import FIELD_PREFIX, storage_sync, stored_columns
from sharing.records import category_fields, record_fields
from tests.conftest import supply_row
from tests.records import record_fields as fields_of

CATALOGUE = read_catalogue()


def columns_of_table() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'datasets_record'::regclass AND attnum > 0 AND NOT attisdropped"
        )
        return dict(cursor.fetchall())


@pytest.mark.parametrize("schema", CATALOGUE, ids=[schema.slug for schema in CATALOGUE])
def test_every_field_an_extract_a_count_or_a_link_reads_is_stored(schema):
    stored = stored_columns(schema)

    assert set(record_fields(schema)) <= set(stored)
    assert set(category_fields(schema)) <= set(stored)
    assert {fields[0] for fields, _ in schema.links} <= set(stored)


@pytest.mark.parametrize("schema", CATALOGUE, ids=[schema.slug for schema in CATALOGUE])
def test_no_identifying_field_is_stored_but_a_street_or_a_safe_postcode(schema):
    made_safe = {group.address for group in schema.locations} | {
        group.postcode for group in schema.locations if group.role in PERSONAL_ROLES
    }

    for name in stored_columns(schema):
        spec = schema.by_name.get(name)
        if spec is not None and spec.field_class == FieldClass.IDENTIFYING:
            assert name in made_safe, f"{schema.slug}.{name} would be stored as supplied"
    assert not {"surname", "forename", "first_name", "date_of_birth"} & set(stored_columns(schema))


@pytest.mark.django_db
def test_the_test_database_has_a_typed_column_for_every_stored_field():
    table = columns_of_table()

    for schema in CATALOGUE:
        for name, kind in stored_columns(schema).items():
            assert table[FIELD_PREFIX + name] == kind


def with_fields(slug: str, *fields: dict, links: list | None = None):
    descriptor = copy.deepcopy(next(s for s in CATALOGUE if s.slug == slug).descriptor)
    descriptor["fields"] += list(fields)
    if links is not None:
        descriptor["foreignKeys"] = links
    return schema_from_descriptor(descriptor, where=slug)


@pytest.mark.django_db
def test_a_new_field_gets_its_typed_column_once_and_a_link_field_its_index():
    schema = with_fields(
        "police_crime_victim",
        {"name": "contact_date", "type": "date", "class": "attribute"},
        {"name": "case_ref", "type": "string", "class": "reference"},
        links=[{"fields": ["case_ref"], "reference": {"resource": "police_crime_offence",
                                                     "fields": ["crime_ref"]}}],
    )  # fmt: skip

    added = storage_sync([schema])

    assert added == ["f_contact_date", "f_case_ref"]
    assert columns_of_table()["f_contact_date"] == "date"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'record_link_case_ref'")
        assert "(dataset_id, f_case_ref)" in cursor.fetchone()[0]
    assert storage_sync([schema]) == []


@pytest.mark.django_db
def test_a_field_named_as_another_of_a_different_type_is_refused_naming_both():
    victims = with_fields("police_crime_victim")
    schema = with_fields("fire_incident", {"name": "ethnicity", "type": "date", "class": "quasi"})

    refused = "fire_incident: the field ethnicity is date here but text in police_crime_victim"
    with pytest.raises(CatalogueError, match=refused):
        storage_sync([victims, schema])
    assert "f_ethnicity" in columns_of_table()


# The last migration before the records' fields had columns of their own.
BEFORE_COLUMNS = ("datasets", "0014_record_areas")


def victims_supply(personas):
    police = personas["police_supplier"].memberships.get().agency
    return supply_row(
        dataset=Dataset.objects.get(slug="police_crime_victim"), agency=police,
        uploaded_by=personas["police_supplier"], period_start=datetime.date(2026, 5, 1),
        period_end=datetime.date(2026, 5, 31), status="completed",
    )  # fmt: skip


def json_record_insert(supply, fields: dict) -> int:
    """A record as the table held one at BEFORE_COLUMNS: its fields as JSON."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datasets_record (partnership_id, dataset_id, supply_id, row_number, "
            "event_date, postcode, location_method, data) VALUES "
            "(%s, %s, %s, 2, '2026-05-03', 'WN1 1AA', 'centroid', %s) RETURNING id",
            [supply.agency.partnership_id, supply.dataset_id, supply.pk, json.dumps(fields)],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_json_fields_into_typed_columns_and_back(personas):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    supply = victims_supply(personas)
    fields = {"crime_ref": "CR1", "age": 34.0, "gender": "F", "occupation": "Nurse"}
    try:
        executor.migrate([BEFORE_COLUMNS])
        record_id = json_record_insert(supply, fields)
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

        assert fields_of(record_id) == {
            "crime_ref": "CR1", "age": 34, "gender": "F", "occupation": "Nurse",
        }  # fmt: skip
        assert "data" not in columns_of_table()

        executor = MigrationExecutor(connection)
        executor.migrate([BEFORE_COLUMNS])
        with connection.cursor() as cursor:
            cursor.execute("SELECT data FROM datasets_record WHERE id = %s", [record_id])
            back = json.loads(cursor.fetchone()[0])
        assert {key: value for key, value in back.items() if value is not None} == {
            "crime_ref": "CR1", "age": 34, "gender": "F", "occupation": "Nurse",
        }  # fmt: skip
        assert not any(name.startswith(FIELD_PREFIX) for name in columns_of_table())
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert Record.objects.filter(pk=record_id).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_rather_than_lose_a_field_the_schema_does_not_store(personas):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    supply = victims_supply(personas)
    try:
        executor.migrate([BEFORE_COLUMNS])
        json_record_insert(supply, {"shoe_size": 9})
        executor = MigrationExecutor(connection)
        with pytest.raises(RuntimeError, match="police_crime_victim hold fields its schema does "
                                               "not store: shoe_size"):  # fmt: skip
            executor.migrate(latest)
        with connection.cursor() as cursor:
            cursor.execute("SELECT data ->> 'shoe_size' FROM datasets_record")
            assert cursor.fetchall() == [("9",)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM datasets_record")
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_a_link_on_a_column_already_there_gets_its_index_back():
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX record_link_crime_ref")

    assert storage_sync(CATALOGUE) == []

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'record_link_crime_ref'")
        assert cursor.fetchone() == (1,)


def test_a_field_name_too_long_for_its_column_is_refused():
    long_name = "a" * 61

    with pytest.raises(CatalogueError, match="field names are at most 60 characters"):
        with_fields("fire_incident", {"name": long_name, "type": "string", "class": "attribute"})
