"""Spearman's rho and its moving-block bootstrap interval (how noisy one drive's rank correlation is)."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from pose_regressor_node.training.rank_correlation import spearman, spearman_interval


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """A unit-variance series whose neighbours are correlated like a drive's errors (memory ~ 1 / (1 - phi))."""
    noise = rng.normal(size=n)
    out = np.empty(n)
    out[0] = noise[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + np.sqrt(1.0 - phi * phi) * noise[i]
    return out


def test_spearman_matches_scipy_and_is_rank_based():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=300), rng.normal(size=300)
    y = y + 0.5 * x
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert spearman(x, np.exp(3.0 * y)) == pytest.approx(spearman(x, y), abs=1e-12)  # a sigma or a variance: same rho
    assert spearman(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1.0)
    assert np.isnan(spearman([1.0, 2.0], [2.0, 1.0]))
    with pytest.raises(ValueError, match="differ in length"):
        spearman([1.0, 2.0, 3.0], [1.0, 2.0])


def test_the_block_interval_covers_zero_for_unrelated_correlated_series_where_a_frame_bootstrap_does_not():
    """Two unrelated series with memory: a per-frame bootstrap treats 600 frames as 600 independent
    values and excludes the true rho = 0 far more often than its nominal 5 %; 50-frame blocks do not."""
    rng = np.random.default_rng(1)
    trials = 40
    covered = {50: 0, 1: 0}
    for _ in range(trials):
        x, y = _ar1(rng, 600, 0.95), _ar1(rng, 600, 0.95)
        for block in covered:
            lo, hi = spearman_interval(x, y, block=block, rounds=200)
            covered[block] += lo <= 0.0 <= hi
    assert covered[50] / trials >= 0.8
    assert covered[1] / trials <= 0.6


def test_a_strong_relation_gets_an_interval_around_it_that_excludes_zero():
    rng = np.random.default_rng(2)
    x = _ar1(rng, 600, 0.9)
    y = x + 0.5 * _ar1(rng, 600, 0.9)
    rho = spearman(x, y)
    lo, hi = spearman_interval(x, y)
    assert 0.0 < lo <= rho <= hi < 1.0
    assert spearman_interval(x, y) == (lo, hi)  # seeded: the same figures on every run


def test_short_series_get_shorter_blocks_or_no_interval():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    lo, hi = spearman_interval(x, x + 0.1 * rng.normal(size=40))  # 40 < 2 blocks of 50: blocks of 10
    assert 0.5 < lo <= hi <= 1.0
    assert all(np.isnan(spearman_interval(x[:5], x[:5])))
