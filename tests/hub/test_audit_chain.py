"""The audit trail is tamper-evident: a change made in the database itself is found, and so is
a rewrite of the chain or a cut at its end, by the signed checkpoints kept outside it."""

import base64
import importlib
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from hub import anchor
from hub.audit import audit_digest, audit_record, audit_verify
from hub.models import AuditEntry, User
from hub.services import agency_ensure, partnership_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def anchor_dir(settings, tmp_path):
    """Checkpoints of this test's own trail only: other tests' were of entries long gone."""
    settings.HUB_AUDIT_ANCHOR_DIR = tmp_path / "anchor"
    return settings.HUB_AUDIT_ANCHOR_DIR


@pytest.fixture
def trail(django_capture_on_commit_callbacks):
    """Write entries as services do, each checkpointed as its transaction commits."""

    def write(count=5, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return [audit_record(action=f"step_{n}", **fields) for n in range(count)]

    return write


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def named(check) -> list[int]:
    return sorted({problem.entry_id for problem in check.problems})


def rehash_from(entry_id: int) -> None:
    """What an attacker with the database does after changing an entry: re-hash it and every
    later one, so that the chain is consistent with itself again."""
    previous = (
        AuditEntry.objects.filter(id__lt=entry_id).order_by("-id").values_list("entry_hash").first()
    )
    previous = previous[0] if previous else ""
    with connection.cursor() as cursor:
        for entry in AuditEntry.objects.filter(id__gte=entry_id).order_by("id"):
            entry.previous_hash = previous
            entry.entry_hash = audit_digest(entry)
            cursor.execute(
                "UPDATE hub_auditentry SET previous_hash = %s, entry_hash = %s WHERE id = %s",
                [entry.previous_hash, entry.entry_hash, entry.pk],
            )
            previous = entry.entry_hash


def test_each_entry_carries_the_hash_of_the_one_before_and_is_checkpointed(trail, capsys):
    entries = trail(actor=None, system="test")
    for earlier, later in zip(entries, entries[1:], strict=False):
        assert later.previous_hash == earlier.entry_hash
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "The audit trail is whole: 5 entries, 5 signed checkpoints." in out
    assert f"The newest checkpoint names entry {entries[-1].pk} " in out


@pytest.fixture
def full_entries(trail):
    """Entries with every hashed field set, so that each can be tampered with."""
    wigan = partnership_ensure(name="Tamper CSP", slug="tamper", postcode_areas=["WN"])
    other = partnership_ensure(name="Other CSP", slug="other", postcode_areas=["BL"])
    police = agency_ensure(
        partnership=wigan, name="Tamper Police", agency_type="police_force", acting_user=None
    )
    council = agency_ensure(
        partnership=wigan, name="Tamper Council", agency_type="local_authority", acting_user=None
    )
    actor = User.objects.create_user("tamper_actor")
    someone = User.objects.create_user("tamper_someone")
    entries = trail(
        actor=actor, agency=police, dataset_slug="police_crime_offence", target=police,
        detail={"rows": 10}, ip_address="192.0.2.1",
    )  # fmt: skip
    assert all(entry.partnership_id == wigan.pk for entry in entries)
    return entries, {"other": other, "council": council, "someone": someone}


# Every column the hash covers, and a change to it made straight in PostgreSQL.
HASHED_COLUMNS = {
    "created_at": ("created_at - interval '1 second'", None),
    "actor_id": ("%s", "someone"),
    "actor_username": ("'nobody'", None),
    "action": ("'nothing_to_see'", None),
    "agency_id": ("%s", "council"),
    "dataset_slug": ("'council_asb'", None),
    "object_type": ("'hub.Partnership'", None),
    "object_id": ("'1'", None),
    "detail": ("'{\"rows\": 1}'", None),
    "ip_address": ("'198.51.100.7'", None),
    "partnership_id": ("%s", "other"),
}


def test_every_hashed_column_is_tampered_with_below():
    # A column added to the entry (and so to audit_digest) must be added to the test too.
    columns = {field.attname for field in AuditEntry._meta.concrete_fields}
    assert columns - {"id", "previous_hash", "entry_hash"} == set(HASHED_COLUMNS)


@pytest.mark.parametrize("column", sorted(HASHED_COLUMNS))
def test_a_change_to_any_hashed_column_names_its_entry(full_entries, column):
    entries, others = full_entries
    expression, value = HASHED_COLUMNS[column]
    params = [others[value].pk] if value else []
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE hub_auditentry SET {column} = {expression} WHERE id = %s",  # noqa: S608 - the test's own constants
            [*params, entries[2].pk],
        )
    check = audit_verify()
    assert named(check) == [entries[2].pk]
    assert "it was changed in the database" in check.problems[0].message


