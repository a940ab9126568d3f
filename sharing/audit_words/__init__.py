"""The audit trail in sentences a co-ordinator understands: "Priya Shah uploaded october.csv
(2.1 MB) for Police recorded crime: the offence, 01/10/2026 to 31/10/2026." Each action has a
phrase (``phrases.ACTION_PHRASES``) and a sentence written from its detail (``people``,
``supplies``, ``use``); an action or a detail key no sentence knows is still said in words.
The raw code stays beside the sentence, on the page and in the export, for investigators.

Sentences are plain text, escaped where they are shown like any other text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from datasets.models import Dataset
from hub.models import AuditEntry, User
from sharing.audit_words import people, supplies, use  # noqa: F401 - they register sentences
from sharing.audit_words.phrases import ACTION_PHRASES
from sharing.audit_words.values import (
    SENTENCES,
    Detail,
    Names,
    Said,
    actor_words,
    pairs_words,
)

# Detail keys that hold usernames or dataset slugs, named in words on the page.
USERNAME_KEYS = ("user", "holder", "for", "to", "notified")
DATASET_KEYS = ("datasets", "linked", "created", "updated", "retired")
# What a sentence that went wrong on an entry of an older shape raises; it is said generically.
SHAPE_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class AuditLine:
    """An entry as the audit trail page and its export show it."""

    entry: AuditEntry
    who: str
    sentence: str
    dataset: str  # the dataset's name; empty for an entry about none


def audit_lines(entries: Iterable[AuditEntry]) -> list[AuditLine]:
    """The entries in words, the datasets and people they name read in two queries in all.
    Select the entries' agency with them (``select_related("agency")``)."""
    entries = list(entries)
    names = names_for(entries)
    return [
        AuditLine(
            entry=entry,
            who=actor_words(entry, names),
            sentence=audit_sentence(entry, names),
            dataset=names.dataset(entry.dataset_slug) if entry.dataset_slug else "",
        )
        for entry in entries
    ]


def audit_sentence(entry: AuditEntry, names: Names) -> str:
    """What the entry records, as a sentence; detail keys its sentence does not say follow
    it as "key: value" words."""
    said = Said(entry=entry, names=names, detail=Detail(entry.detail))
    sentence = ""
    write = SENTENCES.get(entry.action)
    if write is not None:
        try:
            sentence = write(said)
        except SHAPE_ERRORS:
            said = Said(entry=entry, names=names, detail=Detail(entry.detail))
    if not sentence:
        sentence = f"{said.who}: {_lowered(action_phrase(entry.action))}"
        if entry.dataset_slug:
            sentence += f" ({said.dataset()})"
    sentence = _finished(sentence)
    rest = said.detail.rest()
    if rest:
        sentence += " " + _finished(f"Also recorded: {pairs_words(rest)}")
    return sentence


def action_phrase(action: str) -> str:
    """The action in words; one the hub does not know, its code in words."""
    return ACTION_PHRASES.get(action) or action.replace("_", " ").strip().capitalize() or "?"


def action_choices() -> list[tuple[str, str]]:
    """Every action, in words with its code, alphabetically: the audit filter's choices."""
    return sorted(
        ((code, f"{phrase} ({code})") for code, phrase in ACTION_PHRASES.items()),
        key=lambda choice: choice[1].casefold(),
    )


def actions_described(text: str) -> list[str]:
    """The actions whose phrase contains ``text`` (``withdrawn`` finds supply_withdrawn and
    isp_signature_withdrawn), for the filter typed as words rather than as a code."""
    wanted = text.strip().casefold()
    return sorted(
        code for code, phrase in ACTION_PHRASES.items() if wanted and wanted in phrase.casefold()
    )


def names_for(entries: list[AuditEntry]) -> Names:
    """The names of the datasets and people the entries mention: one query for each."""
    slugs, usernames, partnerships = set(), set(), set()
    for entry in entries:
        partnerships.add(entry.partnership_id)
        if entry.dataset_slug:
            slugs.add(entry.dataset_slug)
        if entry.actor_username and not entry.actor_username.startswith("system:"):
            usernames.add(entry.actor_username)
        detail = entry.detail if isinstance(entry.detail, dict) else {}
        for key in USERNAME_KEYS:
            usernames.update(_texts(detail.get(key)))
        for key in DATASET_KEYS:
            slugs.update(_texts(detail.get(key)))
        if isinstance(detail.get("levels"), dict):
            slugs.update(_texts(list(detail["levels"])))
        for key in ("filters", "params"):
            if isinstance(detail.get(key), dict):
                slugs.update(_texts(detail[key].get("dataset")))
    datasets = Dataset.objects.filter(slug__in=slugs).values_list("slug", "name")
    # Full names only of the people of the partnerships whose entries these are; anyone else
    # (a user of another partnership refused here) keeps the username the entry records.
    named = (
        User.objects.filter(
            username__in=usernames, memberships__agency__partnership__in=partnerships - {None}
        )
        .distinct()
        .values_list("username", "first_name", "last_name")
    )
    return Names(
        datasets=dict(datasets) if slugs else {},
        people={user: f"{first} {last}".strip() for user, first, last in named}
        if usernames
        else {},
    )


def _texts(value) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str) and item]
    return []


def _lowered(phrase: str) -> str:
    # "Supply uploaded" reads "supply uploaded" after a name; "ISP signature…" keeps its capitals.
    if len(phrase) > 1 and phrase[1].islower():
        return phrase[0].lower() + phrase[1:]
    return phrase


def _finished(sentence: str) -> str:
    # One line, however the detail's free text was typed: a table cell, a CSV cell.
    sentence = " ".join(sentence.split())
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."
