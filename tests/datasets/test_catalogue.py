import json
import shutil

import pytest

from datasets.catalogue import SCHEMA_DIR, CatalogueError, read_catalogue
from datasets.models import Dataset
from datasets.services.catalogue import catalogue_sync
from hub.models import AuditEntry
from tests.datasets.expected_catalogue import EXPECTED_CATALOGUE


def test_every_dataset_and_field_of_the_catalogue_is_in_the_schema_files():
    schemas = {schema.slug: schema for schema in read_catalogue()}
    assert sorted(schemas) == sorted(EXPECTED_CATALOGUE)
    for slug, expected in EXPECTED_CATALOGUE.items():
        schema = schemas[slug]
        assert (schema.tier, schema.kind) == (expected["tier"], expected["kind"]), slug
        actual_fields = {f.name: (f.field_class, f.required) for f in schema.fields}
        assert actual_fields == expected["fields"], slug
        assert schema.field_names == list(expected["fields"]), f"{slug}: field order"


def test_location_groups_name_fields_of_their_own_dataset_and_classes_follow_the_role():
    for schema in read_catalogue():
        classes = {field.name: field.field_class for field in schema.fields}
        for group in schema.locations:
            for member in (group.easting, group.northing, group.address):
                if member is not None and group.role in ("event", "home"):
                    assert classes[member] == "identifying", (schema.slug, member)
                if member is not None and group.role == "site":
                    assert classes[member] == "attribute", (schema.slug, member)


def test_every_dataset_names_who_supplies_it_and_every_field_explains_itself():
    for schema in read_catalogue():
        assert schema.suppliers, schema.slug
        assert schema.description, schema.slug
        for field in schema.fields:
            assert field.description, (schema.slug, field.name)


def test_every_record_is_dated_by_its_own_field_a_linked_record_or_the_supply_period():
    for schema in read_catalogue():
        date_fields = [
            f.name for f in schema.fields if f.type == "date" and f.name != "date_of_birth"
        ]
        if schema.event_date is None:
            # No date of its own: the offence it links to, else the supply's period start.
            assert schema.links or not date_fields, schema.slug
        else:
            assert schema.event_date in date_fields, schema.slug
    offender = next(s for s in read_catalogue() if s.slug == "police_crime_offender")
    assert offender.links == ((("crime_ref",), "police_crime_offence"),)


@pytest.mark.django_db
def test_sync_loads_every_schema_and_running_it_again_changes_nothing():
    first = catalogue_sync()
    assert sorted(first.created) == sorted(EXPECTED_CATALOGUE)
    assert Dataset.objects.filter(is_active=True).count() == len(EXPECTED_CATALOGUE)
    audit_count = AuditEntry.objects.count()

    second = catalogue_sync()

    assert not second.changed
    assert sorted(second.unchanged) == sorted(EXPECTED_CATALOGUE)
    assert AuditEntry.objects.count() == audit_count


@pytest.fixture
def schema_dir(tmp_path):
    directory = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, directory)
    return directory


@pytest.mark.django_db
def test_an_edited_schema_updates_its_dataset_and_a_removed_one_retires_it(schema_dir):
    catalogue_sync(directory=schema_dir)
    path = schema_dir / "fire_incident.json"
    descriptor = json.loads(path.read_text())
    descriptor["title"] = "Fire and rescue incidents (revised)"
    path.write_text(json.dumps(descriptor))
    (schema_dir / "bus_incident.json").unlink()

    result = catalogue_sync(directory=schema_dir)

    assert result.updated == ["fire_incident"]
    assert result.retired == ["bus_incident"]
    assert Dataset.objects.get(slug="fire_incident").name == "Fire and rescue incidents (revised)"
    assert not Dataset.objects.get(slug="bus_incident").is_active
    entry = AuditEntry.objects.filter(action="catalogue_sync").first()
    assert entry.detail["retired"] == ["bus_incident"]


@pytest.mark.django_db
def test_a_new_dataset_is_a_new_schema_file_and_no_migration(schema_dir):
    descriptor = json.loads((schema_dir / "police_detection.json").read_text())
    descriptor["name"] = "police_outcome"
    descriptor["title"] = "Police outcomes"
    (schema_dir / "police_outcome.json").write_text(json.dumps(descriptor))

    result = catalogue_sync(directory=schema_dir)

    assert "police_outcome" in result.created
    assert Dataset.objects.get(slug="police_outcome").schema.field_names == [
        "crime_ref",
        "ho_offence_code",
        "detection_status",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["fields"][0].update({"class": "secret"}), "class must be one of"),
        (lambda d: d["fields"][0].update({"type": "float"}), "type must be one of"),
        (lambda d: d.update({"tier": "gold"}), "tier must be one of"),
        (lambda d: d["locations"][0].update({"postcode": "post_code"}), "is not a field"),
        (lambda d: d.update({"primaryKey": ["nothing"]}), "primaryKey names a field"),
        (lambda d: d.update({"suppliers": ["bank"]}), "unknown supplier agency types"),
        (lambda d: d.update({"eventDate": "incident_ref"}), "eventDate must name a date field"),
        (lambda d: d["fields"].append(dict(d["fields"][0])), "field names must be unique"),
    ],
)
def test_an_invalid_schema_file_is_named_and_nothing_changes(schema_dir, change, message):
    catalogue_sync(directory=schema_dir)
    before = {d.slug: d.schema_sha256 for d in Dataset.objects.all()}
    path = schema_dir / "police_incident.json"
    descriptor = json.loads(path.read_text())
    change(descriptor)
    path.write_text(json.dumps(descriptor))
    (schema_dir / "fire_incident.json").unlink()

    with pytest.raises(CatalogueError, match=message) as error:
        catalogue_sync(directory=schema_dir)

    assert "police_incident.json" in str(error.value)
    assert {d.slug: d.schema_sha256 for d in Dataset.objects.filter(is_active=True)} == before


