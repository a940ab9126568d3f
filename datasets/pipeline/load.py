"""Loading: the sanitised records COPYed into the warehouse in one transaction, with their
identifying fields encrypted, linked records dated and the monthly counts kept; the period's
earlier supply superseded."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from django.db import connection, transaction
from django.db.models import Q
from psycopg2 import sql

from datasets import copytext
from datasets.areas import supply_areas_rederive
from datasets.choices import DatasetKind
from datasets.models import Dataset, IdentifyingRecord, Record, Supply
from datasets.pipeline.record_table import record_table
from datasets.pipeline.sanitise import Sanitised
from datasets.pipeline.stages import (
    LOADED_STATUSES,
    Claim,
    StageLost,
    SupplyRejected,
    advance,
)
from datasets.storage import field_sql
from datasets.summary import counts_load
from hub.crypto import encrypt_bytes
from sanitise.areas import area_lookup_version

logger = logging.getLogger(__name__)

# How often the pass renews its lease while it waits for the loader, and how long it waits
# at a time before it looks whether the loader is still there.
LEASE_RENEWAL_SECONDS = 10
DELIVERY_WAIT_SECONDS = 0.5


class Loader:
    """Puts a supply's records in the warehouse, all or nothing: a thread of its own, with its
    own database connection, COPYs each chunk given to ``put`` in one transaction while the
    caller works on the next; ``commit`` finishes the load and hands the supply on in that
    transaction. Leaving the ``with`` block without committing rolls everything back.

    The caller's connection stays free for what others must see at once: progress and the
    lease. Nothing of the supply's is written on it while the load runs."""

    def __init__(self, claim: Claim, areas_lookup: pd.DataFrame, *, areas_version: int):
        self.claim, self._lookup, self._areas_version = claim, areas_lookup, areas_version
        self._personal = claim.schema.kind != DatasetKind.DEPERSONALISED
        # One chunk waits while the loader COPYs another.
        self._inbox: queue.Queue = queue.Queue(maxsize=1)
        self._thread = threading.Thread(
            target=self._run, name=f"load-{claim.supply.pk}", daemon=True
        )
        self._error: BaseException | None = None
        self.loaded = 0

    def __enter__(self) -> Loader:
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        # Left without a commit: the loader rolls back. The caller's own error goes on.
        if self._thread.is_alive():
            self._deliver(_ABORT)
            self._thread.join()
        if exc_type is not None and self._error is not None and self._error is not exc:
            logger.error("The load failed too", exc_info=self._error)

    def put(self, sanitised: Sanitised) -> None:
        if not self._deliver(sanitised):
            raise self._stopped()

    def commit(self, *, report: dict, counts: dict[str, int]) -> None:
        """The load's last steps, then the hand-over to the next stage; SupplyRejected (all
        rolled back) if the period overlaps another supply's."""
        finish = _Finish(report=report, counts=counts, areas_version=self._areas_version)
        if not self._deliver(finish):
            raise self._stopped()
        # The last steps may wait for the partnership's lock: the lease is kept meanwhile.
        self._thread.join(LEASE_RENEWAL_SECONDS)
        while self._thread.is_alive():
            self.claim.lease_renew()
            self._thread.join(LEASE_RENEWAL_SECONDS)
        if self._error is not None:
            raise self._error

    def _deliver(self, item) -> bool:
        """Hands the item to the loader; False if the loader has stopped and never will take
        it. The lease is renewed while the loader is busy."""
        waited = 0.0
        while True:
            try:
                self._inbox.put(item, timeout=DELIVERY_WAIT_SECONDS)
                return True
            except queue.Full:
                if not self._thread.is_alive():
                    return False
                waited += DELIVERY_WAIT_SECONDS
                if waited >= LEASE_RENEWAL_SECONDS:
                    self.claim.lease_renew()
                    waited = 0.0

    def _stopped(self) -> BaseException:
        # The loader stopped early: its failure is the stage's.
        return self._error or RuntimeError("The load stopped without saying why")

    def _run(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # A worker that has lost the stage before it began loads nothing.
                if not self.claim.held().exists():
                    raise StageLost
                # The identifying rows' foreign keys checked as each row arrives, not queued (a
                # million queued checks hold memory) and run at commit, after the hand-over.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                # Whatever of the supply's a load that was never completed may have left: the
                # pass loads it all again, once.
                records_delete(cursor, [str(self.claim.supply.pk)])
                if self._personal:
                    cursor.execute(
                        "CREATE TEMPORARY TABLE identifying_load "
                        "(row_number integer PRIMARY KEY, ciphertext bytea) ON COMMIT DROP"
                    )
                while not isinstance(item := self._inbox.get(), _Finish):
                    if item is _ABORT:
                        raise _Abandoned
                    self._copy(cursor, item)
                _load_finish(self.claim, cursor, item, loaded=self.loaded, personal=self._personal)
        except _Abandoned:
            pass
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            self._error = error
        finally:
            connection.close()

    def _copy(self, cursor, sanitised: Sanitised) -> None:
        records = sanitised.records
        if not records.empty:
            table = record_table(self.claim, self._lookup, records)
            copytext.copy_into(
                cursor, Record._meta.db_table, table.column_names, copytext.copy_text(table)
            )
            self.loaded += len(records)
        if self._personal and sanitised.identifying is not None:
            _copy_identifying(self.claim, cursor, sanitised.identifying)


@dataclass
class _Finish:
    report: dict
    counts: dict[str, int]
    # The postcode lookup the records' areas were taken from.
    areas_version: int


class _Abandoned(Exception):
    """The caller left without committing: the load is rolled back."""


_ABORT = object()


def _load_finish(claim: Claim, cursor, finish: _Finish, *, loaded: int, personal: bool) -> None:
    supply = claim.supply
    if personal:
        _identifying_insert(cursor, supply)
    # One load's last steps at a time per partnership: linked records (a victim and its
    # offence) loading at once would each miss the other's uncommitted rows. Taken before the
    # supply's row, as a withdrawal takes them.
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [supply.agency.partnership_id])
    # A lost lease means another worker has this stage now: this load is rolled back. (No
    # key changes: a lock that others' key shares do not wait on.)
    if not claim.held().select_for_update(no_key=True).exists():
        raise StageLost
    overlap = overlapping_supply(supply)
    if overlap is not None:
        counts = {name: finish.counts[name] for name in ("record_count", "rejected_count")}
        raise SupplyRejected([overlap_problem(supply, overlap)], counts=counts, **finish.report)
    if area_lookup_version() != finish.areas_version:
        # A new lookup re-derived the stored records while this pass ran: its records too.
        supply_areas_rederive(cursor, supply_id=supply.pk)
    date_linked_records(cursor, supply)
    counts_load(supply=supply)
    # The same period supplied again, and nil returns within it: the later upload replaces
    # the earlier, whichever finished loading first.
    replaced = _overlapping(supply).filter(
        Q(period_start=supply.period_start, period_end=supply.period_end)
        | Q(nil_return=True, period_start__gte=supply.period_start,
            period_end__lte=supply.period_end)
    )  # fmt: skip
    newer = replaced.filter(created_at__gt=supply.created_at).order_by("-created_at").first()
    superseded = list(
        replaced.filter(created_at__lt=supply.created_at).values_list("pk", flat=True)
    )
    Supply.objects.filter(pk__in=superseded).update(superseded_by=newer or supply)
    report = {**finish.report, "superseded": [str(pk) for pk in superseded]}
    fields = {"superseded_by": newer} if newer is not None else {}
    advance(claim, report=report, **{**finish.counts, "accepted_count": loaded}, **fields)


