"""The car's pinhole camera: intrinsics and the base_link -> camera (optical frame) extrinsic."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..geometry import Pose, matrix_to_quat

__all__ = ["PinholeCamera", "default_extrinsic", "OPTICAL_FROM_BODY"]

# Columns: the optical axes (x right, y down, z forward) expressed in the body frame
# (x forward, y left, z up), REP-103's camera_optical convention.
OPTICAL_FROM_BODY = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class PinholeCamera:
    width: int = 640
    height: int = 480
    hfov_deg: float = 90.0

    @property
    def fx(self) -> float:
        return 0.5 * self.width / math.tan(math.radians(self.hfov_deg) / 2.0)

    @property
    def fy(self) -> float:
        return self.fx

    @property
    def cx(self) -> float:
        return 0.5 * (self.width - 1)

    @property
    def cy(self) -> float:
        return 0.5 * (self.height - 1)

    @property
    def k(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def ray_grid(self) -> np.ndarray:
        """(H, W, 3) float32 ray directions in the optical frame, z = 1."""
        u = (np.arange(self.width, dtype=np.float32) - self.cx) / self.fx
        v = (np.arange(self.height, dtype=np.float32) - self.cy) / self.fy
        uu, vv = np.meshgrid(u, v)
        return np.stack([uu, vv, np.ones_like(uu)], axis=-1)


def default_extrinsic(height_m: float = 0.15, forward_m: float = 0.10, pitch_deg: float = 0.0) -> Pose:
    """base_link -> camera optical frame: the camera on the car's nose, looking forward."""
    c, s = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
    pitch = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])  # positive pitch looks down
    return Pose(np.array([forward_m, 0.0, height_m]), matrix_to_quat(pitch @ OPTICAL_FROM_BODY))
