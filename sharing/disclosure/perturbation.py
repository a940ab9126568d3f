"""Cell-key perturbation, the method of the ONS's Census 2021 tables and the ABS's TableBuilder.

Every record is given a random key from 0 to KEY_RANGE − 1 when it is loaded (Record.record_key,
never shown). A cell's key is the sum of its records' keys modulo KEY_RANGE, so the same
records make the same cell key whatever query gathered them; the perturbation table (ptable),
looked up by the cell's count and key, gives the noise added. Two overlapping answers
therefore cannot be differenced to an exact count: each cell's noise is fixed but unknown.

The ptable is made from the hub's secret HUB_PERTURBATION_KEY. Its rows follow one public
rule (``distribution``): noise within ±BOUND, zero mean, never a negative count, and never a
count of 1 or 2 shown (true counts of 1 and 2 become 0 or 3 to 5); which keys give which noise
is drawn from the secret, so no one outside the hub can tell a cell's noise from its key.
Rows run to LARGEST_ROW; larger counts reuse rows 501 to 750, as the ONS's own package does.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

import numpy as np
import pandas as pd
from django.conf import settings
from scipy.optimize import brentq

KEY_RANGE = 4096  # record keys 0..4095, as the ONS uses for administrative data
LARGEST_ROW = 750
REUSED_ROWS = 250  # counts above LARGEST_ROW take the row of the same remainder in 501..750
BOUND = 3
NEVER_SHOWN = (1, 2)


def distribution(count: int) -> dict[int, float]:
    """The probability of each noise value for a cell of ``count`` records (count ≥ 1).

    Triangular weights on −BOUND..BOUND (4:3:2:1 from the middle out), keeping only noise that
    leaves a count of 0 or of 3 or more; when that removes noise on one side, the weights are
    tilted (exponentially, the least change that does it) until the mean is zero again.
    """
    noise = np.arange(-BOUND, BOUND + 1)
    shown = count + noise
    allowed = (shown >= 0) & ~np.isin(shown, NEVER_SHOWN)
    noise = noise[allowed]
    weights = (BOUND + 1 - np.abs(noise)).astype(float)

    def mean(tilt: float) -> float:
        tilted = weights * np.exp(tilt * noise)
        return float((tilted * noise).sum() / tilted.sum())

    tilt = 0.0 if abs(mean(0.0)) < 1e-12 else brentq(mean, -20.0, 20.0, xtol=1e-14)
    tilted = weights * np.exp(tilt * noise)
    return dict(zip(noise.tolist(), (tilted / tilted.sum()).tolist(), strict=True))


def _row_values(count: int) -> np.ndarray:
    """KEY_RANGE noise values in the proportions of ``distribution``, largest remainders
    rounding the shares to whole keys."""
    probabilities = distribution(count)
    noise = np.array(list(probabilities))
    exact = np.array(list(probabilities.values())) * KEY_RANGE
    keys = np.floor(exact).astype(int)
    short = KEY_RANGE - keys.sum()
    keys[np.argsort(exact - keys)[::-1][:short]] += 1
    return np.repeat(noise, keys)


@functools.lru_cache(maxsize=2)
def _ptable(secret: str) -> np.ndarray:
    seed = hmac.new(secret.encode(), b"csp-hub perturbation table v1", hashlib.sha256).digest()
    generator = np.random.default_rng(int.from_bytes(seed, "big"))
    table = np.zeros((LARGEST_ROW + 1, KEY_RANGE), dtype=np.int8)  # row 0: an empty cell
    for count in range(1, LARGEST_ROW + 1):
        table[count] = generator.permutation(_row_values(count))
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
