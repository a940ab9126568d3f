"""Values of the audit trail in words: dates as dd/mm/yyyy, months as "August 2026", sizes,
counts, lists joined with commas, and any other value as "key: value" words, never a Python
repr; and what a sentence is written from (``Said``)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone

from hub.models import AuditEntry
from sharing.audit_words.phrases import SYSTEM_NAMES

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
ISO_MONTH = re.compile(r"\d{4}-\d{2}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")
LISTED_AT_MOST = 12  # a longer list says how many more, so that a sentence stays readable
KEY_WORDS = {"sha256": "SHA-256", "ip": "IP address", "id": "ID", "ids": "IDs"}


def date_words(value) -> str:
    """A date as dd/mm/yyyy, a time as dd/mm/yyyy hh:mm (local), a month as "August 2026"."""
    if isinstance(value, datetime.datetime):
        shown = timezone.localtime(value) if timezone.is_aware(value) else value
        return f"{shown:%d/%m/%Y %H:%M}"
    if isinstance(value, datetime.date):
        return f"{value:%d/%m/%Y}"
    text = str(value)
    try:
        if ISO_TIME.fullmatch(text):
            return date_words(datetime.datetime.fromisoformat(text))
        if ISO_DATE.fullmatch(text):
            return date_words(datetime.date.fromisoformat(text))
        if ISO_MONTH.fullmatch(text):
            year, month = (int(part) for part in text.split("-"))
            return f"{MONTHS[month - 1]} {year}"
    except (ValueError, IndexError):
        pass
    return text


def period_words(value) -> str:
    """``[start, end]`` as "01/10/2026 to 31/10/2026"; empty for none."""
    if isinstance(value, list | tuple) and len(value) == 2 and all(value):
        return f"{date_words(value[0])} to {date_words(value[1])}"
    return value_words(value) if value else ""


def size_words(value) -> str:
    """A number of bytes as people say it: 512 bytes, 14.2 KB, 2.1 MB."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value_words(value)
    if value < 1024:
        return count_words(int(value), "byte")
    size, unit = value / 1024, "KB"
    for larger in ("MB", "GB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{size:,.1f} {unit}"


def count_words(value, noun: str, plural: str = "") -> str:
    """1 record, 1,204 records."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{value_words(value)} {plural or noun + 's'}"
    return f"{value:,} {noun if value == 1 else plural or noun + 's'}"


def list_words(values, *, words: Callable | None = None) -> str:
    """Items joined with commas and a last "and"; a long list says how many more there are."""
    words = words or value_words
    items = [words(value) for value in values]
    if len(items) > LISTED_AT_MOST:
        shown = items[: LISTED_AT_MOST - 1]
        return ", ".join(shown) + f" and {len(items) - len(shown):,} more"
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def key_words(key) -> str:
    text = str(key)
    return KEY_WORDS.get(text, text.replace("_", " "))


def pairs_words(mapping: dict, separator: str = "; ") -> str:
    """``{"retention_days": 30}`` as "retention days: 30"."""
    return separator.join(
        f"{key_words(key)}: {value_words(value)}" for key, value in mapping.items()
    )


def value_words(value) -> str:
    """Any value of a detail in words: a date or month as above, a list joined with commas, a
    mapping as "key: value" pairs."""
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, str):
        return date_words(value.strip())
    if isinstance(value, list | tuple | set):
        return list_words(value) if value else "none"
    if isinstance(value, dict):
        return f"({pairs_words(value, ', ')})" if value else "none"
    return str(value)


def choice_words(choices: type[models.TextChoices], value) -> str:
    """A stored choice as its label; one no longer offered as it is."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value_words(value)


def quoted(value) -> str:
    return f"“{value_words(value)}”"


# -- what a sentence is written from --------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Datasets' and people's names for the slugs and usernames a page of entries mentions,
    read once for the page (sharing.audit_words.names_for)."""

    datasets: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def dataset(self, slug) -> str:
        return self.datasets.get(slug, "") or value_words(slug)

    def person(self, username) -> str:
        return self.people.get(username, "") or value_words(username)


class Detail:
    """An entry's detail, remembering which keys a sentence has used, so that any others
    follow it in words."""

    def __init__(self, raw):
        if isinstance(raw, dict):
            self.raw = raw
        else:
            self.raw = {} if raw in (None, "", []) else {"detail": raw}
        self.used: set[str] = set()

    def get(self, key: str, default=None):
        self.used.add(key)
        return self.raw.get(key, default)

    def leave_out(self, *keys: str) -> None:
        """Keys a sentence deliberately does not say (hashes, lists of ids): the export keeps
        the detail as recorded."""
        self.used.update(keys)

    def rest(self) -> dict:
        # Alphabetically: the database keeps a detail's keys in an order of its own.
        return {key: self.raw[key] for key in sorted(self.raw) if key not in self.used}


@dataclass
class Said:
    """One entry with the names it needs: what its sentence is written from."""

    entry: AuditEntry
    names: Names
    detail: Detail

    def get(self, key: str, default=None):
        return self.detail.get(key, default)

    @property
    def who(self) -> str:
        return actor_words(self.entry, self.names)

    @property
    def system(self) -> bool:
        return self.entry.actor_username.startswith("system:")

    @property
    def agency(self) -> str:
        return self.entry.agency.name if self.entry.agency_id else ""

    def dataset(self, slug=None) -> str:
        slug = self.entry.dataset_slug if slug is None else slug
        return self.names.dataset(slug) if slug else "a dataset"

    def person(self, username) -> str:
        return self.names.person(username)

    def people(self, usernames) -> str:
        if not isinstance(usernames, list | tuple):
            return self.person(usernames)
        return list_words(usernames, words=self.person) or "nobody"

    def of_agency(self) -> str:
        """The words ' from Wigan Council' when the entry names an agency."""
        return f" from {self.agency}" if self.agency else ""


def actor_words(entry: AuditEntry, names: Names) -> str:
    """Who acted: a person's full name (else their username), or the process in words."""
    username = entry.actor_username
    if username.startswith("system:"):
        system = username.removeprefix("system:")
        return SYSTEM_NAMES.get(system) or f"The hub's {key_words(system)} process"
    if not username:
        return "Someone"
    return names.person(username)


# Each action's sentence, registered by the modules of sharing.audit_words.
SENTENCES: dict[str, Callable[[Said], str]] = {}


def says(*actions: str):
    """Register the decorated function as the sentence of these actions."""

    def register(function: Callable[[Said], str]):
        for action in actions:
            SENTENCES[action] = function
        return function

    return register
