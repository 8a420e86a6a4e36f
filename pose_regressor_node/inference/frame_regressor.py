"""Frames in, base_link poses out: Preprocess -> Engine -> camera-to-base conversion.

The one object the regressor node (one frame at a time) and replay (batches) both call, so the
robot and the offline evaluation can never disagree about preprocessing or frames.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from ..geometry import Pose
from ..measurements import PoseEstimate
from .engine import Engine
from .preprocess import Preprocess

__all__ = ["FrameRegressor", "pose_covariance", "DEFAULT_POSITION_STD", "DEFAULT_ORIENTATION_STD",
           "DEFAULT_EXTRINSIC_XYZ", "DEFAULT_EXTRINSIC_RPY"]

# Published uncertainty of a regressed pose; the demo model's values, chosen on its validation drive.
DEFAULT_POSITION_STD = 0.4  # m
DEFAULT_ORIENTATION_STD = 0.12  # rad
# Camera optical frame in base_link where neither /tf_static nor the parameters say: the demo car's
# camera, 10 cm ahead and 15 cm up, looking forward (z forward, x right, y down).
DEFAULT_EXTRINSIC_XYZ = (0.10, 0.0, 0.15)  # m
DEFAULT_EXTRINSIC_RPY = (-1.5707963267948966, 0.0, -1.5707963267948966)  # rad


def pose_covariance(position_std: float, orientation_std: float) -> np.ndarray:
    """Diagonal 6x6 covariance (x, y, z, rot X, rot Y, rot Z) from standard deviations (m, rad)."""
    if not (position_std > 0 and orientation_std > 0):
        raise ValueError(f"standard deviations must be > 0, got {position_std}, {orientation_std}")
    return np.diag([position_std ** 2] * 3 + [orientation_std ** 2] * 3)


class FrameRegressor:
    """``estimate(frames, stamps)``: RGB frames -> PoseEstimate of base_link in map per frame.

    ``base_to_camera`` is the extrinsic (camera optical frame in base_link); the network predicts
    the camera's pose in map, and map_T_base = map_T_camera * (base_T_camera)^-1.
    """

    def __init__(self, engine: Engine, base_to_camera: Pose, covariance: np.ndarray) -> None:
        self.engine = engine
        self.preprocess = Preprocess(engine.metadata.preprocess)
        self.base_to_camera = base_to_camera
        self._camera_to_base = base_to_camera.inverse()
        self.covariance = np.asarray(covariance, dtype=np.float64).reshape(6, 6)

    def set_extrinsic(self, base_to_camera: Pose) -> None:
        self.base_to_camera = base_to_camera
        self._camera_to_base = base_to_camera.inverse()

    def camera_poses(self, frames: Sequence[np.ndarray], encoding: str = "rgb8") -> List[Pose]:
        xyz, quat = self.engine.infer(self.preprocess.batch(frames, encoding))
        return [Pose(p, q) for p, q in zip(xyz, quat)]

    def estimate(self, frames: Sequence[np.ndarray], stamps_ns: Sequence[int], encoding: str = "rgb8",
                 latency_ns: Optional[int] = None) -> List[PoseEstimate]:
        return [PoseEstimate(int(stamp), camera @ self._camera_to_base, self.covariance, latency_ns)
                for camera, stamp in zip(self.camera_poses(frames, encoding), stamps_ns)]
