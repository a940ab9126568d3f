"""The pipeline's machinery: the order of the stages, the claim a worker takes on a stage and
the lease it renews, the hand-over to the next stage, failure and rejection, and running one
stage of one supply. The stages themselves are ``process`` (the one pass, with a module for
each of its steps) and ``report``."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from datasets.catalogue import DatasetSchema
from datasets.choices import SupplyStatus
from datasets.models import Supply
from hub.crypto import unwrap_key
from hub.services import audit_record

logger = logging.getLogger(__name__)

# Loading is the one pass over the file that checks, geocodes, sanitises and loads it.
STAGES = [SupplyStatus.LOADING, SupplyStatus.REPORTING]
# Where each stage's progress bar runs, in percent of the whole supply.
PROGRESS_SPAN = {SupplyStatus.LOADING: (0, 95), SupplyStatus.REPORTING: (95, 100)}
# Errors and warnings kept in the report itself; all of them are counted, and every rejected
# row is in the downloadable rejected-rows file.
REPORT_LIST_LIMIT = 1000
# Columns one step of the pass leaves for a later one: the supplied point (check → geocode)
# and the record's date and time (sanitise → load).
LATITUDE, LONGITUDE = "_latitude", "_longitude"
EVENT_DATE, EVENT_TIME = "_event_date", "_event_time"
# A supply's records are in the warehouse from the moment its load commits.
LOADED_STATUSES = (SupplyStatus.REPORTING, SupplyStatus.COMPLETED)
T = TypeVar("T")


class SupplyRejected(Exception):
    """The supply as a whole cannot be used; ``problems`` say why, for the supplier."""

    def __init__(self, problems: list[str], *, counts: dict[str, int] | None = None, **report):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.counts = counts or {}
        self.report = report


class StageLost(Exception):
    """Another worker has taken this worker's stage (its lease ran out): this one stops and
    leaves the supply to it."""


@dataclass
class Claim:
    supply: Supply
    schema: DatasetSchema
    data_key: bytes
    stage: str
    token: uuid.UUID

    def held(self):
        """The supply's row while this claim still holds its stage: at the stage, and not
        claimed since by another worker (whose claim drew another token)."""
        return Supply.objects.filter(pk=self.supply.pk, status=self.stage, claim_token=self.token)

    def lease_renew(self) -> None:
        self.held().update(lease_until=_lease())

    def progress(self, fraction: float) -> None:
        """Record progress within the stage and renew the lease."""
        low, high = PROGRESS_SPAN[self.stage]
        self.held().update(
            progress=int(low + (high - low) * min(max(fraction, 0.0), 1.0)),
            lease_until=_lease(),
        )


def _lease() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=settings.HUB_STAGE_LEASE_SECONDS)


def claim(supply_id, stage: str) -> Claim | None:
    """Take the stage for this worker, or None if it is not this stage's turn or is held."""
    now = timezone.now()
    ready = Q(status=stage) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    if stage == STAGES[0]:
        ready |= Q(status=SupplyStatus.QUEUED)
    token = uuid.uuid4()
    taken = Supply.objects.filter(ready, pk=supply_id).update(
        status=stage, lease_until=_lease(), attempts=F("attempts") + 1, claim_token=token
    )
    if not taken:
        return None
    supply = Supply.objects.select_related("dataset", "agency__partnership").get(pk=supply_id)
    if supply.attempts > settings.HUB_STAGE_MAX_ATTEMPTS:
        fail(supply, stage, "Processing stopped after repeated attempts at this stage.")
        return None
    key = unwrap_key(bytes(supply.data_key_wrapped))
    return Claim(
        supply=supply, schema=supply.dataset.schema, data_key=key, stage=stage, token=token
    )


