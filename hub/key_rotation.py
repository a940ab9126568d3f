"""Master-key rotation: re-wrapping every stored data key under the current master key.

Files are never re-encrypted; only their wrapped data keys change, so a rotation is quick and
the hub keeps running. Each batch is its own transaction and locks only the rows it re-wraps,
skipping rows another process holds, so a run can be stopped and run again at any time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction

from hub.choices import AuditAction
from hub.crypto import (
    DecryptionError,
    master_key_id,
    rewrap_key,
    unwrapping_key_id,
    wrapped_key_id,
)
from hub.services import audit_record

# Every model holding wrapped data keys, with the field recording the wrapping key's id if it
# has one. Identifying fields and intermediate chunks are under their supply's data key.
WRAPPED_KEY_MODELS: tuple[tuple[str, str | None], ...] = (
    ("datasets.Supply", "master_key_id"),
    ("sharing.Extract", None),
    ("sharing.DocumentVersion", "master_key_id"),
)
UNKNOWN_KEY = "unknown"


@dataclass
class RotationReport:
    """What one run did, per model label."""

    key_id: str
    rewrapped: Counter = field(default_factory=Counter)
    # Rows another transaction held; the next run re-wraps them.
    in_use: Counter = field(default_factory=Counter)
    # Rows under a master key that is not configured, by model and key id.
    unreadable: dict[str, Counter] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return not self.interrupted and not +self.in_use and not self.unreadable

    def as_detail(self) -> dict:
        return {
            "to_key": self.key_id,
            "rewrapped": dict(self.rewrapped),
            "in_use": dict(+self.in_use),
            "unreadable": {label: dict(ids) for label, ids in self.unreadable.items()},
            "interrupted": self.interrupted,
        }


def _rows(label: str):
    model = apps.get_model(label)
    return model, model.objects.exclude(data_key_wrapped=None).order_by("pk")


def _values(queryset, id_field: str | None):
    """(pk, wrapped key, stored key id or None) for each row."""
    if id_field is None:
        return (
            (pk, bytes(wrapped), None)
            for pk, wrapped in queryset.values_list("pk", "data_key_wrapped")
        )
    return (
        (pk, bytes(wrapped), stored)
        for pk, wrapped, stored in queryset.values_list("pk", "data_key_wrapped", id_field)
    )


def master_key_census() -> dict[str, Counter]:
    """How many data keys each master key id wraps, per model label; ``unknown`` for keys no
    configured master key unwraps and that record no key id."""
    census: dict[str, Counter] = {}
    for label, id_field in WRAPPED_KEY_MODELS:
        _model, rows = _rows(label)
        counts: Counter = Counter()
        for _pk, wrapped, stored in _values(rows, id_field):
            counts[unwrapping_key_id(wrapped) or stored or UNKNOWN_KEY] += 1
        census[label] = counts
    return census


def _stale(wrapped: bytes, stored: str | None, id_field: str | None, current: str) -> bool:
    """Not labelled with the current key (unlabelled keys are re-wrapped to say which key
    wraps them), or the row records another key id."""
    return wrapped_key_id(wrapped) != current or (id_field is not None and stored != current)


def master_key_rotate(
    *,
    batch_size: int = 500,
    on_batch: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-wrap every data key not under the current master key; audited once per run.

    Rows locked by another transaction are skipped and counted in ``in_use``; rows under a
    master key that is not configured are counted in ``unreadable`` by key id. ``on_batch``
    is told each committed batch (model label, rows re-wrapped). Safe to run again at any
    time: keys already under the current master key are left alone.
    """
    current = master_key_id()
    report = RotationReport(key_id=current)
    try:
        for label, id_field in WRAPPED_KEY_MODELS:
            _rotate_model(label, id_field, current, batch_size, report, on_batch)
    except BaseException:
        report.interrupted = True
        raise
    finally:
        audit_record(
            actor=None,
            action=AuditAction.MASTER_KEY_ROTATED,
            detail=report.as_detail(),
            system="keys",
        )
    return report


def _rotate_model(label, id_field, current, batch_size, report, on_batch) -> None:
    model, rows = _rows(label)
    after = None
    while True:
        page = rows if after is None else rows.filter(pk__gt=after)
        scanned = list(_values(page[:batch_size], id_field))
        if not scanned:
            return
        after = scanned[-1][0]
        stale = [
            pk for pk, wrapped, stored in scanned if _stale(wrapped, stored, id_field, current)
        ]
        if stale:
            done = _rewrap_batch(model, label, id_field, stale, current, report)
            if on_batch is not None:
                on_batch(label, done)


def _rewrap_batch(model, label, id_field, pks, current, report) -> int:
    """Re-wrap the rows of ``pks`` that no one else holds, in one transaction."""
    done = 0
    with transaction.atomic():
        locked = model.objects.filter(pk__in=pks).select_for_update(skip_locked=True)
        seen = set()
        for pk, wrapped, stored in _values(locked, id_field):
            seen.add(pk)
            # Read again under the lock: another process may have written a new key since.
            if not _stale(wrapped, stored, id_field, current):
                continue
            try:
                fresh = rewrap_key(wrapped)
            except DecryptionError:
                key_id = unwrapping_key_id(wrapped) or stored or UNKNOWN_KEY
                report.unreadable.setdefault(label, Counter())[key_id] += 1
                continue
            changes = {} if fresh is None else {"data_key_wrapped": fresh}
            if id_field is not None:
                changes[id_field] = current
            model.objects.filter(pk=pk).update(**changes)
            done += 1
        unseen = set(pks) - seen
        if unseen:  # held by another transaction, unless deleted since the scan
            report.in_use[label] += model.objects.filter(pk__in=unseen).count()
    report.rewrapped[label] += done
    return done
