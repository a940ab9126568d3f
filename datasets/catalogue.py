"""The minimum-dataset catalogue: declarative schema files, read and checked.

Each file in ``datasets/schemas/`` is a Frictionless Table Schema with the hub's own keys:
``tier``, ``kind``, ``suppliers`` (agency types), ``section``, ``locations`` (location groups),
``dateTimes`` (a column holding a date and a time, split into a date field and a time field),
``xmlSubmission`` (the header elements of the dataset's XML submission format, if it has one)
and, on fields, ``class`` and ``aliases``. Adding a dataset is adding a file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from datasets.choices import DatasetKind, DatasetTier, FieldClass, FieldType, LocationRole
from datasets.codelists import (
    CODE_LIST_DIR,
    RULES,
    CodeListError,
    code_list_path,
    read_code_list,
)
from hub.choices import AgencyType

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
LOCATION_MEMBERS = ("address", "postcode", "easting", "northing")
_SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")
# A field's column is f_<name> (datasets.storage), within PostgreSQL's 63-character names.
FIELD_NAME_MAX = 60


class CatalogueError(ValueError):
    """A schema file that does not describe a dataset the hub can use."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    title: str
    description: str
    type: str
    required: bool
    field_class: str
    enum: tuple[str, ...]
    aliases: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    # Spellings a supplier may use for an allowed value ("Male" for "M").
    value_aliases: tuple[tuple[str, str], ...] = ()
    true_values: tuple[str, ...] = ("true", "1")
    false_values: tuple[str, ...] = ("false", "0")
    # A published code list the values come from ("codeList": {"name", "pattern"}): what the
    # pattern (a regular expression, matched whole) does not match is not a code. With
    # "normalise", a rule of datasets.codelists.RULES writes each code one way before it is
    # checked and stored; with "values", a file of the list's codes (in their normal form
    # here), a code not on it is loaded with a warning.
    code_list: str = ""
    code_pattern: str = ""
    code_rule: str = ""
    code_values: frozenset[str] = frozenset()

    @property
    def coded(self) -> bool:
        """Values from a closed set: an enum, a boolean or a published code list."""
        return bool(self.enum) or self.type == "boolean" or bool(self.code_pattern)


@dataclass(frozen=True)
class DateTimeColumn:
    """A column that gives a date and a time in one value ("ASSAULT DATE AND TIME"), read into
    a date field and a time field; ``aliases`` are its names."""

    date: str
    time: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class XmlSubmission:
    """A dataset's XML submission format: its name, and the names its submission header gives
    the reporting period's first and last days and the site (each a tuple of spellings). Its
    records' elements are the fields' aliases."""

    name: str
    period_start: tuple[str, ...]
    period_end: tuple[str, ...]
    site_code: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocationGroup:
    role: str
    address: str | None
    postcode: str | None
    easting: str | None
    northing: str | None


@dataclass(frozen=True)
class DatasetSchema:
    slug: str
    name: str
    section: str
    tier: str
    kind: str
    suppliers: tuple[str, ...]
    description: str
    fields: tuple[FieldSpec, ...]
    locations: tuple[LocationGroup, ...]
    primary_key: tuple[str, ...]
    # The field that dates a record (None: it takes its linked record's date, else the period's).
    event_date: str | None
    event_time: str | None
    # Its records describe something ongoing (a treatment episode, a site) whose date may be
    # long before the period supplied, so only dates after the period are out of place.
    ongoing: bool
    # (local fields, dataset slug) for each foreignKey: how a record links to another dataset.
    links: tuple[tuple[tuple[str, ...], str], ...]
    descriptor: dict
    date_times: tuple[DateTimeColumn, ...] = ()
    xml_submission: XmlSubmission | None = None

    @property
    def field_names(self) -> list[str]:
        return [field.name for field in self.fields]

    @cached_property
    def by_name(self) -> dict[str, FieldSpec]:
        """Each field, by its name."""
        return {spec.name: spec for spec in self.fields}

    def title_of(self, name: str) -> str:
        """A field's title, as people read it ("Drugs involved", not flag_drugs); a name that
        is not a field (a column the hub adds) as it is."""
        spec = self.by_name.get(name)
        return spec.title if spec else name


# Location roles that are someone's place: sanitisation moves or withholds their address,
# postcode and coordinates (sanitise.services); a site is not moved.
PERSONAL_ROLES = (LocationRole.EVENT, LocationRole.HOME)


def withheld_fields(schema: DatasetSchema) -> set[str]:
    """The fields sanitisation never keeps as supplied: the identifying ones, and the address,
    postcode and coordinates of a location that is someone's."""
    withheld = {spec.name for spec in schema.fields if spec.field_class == FieldClass.IDENTIFYING}
    for group in schema.locations:
        if group.role in PERSONAL_ROLES:
            withheld |= {group.address, group.postcode, group.easting, group.northing} - {None}
    return withheld


