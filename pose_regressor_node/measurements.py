"""ROS-free measurement types exchanged between the regressor, the filter and replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .geometry import Pose

__all__ = ["PoseEstimate", "OdometrySample", "covariance_6x6"]


def covariance_6x6(values: np.ndarray | list[float] | None, default_diag: float = 0.0) -> np.ndarray:
    """A 6x6 covariance in REP-103 order (x, y, z, rot X, rot Y, rot Z) from 36 or 6 numbers."""
    if values is None:
        return np.eye(6) * default_diag
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 36:
        return arr.reshape(6, 6).copy()
    if arr.size == 6:
        return np.diag(arr)
    raise ValueError(f"covariance needs 36 (row-major 6x6) or 6 (diagonal) values, got {arr.size}")


@dataclass(frozen=True)
class PoseEstimate:
    """An absolute pose of base_link in map, from one camera frame.

    ``stamp_ns`` is the capture time of the image, not the time inference finished;
    ``latency_ns`` (if known) is how long after capture the estimate became available.
    """

    stamp_ns: int
    pose: Pose
    covariance: np.ndarray = field(default_factory=lambda: np.eye(6))
    latency_ns: Optional[int] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariance", covariance_6x6(self.covariance))


@dataclass(frozen=True)
class OdometrySample:
    """Wheel odometry with nav_msgs/Odometry semantics: pose in odom, twist in base_link."""

    stamp_ns: int
    pose: Pose
    twist: np.ndarray = field(default_factory=lambda: np.zeros(6))
    pose_covariance: np.ndarray = field(default_factory=lambda: np.eye(6) * 1e-6)
    twist_covariance: np.ndarray = field(default_factory=lambda: np.eye(6) * 1e-6)

    def __post_init__(self) -> None:
        object.__setattr__(self, "twist", np.asarray(self.twist, dtype=np.float64).reshape(6))
        object.__setattr__(self, "pose_covariance", covariance_6x6(self.pose_covariance))
        object.__setattr__(self, "twist_covariance", covariance_6x6(self.twist_covariance))
