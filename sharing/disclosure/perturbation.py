"""Cell-key perturbation, the method of the ONS's Census 2021 tables and the ABS's TableBuilder.

Every record is given a key from 0 to KEY_RANGE − 1 when it is loaded (Record.record_key, never
shown; datasets.pipeline.record_table.record_keys). A cell's key is the sum of its records'
keys modulo KEY_RANGE, so the same records make the same cell key whatever query gathered
them; the perturbation table (ptable), looked up by the cell's count and key, gives the noise
added. Two overlapping answers therefore cannot be differenced to an exact count: each cell's
noise is fixed but unknown.

The ptable is made from the hub's secret HUB_PERTURBATION_KEY. Its rows follow one public rule
(KEYS_BY_NOISE): noise within ±3, exactly zero on average, never a negative count, and never a
count of 1 or 2 shown (true counts of 1 and 2 become 0 or 3 to 5). Which keys give which noise
is drawn from the secret, by SHAKE-256 and a stable sort, so the table is the same on every
machine and with any version of numpy; no one outside the hub can tell a cell's noise from its
key. Rows run to LARGEST_ROW; larger counts reuse rows 501 to 750, as the ONS's package does.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

import numpy as np
import pandas as pd
from django.conf import settings

from datasets.models import RECORD_KEY_RANGE

KEY_RANGE = RECORD_KEY_RANGE
LARGEST_ROW = 750
REUSED_ROWS = 250  # counts above LARGEST_ROW take the row of the same remainder in 501..750
BOUND = 3
# How many of the 4,096 keys give each noise, by the cell's count: whole numbers whose noise
# sums to exactly zero. From 6 records on, triangular weights 1:2:3:4:3:2:1. Below 6 the noise
# that would show a negative count, a 1 or a 2 is left out and the rest rebalanced.
KEYS_BY_NOISE: dict[int, dict[int, int]] = {
    1: {-1: 2816, 2: 1024, 3: 256},
    2: {-2: 1792, 1: 1280, 2: 768, 3: 256},
    3: {-3: 768, 0: 1792, 1: 1024, 2: 256, 3: 256},
    4: {-1: 1664, 0: 1280, 1: 768, 2: 256, 3: 128},
    5: {-2: 896, -1: 768, 0: 896, 1: 768, 2: 512, 3: 256},
}
TRIANGULAR = {-3: 256, -2: 512, -1: 768, 0: 1024, 1: 768, 2: 512, 3: 256}


def keys_by_noise(count: int) -> dict[int, int]:
    """How many keys give each noise value for a cell of ``count`` records (count ≥ 1)."""
    return KEYS_BY_NOISE.get(count, TRIANGULAR)


def distribution(count: int) -> dict[int, float]:
    """The probability of each noise value for a cell of ``count`` records."""
    return {noise: keys / KEY_RANGE for noise, keys in keys_by_noise(count).items()}


@functools.lru_cache(maxsize=2)
def _ptable(secret: str) -> np.ndarray:
    seed = hmac.new(secret.encode(), b"csp-hub perturbation table v1", hashlib.sha256).digest()
    # One 64-bit draw per (row, key), in a stream fixed by the secret alone; sorting a row's
    # draws orders its keys, and the row's noise values are dealt out in that order.
    stream = hashlib.shake_256(seed).digest(8 * LARGEST_ROW * KEY_RANGE)
    draws = np.frombuffer(stream, dtype="<u8").reshape(LARGEST_ROW, KEY_RANGE)
    order = np.argsort(draws, axis=1, kind="stable")
    table = np.zeros((LARGEST_ROW + 1, KEY_RANGE), dtype=np.int8)  # row 0: an empty cell
    for count in range(1, LARGEST_ROW + 1):
        counts = keys_by_noise(count)
        table[count, order[count - 1]] = np.repeat(list(counts), list(counts.values()))
    table.setflags(write=False)
    return table


def ptable() -> np.ndarray:
    """The hub's ptable: noise by [count row, cell key]."""
    return _ptable(settings.HUB_PERTURBATION_KEY)


def ptable_frame() -> pd.DataFrame:
    """The ptable in the ONS's layout (pcv, ckey, pvalue), for checking against their package."""
    table = ptable()
    pcv, ckey = np.meshgrid(np.arange(1, LARGEST_ROW + 1), np.arange(KEY_RANGE), indexing="ij")
    return pd.DataFrame(
        {"pcv": pcv.ravel(), "ckey": ckey.ravel(), "pvalue": table[1:].ravel().astype(int)}
    )


def perturbed(counts, key_sums) -> np.ndarray:
    """Each cell's count with its noise: ``counts`` of records and the sums of their keys."""
    counts = np.asarray(counts, dtype=np.int64)
    keys = np.asarray(key_sums, dtype=np.int64) % KEY_RANGE
    first_reused = LARGEST_ROW - REUSED_ROWS + 1
    rows = np.where(counts <= LARGEST_ROW, counts, (counts - 1) % REUSED_ROWS + first_reused)
    return counts + ptable()[rows, keys]