def primary_group(schema: DatasetSchema) -> LocationGroup | None:
    """The location a record is mapped and extracted by: where it happened, else the home,
    else the site."""
    by_role = {group.role: group for group in schema.locations}
    return by_role.get("event") or by_role.get("home") or by_role.get("site")


def _check(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise CatalogueError(f"{where}: {message}")


CODE_LIST_KEYS = {"name", "pattern", "normalise", "values"}


def _check_code_list(code_list: dict, where: str, code_lists: Path) -> frozenset[str]:
    """Check a field's codeList; the codes of its values file, if it names one."""
    _check(
        isinstance(code_list, dict) and bool(code_list.get("name")), where,
        "codeList needs the list's name and a pattern its codes match",
    )  # fmt: skip
    unknown = sorted(set(code_list) - CODE_LIST_KEYS)
    _check(not unknown, where, f"codeList has unknown keys {unknown}: use {sorted(CODE_LIST_KEYS)}")
    pattern = code_list.get("pattern", "")
    _check(bool(pattern) and isinstance(pattern, str), where, "codeList needs a pattern")
    try:
        re.compile(pattern)
        # Validation matches whole columns with Arrow's (RE2) engine, which must read it too.
        pc.match_substring_regex(pa.array([""]), pattern)
    except (re.error, pa.ArrowInvalid) as error:
        _check(False, where, f"codeList's pattern is not a regular expression: {error}")
    rule = code_list.get("normalise", "")
    _check(
        rule == "" or rule in RULES,
        where,
        f"codeList normalise {rule!r} is not a rule the hub knows: use one of {sorted(RULES)}",
    )
    if "values" not in code_list:
        return frozenset()
    try:
        path = code_list_path(code_list["values"], code_lists)
        return read_code_list(path, rule=rule, pattern=pattern)
    except CodeListError as error:
        raise CatalogueError(f"{where}: {error}") from error


def _field_from_descriptor(descriptor: dict, where: str, code_lists: Path) -> FieldSpec:
    name = descriptor.get("name", "")
    where = f"{where}, field {name!r}"
    _check(bool(_SNAKE_CASE.fullmatch(name)), where, "field names are lower-case snake_case")
    _check(
        len(name) <= FIELD_NAME_MAX, where, f"field names are at most {FIELD_NAME_MAX} characters"
    )
    _check(
        descriptor.get("type") in FieldType.values, where, f"type must be one of {FieldType.values}"
    )
    _check(
        descriptor.get("class") in FieldClass.values,
        where,
        f"class must be one of {FieldClass.values}",
    )
    constraints = descriptor.get("constraints", {})
    code_list = descriptor.get("codeList", {})
    code_values: frozenset[str] = frozenset()
    if code_list:
        code_values = _check_code_list(code_list, where, code_lists)
    return FieldSpec(
        name=name,
        title=descriptor.get("title", name),
        description=descriptor.get("description", ""),
        type=descriptor["type"],
        required=bool(constraints.get("required", False)),
        field_class=descriptor["class"],
        enum=tuple(constraints.get("enum", ())),
        aliases=tuple(descriptor.get("aliases", ())),
        minimum=constraints.get("minimum"),
        maximum=constraints.get("maximum"),
        value_aliases=tuple(descriptor.get("valueAliases", {}).items()),
        true_values=tuple(descriptor.get("trueValues", FieldSpec.true_values)),
        false_values=tuple(descriptor.get("falseValues", FieldSpec.false_values)),
        code_list=code_list.get("name", ""),
        code_pattern=code_list.get("pattern", ""),
        code_rule=code_list.get("normalise", ""),
        code_values=code_values,
    )


def schema_from_descriptor(
    descriptor: dict, where: str = "schema", *, code_lists: Path = CODE_LIST_DIR
) -> DatasetSchema:
    """Check a schema descriptor and return it as a DatasetSchema, or raise CatalogueError;
    a codeList's values file is read from ``code_lists``."""
    slug = descriptor.get("name", "")
    _check(bool(_SNAKE_CASE.fullmatch(slug)), where, "name must be a lower-case snake_case slug")
    _check(bool(descriptor.get("title")), where, "title is required")
    _check(
        descriptor.get("tier") in DatasetTier.values,
        where,
        f"tier must be one of {DatasetTier.values}",
    )
    _check(
        descriptor.get("kind") in DatasetKind.values,
        where,
        f"kind must be one of {DatasetKind.values}",
    )
    suppliers = tuple(descriptor.get("suppliers", ()))
    unknown_suppliers = set(suppliers) - set(AgencyType.values)
    _check(
        not unknown_suppliers, where, f"unknown supplier agency types {sorted(unknown_suppliers)}"
    )

    fields = tuple(
        _field_from_descriptor(field, where, code_lists) for field in descriptor.get("fields", ())
    )
    _check(bool(fields), where, "a dataset needs at least one field")
    names = [field.name for field in fields]
    _check(len(names) == len(set(names)), where, "field names must be unique")
    types = {field.name: field.type for field in fields}
    date_times = _date_times(descriptor.get("dateTimes", ()), types, where)
    spellings = [alias.casefold() for field in fields for alias in field.aliases]
    spellings += [alias.casefold() for column in date_times for alias in column.aliases]
    _check(len(spellings) == len(set(spellings)), where, "a header alias may name only one field")

    locations = []
    for group in descriptor.get("locations", ()):
        _check(
            group.get("role") in LocationRole.values,
            where,
            f"location role must be one of {LocationRole.values}",
        )
        members = {member: group.get(member) for member in LOCATION_MEMBERS}
        for member, field_name in members.items():
            _check(
                field_name is None or field_name in names,
                where,
                f"location {member} {field_name!r} is not a field",
            )
        _check(any(members.values()), where, "a location group needs at least one member")
        locations.append(LocationGroup(role=group["role"], **members))

    primary_key = tuple(descriptor.get("primaryKey", ()))
    _check(set(primary_key) <= set(names), where, "primaryKey names a field that does not exist")
    links = []
    for foreign_key in descriptor.get("foreignKeys", ()):
        _check(set(foreign_key["fields"]) <= set(names), where, "foreignKeys name a missing field")
        links.append((tuple(foreign_key["fields"]), foreign_key["reference"]["resource"]))
    event_date = descriptor.get("eventDate")
    event_time = descriptor.get("eventTime")
    _check(
        event_date is None or types.get(event_date) == FieldType.DATE,
        where,
        "eventDate must name a date field",
    )
    _check(
        event_time is None or types.get(event_time) == FieldType.TIME,
        where,
        "eventTime must name a time field",
    )
    ongoing = descriptor.get("ongoing", False)
    _check(isinstance(ongoing, bool), where, "ongoing must be true or false")

    return DatasetSchema(
        slug=slug,
        name=descriptor["title"],
        section=descriptor.get("section", ""),
        tier=descriptor["tier"],
        kind=descriptor["kind"],
        suppliers=suppliers,
        description=descriptor.get("description", ""),
        fields=fields,
        locations=tuple(locations),
        primary_key=primary_key,
        event_date=event_date,
        event_time=event_time,
        ongoing=ongoing,
        links=tuple(links),
        descriptor=descriptor,
        date_times=date_times,
        xml_submission=_xml_submission(descriptor.get("xmlSubmission"), where),
    )


def _names(value, where: str, what: str) -> tuple[str, ...]:
    _check(
        isinstance(value, list) and bool(value) and all(isinstance(n, str) and n for n in value),
        where,
        f"{what} must be a list of names",
    )
    return tuple(value)


def _date_times(entries, types: dict[str, str], where: str) -> tuple[DateTimeColumn, ...]:
    _check(isinstance(entries, list | tuple), where, "dateTimes must be a list")
    columns = []
    for entry in entries:
        _check(isinstance(entry, dict), where, "each dateTimes entry is an object")
        _check(
            types.get(entry.get("date")) == FieldType.DATE
            and types.get(entry.get("time")) == FieldType.TIME,
            where,
            "a dateTimes entry names a date field (date) and a time field (time)",
        )
        aliases = _names(entry.get("aliases"), where, "a dateTimes entry's aliases")
        columns.append(DateTimeColumn(date=entry["date"], time=entry["time"], aliases=aliases))
    return tuple(columns)


XML_SUBMISSION_KEYS = {"name", "periodStart", "periodEnd", "siteCode"}


def _xml_submission(entry, where: str) -> XmlSubmission | None:
    if entry is None:
        return None
    _check(isinstance(entry, dict), where, "xmlSubmission is an object")
    unknown = sorted(set(entry) - XML_SUBMISSION_KEYS)
    _check(not unknown, where, f"xmlSubmission has unknown keys {unknown}")
    _check(bool(entry.get("name")), where, "xmlSubmission needs the format's name")
    return XmlSubmission(
        name=entry["name"],
        period_start=_names(entry.get("periodStart"), where, "xmlSubmission periodStart"),
        period_end=_names(entry.get("periodEnd"), where, "xmlSubmission periodEnd"),
        site_code=_names(entry["siteCode"], where, "xmlSubmission siteCode")
        if "siteCode" in entry
        else (),
    )


def read_catalogue(directory: Path = SCHEMA_DIR) -> list[DatasetSchema]:
    """Every schema file in the folder, checked, with the code lists of its ``codelists``
    folder; raises CatalogueError naming the bad file."""
    schemas = []
    for path in sorted(directory.glob("*.json")):
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise CatalogueError(f"{path.name}: not valid JSON ({error})") from error
        schema = schema_from_descriptor(
            descriptor, where=path.name, code_lists=directory / CODE_LIST_DIR.name
        )
        _check(
            schema.slug == path.stem, path.name, f"name {schema.slug!r} must match the file name"
        )
        schemas.append(schema)
    return schemas
