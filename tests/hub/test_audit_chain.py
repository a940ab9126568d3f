"""The audit trail is tamper-evident: a change made in the database itself is found."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from hub.models import AuditEntry
from hub.services import audit_record

pytestmark = pytest.mark.django_db


def trail(count=5):
    return [audit_record(actor=None, action=f"step_{n}", system="test") for n in range(count)]


def test_each_entry_carries_the_hash_of_the_one_before(capsys):
    entries = trail()
    for earlier, later in zip(entries, entries[1:], strict=False):
        assert later.previous_hash == earlier.entry_hash
    call_command("verify_audit")
    assert "The audit trail is whole: 5 entries." in capsys.readouterr().out


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE hub_auditentry SET action = 'nothing_to_see' WHERE id = %s",
        "UPDATE hub_auditentry SET detail = '{\"rows\": 1}' WHERE id = %s",
        "UPDATE hub_auditentry SET created_at = created_at - interval '1 day' WHERE id = %s",
        "DELETE FROM hub_auditentry WHERE id = %s",
    ],
)
def test_an_entry_changed_or_removed_in_the_database_is_named(tamper):
    entries = trail()
    with connection.cursor() as cursor:
        cursor.execute(tamper, [entries[2].pk])

    with pytest.raises(CommandError) as error:
        call_command("verify_audit")

    named = entries[3] if tamper.startswith("DELETE") else entries[2]
    assert f"broken at entry {named.pk} " in str(error.value)


@pytest.mark.django_db(transaction=True)  # the writers' own connections commit
def test_concurrent_writers_do_not_fork_the_chain():
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
