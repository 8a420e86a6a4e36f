"""What the filter makes of one input before it touches the state: whether it is usable, and the
regressed pose's measurement covariance in the motion model's dimensions.

An unusable input is refused with a ``Decision`` that says why (the node counts the reasons in
diagnostics), never applied and never a reason to reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..measurements import OdometrySample, PoseEstimate
from .config import FusionConfig
from .motion import MotionModel

__all__ = ["Decision", "covariance_problem", "future_problem", "measurement_covariance", "odometry_problem"]


@dataclass(frozen=True)
class Decision:
    """What the filter did with one input; ``reason`` is a short machine-readable word."""

    accepted: bool
    reason: str
    detail: str = ""


def future_problem(stamp_ns: int, now_ns: Optional[int], max_future_s: float) -> Optional[Decision]:
    """A stamp further ahead of the receiver's clock than ``max_future_s`` (None: no clock to check)."""
    if now_ns is not None and stamp_ns > now_ns + int(max_future_s * 1e9):
        ahead = (stamp_ns - now_ns) * 1e-9
        return Decision(False, "future", f"stamp is {ahead:.3f} s ahead of now")
    return None


def odometry_problem(sample: OdometrySample, config: FusionConfig) -> Optional[Decision]:
    """NaN or inf anywhere, or negative twist variances where the process noise comes from them."""
    total = float(sample.twist.sum()) + float(sample.pose_covariance.sum()) + float(sample.twist_covariance.sum())
    if not math.isfinite(total):  # a NaN or an inf makes the sum one; then say which
        for name in ("twist", "pose_covariance", "twist_covariance"):
            if not math.isfinite(float(getattr(sample, name).sum())):
                return Decision(False, "invalid", f"odometry {name} has NaN or inf")
        return Decision(False, "invalid", "odometry twist and covariances overflow")
    if config.process_noise == "odometry" and np.any(np.diag(sample.twist_covariance) < 0):
        return Decision(False, "invalid", "odometry twist covariance has negative variances")
    return None


def covariance_problem(cov: np.ndarray) -> Optional[Decision]:
    """Why a regressed pose's covariance cannot be used, or None."""
    if not math.isfinite(float(cov.sum())):
        return Decision(False, "invalid", "covariance has NaN or inf")
    diagonal = cov.diagonal()
    if float(diagonal.min()) <= 0:
        return Decision(False, "invalid", "covariance has zero or negative variances")
    # the largest variance bounds every entry of a positive semi-definite matrix: the tolerance's scale
    if float(np.abs(cov - cov.T).max()) > 1e-9 + 1e-6 * float(diagonal.max()):
        return Decision(False, "invalid", "covariance is not symmetric")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return Decision(False, "invalid", "covariance is not positive definite")
    return None


def measurement_covariance(estimate: PoseEstimate, config: FusionConfig, model: MotionModel) -> np.ndarray:
    """The pose's 6x6 covariance with the configured overrides (``measurement_override``: x, y /
    z / rotation standard deviations that replace the regressor's), reduced to ``model``'s dimensions."""
    cov6 = np.array(estimate.covariance, dtype=float)
    std_xy, std_z, std_rot = config.measurement_override
    if std_xy is not None:
        cov6[:2, :] = cov6[:, :2] = 0.0
        cov6[0, 0] = cov6[1, 1] = std_xy ** 2
    if std_z is not None:
        cov6[2, :] = cov6[:, 2] = 0.0
        cov6[2, 2] = std_z ** 2
    if std_rot is not None:
        cov6[3:, :] = cov6[:, 3:] = 0.0
        cov6[3:, 3:] = np.eye(3) * std_rot ** 2
    return model.reduce(cov6)