def test_a_file_whose_name_and_slug_differ_is_refused(schema_dir):
    shutil.copy(schema_dir / "police_incident.json", schema_dir / "incidents.json")
    with pytest.raises(CatalogueError, match="must match the file name"):
        read_catalogue(schema_dir)


def ho_code_list(schema_dir) -> tuple:
    """The police offence schema file, its descriptor and its Home Office codeList."""
    path = schema_dir / "police_crime_offence.json"
    descriptor = json.loads(path.read_text())
    field = next(f for f in descriptor["fields"] if f["name"] == "ho_offence_code")
    return path, descriptor, field["codeList"]


def test_the_police_home_office_codes_are_normalised_and_checked_against_the_published_list():
    for schema in read_catalogue():
        for spec in schema.fields:
            if spec.name == "ho_offence_code":
                assert spec.code_rule == "home_office_offence", schema.slug
                # The list's codes in their normal form: ONS's "4.10" is 4/10.
                assert {"8N", "105A", "28E", "58J", "4/10", "37/1", "802"} <= spec.code_values
                assert len(spec.code_values) == 139 and "4.10" not in spec.code_values


def test_another_dataset_reuses_a_code_list_from_its_schema_file_alone(schema_dir):
    _, _, code_list = ho_code_list(schema_dir)
    path = schema_dir / "police_incident.json"
    descriptor = json.loads(path.read_text())
    descriptor["fields"].append({
        "name": "offence_code", "title": "Offence code", "description": "HO code.",
        "type": "string", "class": "attribute", "codeList": code_list,
    })  # fmt: skip
    path.write_text(json.dumps(descriptor))

    schemas = {schema.slug: schema for schema in read_catalogue(schema_dir)}

    (spec,) = [f for f in schemas["police_incident"].fields if f.name == "offence_code"]
    (offence,) = [f for f in schemas["police_crime_offence"].fields if f.name == "ho_offence_code"]
    assert (spec.code_rule, spec.code_values) == (offence.code_rule, offence.code_values)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update({"normalise": "home_office"}), "normalise 'home_office' is not a rule"),
        (lambda c: c.update({"value": "ho_offence_codes.csv"}), "unknown keys \\['value'\\]"),
        (lambda c: c.update({"values": "../police_incident.json"}), "must be the name of a .csv"),
        (lambda c: c.update({"values": "Codes.CSV"}), "must be the name of a .csv"),
        (lambda c: c.update({"values": "nowhere.csv"}), "'nowhere.csv' is not in codelists/"),
        (lambda c: c.update({"pattern": "^(?<=x)[0-9]+$"}), "pattern is not a regular expression"),
    ],
)
def test_a_bad_code_list_descriptor_is_refused_naming_the_file(schema_dir, change, message):
    path, descriptor, code_list = ho_code_list(schema_dir)
    change(code_list)
    path.write_text(json.dumps(descriptor))

    with pytest.raises(CatalogueError, match=message) as error:
        read_catalogue(schema_dir)

    assert "police_crime_offence.json, field 'ho_offence_code'" in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("# A list\ncode,name\n8N,Assault with injury\nBurglary,Burglary\n", "'Burglary'"),
        ("code,name\n8N,Assault with injury\n008/N,Assault with injury\n", "more than once: 8N"),
        ("code\n8N\n", "code and name columns"),
        ("# Nothing yet\ncode,name\n", "no codes"),
    ],
)
def test_a_values_file_that_is_not_a_code_list_is_refused(schema_dir, content, message):
    path, descriptor, code_list = ho_code_list(schema_dir)
    (schema_dir / "codelists" / "local_codes.csv").write_text(content)
    code_list["values"] = "local_codes.csv"
    path.write_text(json.dumps(descriptor))

    with pytest.raises(CatalogueError, match=message) as error:
        read_catalogue(schema_dir)

    assert "police_crime_offence.json" in str(error.value)
    assert "local_codes.csv" in str(error.value)