def advance(claim: Claim, *, report: dict | None = None, **fields) -> str | None:
    """Hand the supply to the next stage (or finish it); returns the next stage, if any."""
    index = STAGES.index(claim.stage)
    following = STAGES[index + 1] if index + 1 < len(STAGES) else None
    values = {
        "status": following or SupplyStatus.COMPLETED,
        "lease_until": None,
        "attempts": 0,
        "progress": PROGRESS_SPAN[claim.stage][1],
        **fields,
    }
    if report is not None:
        values["report"] = report
    if following is None:
        values["finished_at"] = timezone.now()
    # The hand-over and its audit entry together: no one sees one without the other.
    with transaction.atomic():
        if not claim.held().update(**values):
            raise StageLost
        audit_record(
            actor=None,
            action="supply_stage_done",
            agency=claim.supply.agency,
            dataset_slug=claim.supply.dataset.slug,
            target=claim.supply,
            detail={"stage": claim.stage, "next": following or SupplyStatus.COMPLETED},
            system="pipeline",
        )
    return following


def fail(supply: Supply, stage: str, message: str, *, held=None) -> None:
    """The supply cannot be processed now; a co-ordinator or the supplier may retry it.

    Only while it is still at ``stage`` (or waiting for it), and, given the claim's ``held``
    rows, while that claim holds it: a worker that lost its lease must not fail a supply that
    another worker has taken on, or completed."""
    report = {**supply.report, "failed_stage": stage, "failure": message}
    rows = held if held is not None else Supply.objects.filter(pk=supply.pk)
    failed = rows.filter(status__in=[stage, SupplyStatus.QUEUED]).update(
        status=SupplyStatus.FAILED,
        lease_until=None,
        failure=message,
        report=report,
        finished_at=timezone.now(),
    )
    if not failed:
        return
    audit_record(
        actor=None,
        action="supply_failed",
        agency=supply.agency,
        dataset_slug=supply.dataset.slug,
        target=supply,
        detail={"stage": stage, "failure": message},
        system="pipeline",
    )


def reject(claim: Claim, rejection: SupplyRejected) -> None:
    """Refuse the whole supply: nothing of it is loaded."""
    report = {
        **claim.supply.report,
        **rejection.report,
        "problems": rejection.problems,
    }
    rejected = claim.held().update(
        status=SupplyStatus.REJECTED,
        lease_until=None,
        progress=100,
        report=report,
        accepted_count=0,
        finished_at=timezone.now(),
        **rejection.counts,
    )
    if not rejected:
        return
    audit_record(
        actor=None,
        action="supply_rejected",
        agency=claim.supply.agency,
        dataset_slug=claim.supply.dataset.slug,
        target=claim.supply,
        detail={"problems": rejection.problems},
        system="pipeline",
    )


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items, each made in a background thread while the caller works on the one before.

    Decryption, parsing and pyarrow kernels release the GIL, so the two threads share the
    cores. At most two items are held at once.
    """
    end = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(next, items, end)
        while (item := pending.result()) is not end:
            pending = pool.submit(next, items, end)
            yield item


def stage_functions() -> dict[str, Callable[[Claim], None]]:
    """Each stage's function. The stages are built on this module's claim and hand-over, so
    they are imported when a stage runs, not when this module loads."""
    from datasets.pipeline import process, report

    return {SupplyStatus.LOADING: process.process, SupplyStatus.REPORTING: report.report}


def run_stage(supply_id, stage: str) -> str | None:
    """Claim and run one stage; returns the stage to queue next, if any.

    A stage that is not this supply's turn, or is held by a live worker, is skipped quietly:
    duplicate deliveries of a task are expected.
    """
    taken = claim(supply_id, stage)
    if taken is None:
        return None
    try:
        stage_functions()[stage](taken)
    except StageLost:
        logger.info("Supply %s: another worker took over the %s stage", supply_id, stage)
        return None
    except SupplyRejected as rejection:
        reject(taken, rejection)
        return None
    except Exception:
        # The traceback goes to the worker's log; the supply row gets a message free of data.
        logger.exception("Supply %s failed at %s", supply_id, stage)
        message = f"An internal error stopped the {stage} stage."
        fail(taken.supply, stage, message, held=taken.held())
        return None
    status = Supply.objects.filter(pk=supply_id).values_list("status", flat=True).first()
    return status if status in STAGES else None
