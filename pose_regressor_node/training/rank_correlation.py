"""Spearman's rank correlation with a confidence interval that respects time.

A drive's errors are correlated over seconds: neighbouring frames are nearly the same evidence, so
600 frames hold a few dozen independent pieces of it, and a bootstrap that resamples single frames
would give far too narrow an interval. The moving-block bootstrap (Kuensch 1989) resamples runs of
consecutive frames instead, keeping that correlation inside each run.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["BLOCK_FRAMES", "spearman", "spearman_interval"]

BLOCK_FRAMES = 50
"""Frames per resampled block: 5 s at the 10 Hz of the synthetic drives, longer than the errors' memory."""


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis (ties broken by order: the inputs are continuous)."""
    return np.argsort(np.argsort(values, axis=-1, kind="stable"), axis=-1, kind="stable").astype(float)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=-1) / denom


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho of two equally long series; nan for fewer than three values."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) != len(y):
        raise ValueError(f"series differ in length: {len(x)} and {len(y)}")
    return float(_pearson_rows(_ranks(x), _ranks(y))) if len(x) > 2 else float("nan")


def spearman_interval(x: np.ndarray, y: np.ndarray, block: int = BLOCK_FRAMES, rounds: int = 1000,
                      level: float = 0.95, seed: int = 0) -> Tuple[float, float]:
    """Percentile interval of Spearman's rho under the moving-block bootstrap; ``x`` and ``y`` in time order.

    A series shorter than two blocks gets blocks of a quarter of its length; fewer than eight
    values give (nan, nan).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) != len(y):
        raise ValueError(f"series differ in length: {len(x)} and {len(y)}")
    n = len(x)
    if n < 8:
        return float("nan"), float("nan")
    block = max(1, min(block, n // 4)) if n < 2 * block else block
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block + 1, size=(rounds, -(-n // block)))
    index = (starts[:, :, None] + np.arange(block)).reshape(rounds, -1)[:, :n]
    rho = _pearson_rows(_ranks(x[index]), _ranks(y[index]))
    tail = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(rho, [tail, 1.0 - tail])
    return float(lo), float(hi)