def test_a_column_cleared_in_the_database_is_found_too(full_entries):
    entries, _ = full_entries
    with connection.cursor() as cursor:
        # Hiding an entry from its partnership's co-ordinator by making it hub-wide.
        cursor.execute(
            "UPDATE hub_auditentry SET partnership_id = NULL WHERE id = %s", [entries[1].pk]
        )
    assert named(audit_verify()) == [entries[1].pk]


def test_a_removed_entry_is_named_by_its_successor_and_its_checkpoint(trail):
    entries = trail(actor=None, system="test")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM hub_auditentry WHERE id = %s", [entries[2].pk])
    with pytest.raises(CommandError) as error:
        call_command("verify_audit")
    message = str(error.value)
    assert f"Entry {entries[3].pk} (" in message and "does not follow the entry before" in message
    assert f"Entry {entries[2].pk}, named by checkpoint checkpoints." in message
    assert "removed from the trail" in message


def test_an_entry_rewritten_and_the_chain_rehashed_after_it_is_found(trail, capsys):
    entries = trail(actor=None, system="test")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE hub_auditentry SET action = 'nothing_to_see' WHERE id = %s", [entries[1].pk]
        )
    rehash_from(entries[1].pk)

    check = audit_verify()
    # The chain agrees with itself: only the checkpoints show the rewrite.
    assert not [problem for problem in check.problems if not problem.checkpoint]
    assert named(check)[0] == entries[1].pk
    first = check.problems[0]
    assert f"Entry {entries[1].pk} (" in first.message and "re-hashed" in first.message
    assert first.checkpoint.startswith("checkpoints.") and ":2" in first.checkpoint
    with pytest.raises(CommandError, match=f"Entry {entries[1].pk} .* but checkpoint"):
        call_command("verify_audit")


def test_the_last_entries_cut_off_are_found(trail):
    entries = trail(count=8, actor=None, system="test")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM hub_auditentry WHERE id = ANY(%s)", [[e.pk for e in entries[-5:]]]
        )

    check = audit_verify()
    assert named(check) == [entry.pk for entry in entries[-5:]]
    newest = check.problems[-1]
    assert newest.entry_id == entries[-1].pk
    assert f"the trail now ends at entry {entries[2].pk}, so its last entries were cut off" in (
        newest.message
    )
    with pytest.raises(CommandError, match="cut off"):
        call_command("verify_audit")


def test_the_periodic_checkpoint_alone_finds_a_cut_and_counts_entries(anchor_dir):
    entries = [audit_record(actor=None, action=f"step_{n}", system="test") for n in range(6)]
    assert not anchor_dir.exists()  # no transaction committed: no checkpoint per entry
    from hub.tasks import audit_checkpoint as task

    assert task() == entries[-1].pk
    assert audit_verify().whole
    line = json.loads((next(anchor_dir.glob("checkpoints.*.jsonl"))).read_text())
    assert line["count"] == AuditEntry.objects.count()

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM hub_auditentry WHERE id = %s", [entries[-1].pk])
    check = audit_verify()
    assert named(check) == [entries[-1].pk]
    assert f"it counted {line['count']} entries, there are {line['count'] - 1} now" in (
        check.problems[0].message
    )


