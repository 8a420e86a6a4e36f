"""How a regressor's per-frame variance splits over the map's axes.

The uncertainty head predicts one variance for the translation and one for the rotation, per frame.
A car's camera does not err alike on every axis: it drives at a fixed height, so its position errs
in the floor's plane and hardly in z; it turns about the vertical, so its rotation errs in yaw
(on the synthetic test drive 96-99 % of the squared rotation error is yaw, about 0 % of the
translation error is z). Spreading one variance over three axes equally then gives z, roll and
pitch far too much of it, x, y and yaw too little, and the published regions hold the wrong
frames: too many small errors inside 1 sigma, too many large ones outside 2 sigma.

``ErrorShape`` holds one factor per map axis for each of the two variances, fitted on the
validation split when the model is calibrated and stored with its calibration: the covariance of
a frame is ``variance * diag(factors)``. Factors sum to 3 (an isotropic model has all ones, what
a model calibrated before shapes existed gets), and none is below ``MIN_FACTOR``, so an axis the
validation split never saw err still gets a little variance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping

import numpy as np

__all__ = ["ErrorShape", "MIN_FACTOR", "mahalanobis"]

MIN_FACTOR = 0.03  # an axis keeps at least 1 % of the variance
_AXES = ("x", "y", "z")


def _ones() -> np.ndarray:
    return np.ones(3)


def _factors(squared_errors: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Per-axis mean of e_i^2 / variance, normalised to sum 3, floored at ``MIN_FACTOR``."""
    raw = np.mean(np.asarray(squared_errors, float) / np.asarray(variances, float)[:, None], axis=0)
    if not np.all(np.isfinite(raw)) or raw.sum() <= 0:
        return _ones()
    factors = np.maximum(3.0 * raw / raw.sum(), MIN_FACTOR)
    return 3.0 * factors / factors.sum()


def mahalanobis(errors: np.ndarray, variances: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of (N, 3) error vectors under ``variance * diag(factors)``: follows
    chi-square(3) when the errors are what the shape and the variances say."""
    return np.sum(np.square(errors) / (np.asarray(variances, float)[:, None] * np.asarray(factors)[None, :]), axis=1)


@dataclass(frozen=True)
class ErrorShape:
    translation: np.ndarray = field(default_factory=_ones)  # factors on x, y, z of the map
    rotation: np.ndarray = field(default_factory=_ones)  # factors on rotations about x, y, z of the map

    @classmethod
    def fit(cls, translation_errors: np.ndarray, translation_variances: np.ndarray, rotation_errors: np.ndarray,
            rotation_variances: np.ndarray) -> ErrorShape:
        """From (N, 3) error vectors in map axes (rotation: the rotation vector of pred * truth^-1) and
        the head's (N,) variances on the same frames."""
        return cls(_factors(np.square(translation_errors), translation_variances),
                   _factors(np.square(rotation_errors), rotation_variances))

    @classmethod
    def from_calibration(cls, calibration: Mapping[str, float]) -> ErrorShape:
        """The shape a model's calibration holds; isotropic for models calibrated without one."""
        try:
            return cls(np.array([float(calibration[f"translation_factor_{a}"]) for a in _AXES]),
                       np.array([float(calibration[f"rotation_factor_{a}"]) for a in _AXES]))
        except KeyError:
            return cls()

    def to_calibration(self) -> Dict[str, float]:
        out = {f"translation_factor_{a}": float(v) for a, v in zip(_AXES, self.translation)}
        out.update({f"rotation_factor_{a}": float(v) for a, v in zip(_AXES, self.rotation)})
        return out
