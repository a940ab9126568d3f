"""Chunks between stages: written and read in background threads, in order, errors surfacing."""

from __future__ import annotations

import threading
import uuid

import pandas as pd
import pytest

from datasets.staging import (
    StageWriter,
    read_ahead,
    stage_chunk_count,
    stage_read,
    supply_work_dir,
)
from hub.crypto import new_data_key


@pytest.fixture
def files_dir(settings, tmp_path):
    settings.HUB_FILES_DIR = tmp_path
    return tmp_path


def test_read_ahead_keeps_order_and_makes_items_in_another_thread():
    makers = []

    def items():
        for number in range(5):
            makers.append(threading.current_thread())
            yield number

    assert list(read_ahead(items())) == [0, 1, 2, 3, 4]
    assert threading.current_thread() not in makers


def test_read_ahead_raises_the_error_of_the_item_that_failed():
    def items():
        yield 1
        raise ValueError("chunk 2 is damaged")

    got = []
    with pytest.raises(ValueError, match="chunk 2 is damaged"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1]


def test_stage_chunks_come_back_in_order_and_intact(files_dir):
    supply_id, key = uuid.uuid4(), new_data_key()
    frames = [
        pd.DataFrame({"ref": [f"R{n}", None], "count": pd.array([n, None], dtype="Int64")},
                     index=[2 * n + 2, 2 * n + 3])
        for n in range(4)
    ]  # fmt: skip
    writer = StageWriter(supply_id, "validated", key)
    for frame in frames:
        writer.write(frame)

    assert writer.commit() == 4
    assert stage_chunk_count(supply_id, "validated") == 4
    for read, written in zip(stage_read(supply_id, "validated", key), frames, strict=True):
        pd.testing.assert_frame_equal(read, written)


def test_a_chunk_that_cannot_be_written_fails_the_stage_and_publishes_nothing(files_dir):
    supply_id = uuid.uuid4()
    writer = StageWriter(supply_id, "geocoded", new_data_key())
    writer.write(pd.DataFrame({"mixed": [object()]}))  # Parquet cannot hold it

    with pytest.raises(Exception, match="object"):
        writer.write(pd.DataFrame({"fine": [1]}))
    with pytest.raises(FileNotFoundError):
        next(stage_read(supply_id, "geocoded", new_data_key()))
    assert not (supply_work_dir(supply_id) / "geocoded").exists()
