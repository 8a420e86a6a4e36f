"""Frames in, base_link poses with covariances out: Preprocess -> Engine -> camera-to-base conversion.

The one object the regressor node (one frame at a time) and replay (batches) both call, so the
robot and the offline evaluation can never disagree about preprocessing, frames or covariances.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from ..error_map import ErrorMap
from ..error_shape import ErrorShape
from ..geometry import Pose
from ..measurements import PoseEstimate
from .config import RegressorConfig
from .preprocess import Preprocess
from .protocol import Engine, EngineOutput

__all__ = ["FrameRegressor"]


class FrameRegressor:
    """``estimate(frames, stamps)``: RGB frames -> PoseEstimate of base_link in map per frame.

    ``base_to_camera`` is the extrinsic (camera optical frame in base_link); the network predicts
    the camera's pose in map, and map_T_base = map_T_camera * (base_T_camera)^-1. Each estimate's
    covariance comes from the model's calibrated variances, spread over the axes by the error shape
    its calibration found (``error_shape``): those its error map gives at the predicted camera pose
    (config ``model``, a model calibrated with one) or its uncertainty head's (``head``, or ``model``
    without a map); else, and for models without a head, from the config's fixed standard deviations.
    """

    def __init__(self, engine: Engine, base_to_camera: Pose, config: RegressorConfig = RegressorConfig()) -> None:
        self.engine = engine
        self.preprocess = Preprocess(engine.metadata.preprocess)
        self.error_shape = ErrorShape.from_calibration(engine.metadata.calibration)
        self.error_map = ErrorMap.from_metadata(engine.metadata.error_map)
        self.configure(config)
        self.set_extrinsic(base_to_camera)

    def configure(self, config: RegressorConfig) -> None:
        self.config = config
        self._fixed = config.fixed_covariance()

    def set_extrinsic(self, base_to_camera: Pose) -> None:
        self.base_to_camera = base_to_camera
        self._camera_to_base = base_to_camera.inverse()

    @property
    def covariance_source(self) -> str:
        """What the published covariances come from right now: ``map``, ``head`` or ``fixed``."""
        if not self.engine.metadata.arch_options.get("uncertainty") or self.config.covariance_source == "fixed":
            return "fixed"
        return "map" if self.config.covariance_source == "model" and self.error_map is not None else "head"

    def infer(self, frames: Sequence[np.ndarray], encoding: str = "rgb8") -> EngineOutput:
        return self.engine.infer(self.preprocess.batch(frames, encoding))

    def estimate(self, frames: Sequence[np.ndarray], stamps_ns: Sequence[int], encoding: str = "rgb8",
                 latency_ns: Optional[int] = None) -> List[PoseEstimate]:
        out = self.infer(frames, encoding)
        log_var = self._log_variances(out)
        estimates = []
        for i, stamp in enumerate(stamps_ns):
            camera = Pose(out.xyz[i], out.quat[i])
            base = camera @ self._camera_to_base
            if log_var is not None:
                var_t, var_r = np.exp(log_var[i])
                covariance = self.config.model_covariance_scale * self.error_shape.covariance(
                    float(var_t), float(var_r), base.position - camera.position)
            else:
                covariance = self._fixed
            estimates.append(PoseEstimate(int(stamp), base, covariance, latency_ns))
        return estimates

    def _log_variances(self, out: EngineOutput) -> Optional[np.ndarray]:
        source = self.covariance_source
        if source == "map":
            assert self.error_map is not None
            return self.error_map.log_variances(out.xyz, out.quat)
        return out.log_var if source == "head" else None
