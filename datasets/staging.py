"""Intermediate results between pipeline stages: encrypted Parquet chunks per supply.

Before sanitisation the rows still hold personal data, so every chunk is encrypted with the
supply's own data key. A stage writes into a ``.partial`` folder and renames it when done, so
a stage that dies leaves nothing a later stage would mistake for its input.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pandas as pd
from django.conf import settings

from hub.crypto import read_encrypted, write_encrypted

T = TypeVar("T")


def supply_work_dir(supply_id) -> Path:
    return Path(settings.HUB_FILES_DIR) / "work" / str(supply_id)


class StageWriter:
    """Writes one stage's chunks; ``commit()`` makes them visible to the next stage.

    Each chunk is encoded and encrypted in a background thread while the stage works on the
    next one (Parquet and AES-GCM release the GIL); a frame must not change once written. At
    most one write is outstanding, and a failed write raises from the next call.
    """

    def __init__(self, supply_id, stage: str, data_key: bytes):
        self._final = supply_work_dir(supply_id) / stage
        self._partial = self._final.with_name(f"{stage}.partial")
        shutil.rmtree(self._partial, ignore_errors=True)
        self._partial.mkdir(parents=True, mode=0o700)
        self._key = data_key
        self._count = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stage-{stage}")
        self._pending: Future | None = None

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _write(self, frame: pd.DataFrame, path: Path) -> None:
        buffer = io.BytesIO()
        # The next stage reads whole chunks, so column statistics would never be used.
        frame.to_parquet(buffer, index=True, write_statistics=False)
        write_encrypted(path, buffer.getvalue(), self._key)

    def write(self, frame: pd.DataFrame) -> None:
        self._wait()
        path = self._partial / f"{self._count:06d}.parquet.enc"
        self._pending = self._pool.submit(self._write, frame, path)
        self._count += 1

    def discard(self) -> None:
        """End the stage with no output (its supply was rejected): nothing written is kept,
        and no write is left running to recreate the folder after it is cleared."""
        try:
            self._wait()
        finally:
            self._pool.shutdown()
            shutil.rmtree(self._partial, ignore_errors=True)

    def commit(self) -> int:
        try:
            self._wait()
        finally:
            self._pool.shutdown()
        shutil.rmtree(self._final, ignore_errors=True)
        self._partial.rename(self._final)
        return self._count


def stage_chunk_count(supply_id, stage: str) -> int:
    return len(list((supply_work_dir(supply_id) / stage).glob("*.parquet.enc")))


def stage_read(supply_id, stage: str, data_key: bytes) -> Iterator[pd.DataFrame]:
    folder = supply_work_dir(supply_id) / stage
    if not folder.is_dir():
        raise FileNotFoundError(f"The {stage} stage of supply {supply_id} has no results")
    for path in sorted(folder.glob("*.parquet.enc")):
        yield pd.read_parquet(io.BytesIO(read_encrypted(path, data_key)))


def stage_clear(supply_id) -> None:
    shutil.rmtree(supply_work_dir(supply_id), ignore_errors=True)


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items, each made in a background thread while the caller works on the one before.

    Decryption, Parquet, pyarrow kernels and a COPY waiting on PostgreSQL release the GIL, so
    the two threads keep both cores busy. At most two items are held at once.
    """
    end = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(next, items, end)
        while (item := pending.result()) is not end:
            pending = pool.submit(next, items, end)
            yield item