def _forged_line(entry: AuditEntry, key: Ed25519PrivateKey) -> dict:
    at = "2030-01-01T00:00:00+00:00"
    signed = json.dumps(
        {"entry": entry.pk + 100, "hash": "0" * 64, "count": None, "at": at},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return {
        "entry": entry.pk + 100, "hash": "0" * 64, "count": None, "at": at,
        "key": anchor.public_key_text(key), "sig": base64.b64encode(key.sign(signed)).decode(),
    }  # fmt: skip


def test_a_checkpoint_signed_with_another_key_is_named_as_forged(trail, anchor_dir):
    entries = trail(count=2, actor=None, system="test")
    forged = _forged_line(entries[-1], Ed25519PrivateKey.generate())
    (anchor_dir / "checkpoints.elsewhere.jsonl").write_text(json.dumps(forged) + "\n")

    check = audit_verify()
    assert [problem.checkpoint for problem in check.problems] == ["checkpoints.elsewhere.jsonl:1"]
    assert "not a trusted audit key: it is forged" in check.problems[0].message


def test_a_checkpoint_altered_after_signing_is_named(trail, anchor_dir):
    entries = trail(count=2, actor=None, system="test")
    path = next(anchor_dir.glob("checkpoints.*.jsonl"))
    lines = path.read_text().splitlines()
    altered = json.loads(lines[1]) | {"entry": entries[0].pk}  # moved back, to hide a cut
    path.write_text(lines[0] + "\n" + json.dumps(altered) + "\n")
    check = audit_verify()
    assert [problem.checkpoint for problem in check.problems] == [f"{path.name}:2"]
    assert "does not match its signature" in check.problems[0].message


def test_checkpoints_of_a_replaced_key_verify_while_its_public_key_is_trusted(trail, settings):
    trail(count=2, actor=None, system="test")
    old_public = anchor.public_key_text()
    settings.HUB_AUDIT_SIGNING_KEY = new_key()
    trail(count=2, actor=None, system="test")

    settings.HUB_AUDIT_PREVIOUS_PUBLIC_KEYS = [old_public]
    assert audit_verify().whole
    settings.HUB_AUDIT_PREVIOUS_PUBLIC_KEYS = []
    assert len(audit_verify().problems) == 2


def test_the_command_prints_the_public_key_to_trust(capsys):
    call_command("verify_audit", "--public-key")
    assert capsys.readouterr().out.strip() == anchor.public_key_text()


def test_the_beat_schedule_signs_a_checkpoint_periodically(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    assert any(item["task"] == "hub.audit_checkpoint" for item in schedule)


@pytest.mark.django_db(transaction=True)  # the writers' own connections commit
def test_concurrent_writers_do_not_fork_the_chain_and_each_is_checkpointed():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def write(n):
        try:
            audit_record(actor=None, action=f"parallel_{n}", system="test")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(20)))
    hashes = list(AuditEntry.objects.order_by("id").values_list("previous_hash", flat=True))
    assert len(hashes) == len(set(hashes)) == 20
    check = audit_verify()
    assert check.whole and check.checkpoints == 20


def test_migration_0005_gives_old_entries_partnerships_and_keeps_the_chain(full_entries):
    """Entries from before partnerships: re-chained over the partnership they are given."""
    entries, _ = full_entries
    hub_wide = audit_record(actor=None, action="catalogue_sync", system="test")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE hub_auditentry SET partnership_id = NULL")
    rehash_from(AuditEntry.objects.order_by("id").first().pk)  # as the old code hashed them
    assert audit_verify().problems  # the checkpoints were of the entries with partnerships

    migration = importlib.import_module("hub.migrations.0005_audit_partnership")
    migration.give_entries_partnerships(apps, None)

    entries[0].refresh_from_db()
    hub_wide.refresh_from_db()
    assert entries[0].partnership_id == entries[0].agency.partnership_id
    assert hub_wide.partnership_id is None
    # Given the partnerships audit_record gave them, they hash as they did when written.
    assert audit_verify().whole


def test_migration_0005_does_not_rehash_over_an_earlier_change(full_entries):
    entries, _ = full_entries
    with connection.cursor() as cursor:
        cursor.execute("UPDATE hub_auditentry SET partnership_id = NULL")
    rehash_from(AuditEntry.objects.order_by("id").first().pk)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE hub_auditentry SET action = 'edited' WHERE id = %s", [entries[2].pk])

    migration = importlib.import_module("hub.migrations.0005_audit_partnership")
    migration.give_entries_partnerships(apps, None)

    chain = [p.entry_id for p in audit_verify().problems if not p.checkpoint]
    assert chain[0] == entries[2].pk
    assert AuditEntry.objects.get(pk=entries[2].pk).partnership_id is None
