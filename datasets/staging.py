"""Intermediate results between pipeline stages: encrypted Parquet chunks per supply.

Before sanitisation the rows still hold personal data, so every chunk is encrypted with the
supply's own data key. A stage writes into a ``.partial`` folder and renames it when done, so
a stage that dies leaves nothing a later stage would mistake for its input.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from django.conf import settings

from hub.crypto import read_encrypted, write_encrypted


def supply_work_dir(supply_id) -> Path:
    return Path(settings.HUB_FILES_DIR) / "work" / str(supply_id)


class StageWriter:
    """Writes one stage's chunks; ``commit()`` makes them visible to the next stage."""

    def __init__(self, supply_id, stage: str, data_key: bytes):
        self._final = supply_work_dir(supply_id) / stage
        self._partial = self._final.with_name(f"{stage}.partial")
        shutil.rmtree(self._partial, ignore_errors=True)
        self._partial.mkdir(parents=True, mode=0o700)
        self._key = data_key
        self._count = 0

    def write(self, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=True)
        write_encrypted(
            self._partial / f"{self._count:06d}.parquet.enc", buffer.getvalue(), self._key
        )
        self._count += 1

    def commit(self) -> int:
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
