"""Is the odometry consistent with the regressed poses? A chi-square test on relative motion.

Over a sliding window the odometry trajectory (scaled by the filter's current distance scale) is
aligned to the regressed positions by the best rigid transform (weighted Umeyama), and the
residuals are tested against chi-square: absolute poses are noisy and may be biased, but over a
couple of seconds the *shape* of the path they trace must match the odometry's. Testing the shape,
not the absolute offset, is what tells the two failure cases apart:

- the shape matches but the poses sit away from the filter: the filter (or the regressor, locally)
  is off, and odometry is fine;
- the shape matches only once the odometry is stretched by a factor ``k``: a scale fault (a wrong
  tyre radius, a visual odometry whose scale collapsed); the odometry's direction and turns are
  still worth using while the filter re-estimates its scale;
- the shape does not match at all (wheels stuck while the car moves, a spinning wheel): the
  odometry is wrong, and the filter predicts without it until windows match again.

The regressed poses carry 5 % gross outliers; the fit drops residuals beyond the 0.999 quantile
and refits once, so a few outliers cannot fail a window. The test is a windowed relative-pose
chi-square test in the spirit of the residual-based fault detection of integrity monitoring
(Sturza 1988), applied to the relative motion that odometry measures.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from scipy.stats import chi2

__all__ = ["WindowTest", "relative_motion_test", "window_variances", "umeyama", "chi2_quantile", "CONSISTENT", "SCALE",
           "INCONSISTENT"]

CONSISTENT, SCALE, INCONSISTENT = "consistent", "scale", "inconsistent"
MIN_PATH_FOR_SCALE_M = 0.5  # shorter paths (after scaling) cannot tell a scale fault from noise
MIN_ODOMETRY_PATH_M = 0.02  # odometry that barely moves has no scale to fix: it is stuck


@dataclass(frozen=True)
class WindowTest:
    """One window's verdict: ``consistent``, ``scale`` (matches once stretched by ``scale_ratio``) or
    ``inconsistent``; ``statistic`` / ``threshold`` is the rigid fit's chi-square against its quantile."""

    poses: int
    statistic: float
    threshold: float
    scale_ratio: float
    verdict: str


def umeyama(source: np.ndarray, target: np.ndarray, weights: np.ndarray,
            with_scale: bool) -> Tuple[np.ndarray, np.ndarray, float]:
    """Rotation, translation and scale with ``target ~ k R source + t`` in weighted least squares
    (Umeyama 1991); k = 1 unless ``with_scale``. Points are rows (2-D or 3-D)."""
    w = weights / weights.sum()
    mu_s, mu_t = w @ source, w @ target
    s, t = source - mu_s, target - mu_t
    cov = (t * w[:, None]).T @ s
    u, d, vt = np.linalg.svd(cov)
    fix = np.ones(len(d))
    fix[-1] = 1.0 if np.linalg.det(u) * np.linalg.det(vt) > 0 else -1.0
    rotation = (u * fix) @ vt
    spread = float(w @ np.einsum("ij,ij->i", s, s))
    scale = float((d * fix).sum() / spread) if with_scale and spread > 1e-12 else 1.0
    return rotation, mu_t - scale * rotation @ mu_s, scale


@functools.lru_cache(maxsize=4096)
def chi2_quantile(probability: float, dof: int) -> float:
    """chi-square quantile; cached, as scipy takes 100+ microseconds per call and the dofs repeat."""
    return float(chi2.ppf(probability, dof))


def _statistic(source: np.ndarray, target: np.ndarray, variances: np.ndarray,
               with_scale: bool) -> Tuple[float, np.ndarray, float]:
    rotation, translation, scale = umeyama(source, target, 1.0 / variances, with_scale)
    residual = target - (scale * source @ rotation.T + translation)
    d2 = np.einsum("ij,ij->i", residual, residual) / variances
    return float(d2.sum()), d2, scale


def relative_motion_test(regressed: np.ndarray, odometry: np.ndarray, variances: np.ndarray,
                         probability: float, min_poses: int) -> Optional[WindowTest]:
    """``regressed`` and ``odometry`` positions (n, 2 or 3) at the same stamps, ``variances`` (n,) of
    each residual (the regressed pose's position variance plus the odometry's growth since the window
    began). None when the window holds too few poses to test."""
    n, dim = regressed.shape
    if n < min_poses:
        return None
    params = dim + dim * (dim - 1) // 2  # translation + rotation of the alignment
    keep = np.ones(n, bool)
    outlier = chi2_quantile(0.999, dim)
    for _ in range(2):  # fit, drop gross outliers, refit
        total, d2, _ = _statistic(odometry[keep], regressed[keep], variances[keep], with_scale=False)
        kept = np.flatnonzero(keep)
        worse = kept[d2 > outlier]
        if len(worse) == 0 or keep.sum() - len(worse) < min_poses:
            break
        keep[worse] = False
    m = int(keep.sum())
    dof = dim * m - params
    threshold = chi2_quantile(probability, max(1, dof))
    if total <= threshold:
        return WindowTest(m, total, threshold, 1.0, CONSISTENT)
    path = float(np.linalg.norm(np.diff(odometry[keep], axis=0), axis=1).sum())
    if path >= MIN_ODOMETRY_PATH_M:
        scaled, _, ratio = _statistic(odometry[keep], regressed[keep], variances[keep], with_scale=True)
        if scaled <= chi2_quantile(probability, max(1, dof - 1)) and ratio > 0 and math.isfinite(ratio) \
                and path * ratio >= MIN_PATH_FOR_SCALE_M:
            return WindowTest(m, total, threshold, ratio, SCALE)
    return WindowTest(m, total, threshold, 1.0, INCONSISTENT)


def window_variances(regressed_variances: Union[Sequence[float], np.ndarray],
                     odometry_distances: Union[Sequence[float], np.ndarray], elapsed_s: Union[Sequence[float], np.ndarray],
                     per_m: float, per_s: float) -> np.ndarray:
    """Each residual's variance: the regressed position's own plus what odometry accumulates over the
    distance and time since the window began."""
    return (np.asarray(regressed_variances, float) + (per_m * np.asarray(odometry_distances, float)) ** 2
            + per_s ** 2 * np.asarray(elapsed_s, float))
