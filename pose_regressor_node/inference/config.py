"""The regressor's settings: one typed, validated place for regressor_node's parameters and replay.

The node declares its ROS parameters from these fields (descriptions and bounds included) and
``replay`` builds its ``FrameRegressor`` from the same ``RegressorConfig`` read out of
``config/localize.yaml``, so the robot and the offline evaluation cannot drift apart: the same
model file, covariance source and camera extrinsic fallback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

import numpy as np

from ..geometry import Pose, quat_from_euler
from ..settings import Settings, setting
from .engine import BACKENDS, DEVICES

__all__ = ["RegressorConfig", "COVARIANCE_SOURCES", "DEFAULT_EXTRINSIC_XYZ", "DEFAULT_EXTRINSIC_RPY"]

# Camera optical frame in base_link where neither /tf_static nor the parameters say: the demo car's
# camera, 10 cm ahead and 15 cm up, looking forward (z forward, x right, y down).
DEFAULT_EXTRINSIC_XYZ = [0.10, 0.0, 0.15]  # m
DEFAULT_EXTRINSIC_RPY = [-math.pi / 2, 0.0, -math.pi / 2]  # rad
COVARIANCE_SOURCES = ("model", "head", "fixed")


@dataclass(frozen=True)
class RegressorConfig(Settings):
    model_path: str = setting("", "model file (.pt, .onnx or .engine); empty: the package's demo model", reload=True)
    backend: str = setting("auto", "inference backend", choices=BACKENDS, reload=True)
    device: str = setting("auto", "auto, cpu, cuda or cuda:N", reload=True)
    image_transport: str = setting("raw", "raw: subscribe to 'image'; compressed: 'image/compressed'",
                                   choices=("raw", "compressed"), read_only=True)
    map_frame: str = setting("map", "frame of the published poses", non_empty=True)
    base_frame: str = setting("base_link", "robot frame whose pose is published", non_empty=True)
    use_tf_extrinsic: bool = setting(True, "take base_frame -> camera frame from /tf_static when tf2_ros is available")
    extrinsic_xyz: List[float] = setting(DEFAULT_EXTRINSIC_XYZ, "camera optical frame origin in base_frame (m), "
                                         "if not from TF", length=3)
    extrinsic_rpy: List[float] = setting(DEFAULT_EXTRINSIC_RPY, "camera optical frame orientation in base_frame "
                                         "(roll, pitch, yaw, rad), if not from TF", length=3)
    covariance_source: str = setting("model", "model: each frame's covariance from the model file's calibrated "
                                     "uncertainty, its error map at the predicted pose where it has one, else its "
                                     "uncertainty head; head: the head's alone; fixed: position_std / "
                                     "orientation_std (also for models without a head)",
                                     choices=COVARIANCE_SOURCES)
    model_covariance_scale: float = setting(
        1.0, "multiplies the model's calibrated variances: above 1 for a filter fed frame after frame, "
        "since consecutive frames' errors are correlated and the calibration treats them as independent",
        bounds=(1e-3, 1e4))
    position_std: float = setting(0.4, "fixed position standard deviation (m)", bounds=(1e-4, 100.0))
    orientation_std: float = setting(0.12, "fixed orientation standard deviation (rad)", bounds=(1e-5, 3.2))
    max_image_age: float = setting(0.5, "drop frames older than this when processing starts (s); 0 disables",
                                   bounds=(0.0, 60.0))

    def consistency_problems(self) -> List[str]:
        if self.device not in DEVICES and not (self.device.startswith("cuda:") and self.device[5:].isdigit()):
            return [f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}"]
        return []

    @property
    def extrinsic(self) -> Pose:
        """base_link -> camera optical frame from the parameters (the fallback when TF has none)."""
        return Pose(np.array(self.extrinsic_xyz, dtype=float), quat_from_euler(*self.extrinsic_rpy))

    def fixed_covariance(self) -> np.ndarray:
        """Diagonal 6x6 covariance (x, y, z, rot X, rot Y, rot Z) from the fixed standard deviations."""
        return np.diag([self.position_std ** 2] * 3 + [self.orientation_std ** 2] * 3)