def _overlapping(supply: Supply):
    """The agency's other supplies of the dataset whose records are in the warehouse and
    count (loaded, whether or not their report is written yet, and not superseded), whose
    periods overlap this one's."""
    return (
        Supply.objects.filter(status__in=LOADED_STATUSES, superseded_by__isnull=True)
        .filter(
            agency=supply.agency,
            dataset=supply.dataset,
            period_start__lte=supply.period_end,
            period_end__gte=supply.period_start,
        )
        .exclude(pk=supply.pk)
    )


def overlapping_supply(supply: Supply) -> Supply | None:
    """A current supply this one would count twice with: records of a period that overlaps
    this one's without being the same (the same period is replaced; so is a nil return within
    it)."""
    return (
        _overlapping(supply)
        .exclude(period_start=supply.period_start, period_end=supply.period_end)
        .exclude(
            nil_return=True,
            period_start__gte=supply.period_start,
            period_end__lte=supply.period_end,
        )
        .order_by("period_start")
        .first()
    )


def overlap_problem(supply: Supply, overlap: Supply) -> str:
    return (
        f"The period {supply.period_start:%d/%m/%Y} to {supply.period_end:%d/%m/%Y} overlaps "
        f"{supply.agency}'s supply of {overlap.period_start:%d/%m/%Y} to "
        f"{overlap.period_end:%d/%m/%Y}"
        + ("" if overlap.nil_return else f" ({overlap.accepted_count or 0:,} records)")
        + ", so records would be counted twice; nothing was loaded. To replace a supply, "
        "supply the same period again; to supply a different period, withdraw the supply it "
        "overlaps first."
    )


