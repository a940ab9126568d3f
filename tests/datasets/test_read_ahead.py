"""The file's next chunk read in a background thread: in order, errors surfacing."""

from __future__ import annotations

import threading

import pytest

from datasets.pipeline.stages import read_ahead


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