def _copy_identifying(claim: Claim, cursor, identifying: pd.DataFrame) -> None:
    """A chunk's identifying fields, each record's encrypted with the supply's key and bound
    to its row, held until the records they belong to are all in."""
    if identifying.empty:
        return
    supply_id = str(claim.supply.pk)
    lines = copytext.json_objects(identifying).to_pylist()
    ciphertexts = [
        "\\x"
        + encrypt_bytes(line.encode(), claim.data_key, context=f"{supply_id}:{row}".encode()).hex()
        for row, line in zip(identifying.index, lines, strict=True)
    ]
    table = pa.table({"row_number": pa.array(identifying.index), "ciphertext": ciphertexts})
    copytext.copy_into(cursor, "identifying_load", table.column_names, copytext.copy_text(table))


def records_delete(cursor, supply_ids: list[str]) -> None:
    """The supplies' records and their identifying fields, deleted in SQL: Django's cascade
    would fetch every record into memory first."""
    for model in (IdentifyingRecord, Record):
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE supply_id = ANY(%s::uuid[])").format(
                sql.Identifier(model._meta.db_table)
            ),
            [supply_ids],
        )


def _identifying_insert(cursor, supply: Supply) -> None:
    cursor.execute(
        sql.SQL(
            "INSERT INTO {identifying} (record_id, supply_id, ciphertext) "
            "SELECT r.id, r.supply_id, l.ciphertext FROM {records} r "
            "JOIN identifying_load l ON l.row_number = r.row_number WHERE r.supply_id = %s"
        ).format(
            identifying=sql.Identifier(IdentifyingRecord._meta.db_table),
            records=sql.Identifier(Record._meta.db_table),
        ),
        [str(supply.pk)],
    )


def date_linked_records(cursor, supply: Supply) -> None:
    """Records dated by a link (offender, victim) take their offence's date, both when they
    arrive after the offence and when the offence arrives after them (or comes back when a
    later supply of the offences is withdrawn)."""
    slug = supply.dataset.slug
    ids = dict(Dataset.objects.filter(is_active=True).values_list("slug", "pk"))
    for dataset in Dataset.objects.filter(is_active=True):
        if dataset.schema.event_date is not None:
            continue
        for fields, target in dataset.schema.links:
            if len(fields) != 1 or slug not in (dataset.slug, target) or target not in ids:
                continue
            params = {
                "linked": dataset.pk,
                "target": ids[target],
                "partnership": supply.agency.partnership_id,
                "supply": str(supply.pk),
                "loaded": list(LOADED_STATUSES),
            }
            # This supply's records are the linked ones, or the ones linked to: one selective
            # statement for each (an OR of the two defeats the planner).
            own = "r" if slug == dataset.slug else "o"
            # With nothing on the other side of the link yet (offences arrive before their
            # victims), there is nothing to date: skip a statement that reads every record of
            # this supply.
            other_side = Record.objects.filter(
                partnership_id=supply.agency.partnership_id,
                dataset_id=ids[target] if own == "r" else dataset.pk,
            )
            if not other_side.exists():
                continue
            cursor.execute(
                sql.SQL(
                    "UPDATE {records} r SET event_date = o.event_date, event_time = o.event_time "
                    "FROM {records} o JOIN {supplies} s ON s.id = o.supply_id "
                    "WHERE {own}.supply_id = %(supply)s "
                    "AND r.dataset_id = %(linked)s AND r.partnership_id = %(partnership)s "
                    "AND o.dataset_id = %(target)s AND o.partnership_id = %(partnership)s "
                    "AND (s.status = ANY(%(loaded)s) OR s.id = %(supply)s) "
                    "AND s.superseded_by_id IS NULL "
                    "AND {linked_key} = {key}"
                ).format(
                    records=sql.Identifier(Record._meta.db_table),
                    supplies=sql.Identifier(Supply._meta.db_table),
                    own=sql.Identifier(own),
                    linked_key=field_sql("o", fields[0]),
                    key=field_sql("r", fields[0]),
                ),
                params,
            )
