"""State spaces of the filter: planar (x, y, yaw) and spatial (position, orientation), each
augmented with the log of the odometry's distance scale.

Both are error-state models around a nominal ``Pose``: the Kalman filter (``kalman``) estimates a
small correction that is injected into the nominal pose (and the log scale) after each update.
Orientation errors are small rotations in the map frame; yaw differences go through
``angle_diff`` only. The last state component is always the log scale, so a scale of 0.3 or 2
(a visual odometry that lost its scale, a wrong tyre radius) is as reachable as 1.
"""

from __future__ import annotations

import math
from typing import Tuple, Union

import numpy as np

from ..geometry import Pose, angle_diff, quat_conjugate, quat_from_rotvec, quat_multiply, quat_to_rotvec, skew, yaw_of
from .config import FusionConfig

__all__ = ["PlanarModel", "SpatialModel", "MotionModel"]


class PlanarModel:
    """Pose state (x, y, yaw) of base_link in map, plus the log odometry scale; a flat floor."""

    pose_dim = 3
    dim = 4
    translation_dims = 2
    indices6 = (0, 1, 5)  # rows/cols of the 6x6 (x, y, z, rotX, rotY, rotZ) covariance

    @staticmethod
    def normalize(pose: Pose) -> Pose:
        return Pose.from_xyz_yaw(pose.position[0], pose.position[1], pose.yaw)

    @staticmethod
    def increment(delta: Pose) -> np.ndarray:
        """The motion a relative pose describes, in the body frame: (dx, dy, dyaw)."""
        return np.array([delta.position[0], delta.position[1], yaw_of(delta.quaternion)])

    def propagate(self, state: Pose, increment: np.ndarray, scale: float) -> Tuple[Pose, np.ndarray, np.ndarray,
                                                                                  np.ndarray]:
        """New state after a body-frame increment whose distance is multiplied by ``scale``; the pose
        Jacobian F, the derivative of the new pose by the log scale, and G (body increment -> map)."""
        dx, dy, dyaw = float(increment[0]) * scale, float(increment[1]) * scale, float(increment[2])
        yaw = state.yaw
        c, s = math.cos(yaw), math.sin(yaw)
        mx, my = c * dx - s * dy, s * dx + c * dy
        new = Pose.from_xyz_yaw(state.position[0] + mx, state.position[1] + my, yaw + dyaw)
        f = np.array([[1.0, 0.0, -my], [0.0, 1.0, mx], [0.0, 0.0, 1.0]])
        g = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return new, f, np.array([mx, my, 0.0]), g

    @staticmethod
    def increment_variances(increment: np.ndarray, scale: float, dt: float, cfg: FusionConfig,
                            twist_covariance: np.ndarray) -> np.ndarray:
        """Variances of the body-frame increment (dx, dy, dyaw): per metre, per radian, per second."""
        if cfg.process_noise == "odometry":
            var = np.diag(twist_covariance)[[0, 1, 5]] * dt * dt
        else:
            dist, turn = scale * math.hypot(increment[0], increment[1]), abs(float(increment[2]))
            var_xy = (cfg.noise_xy_per_m * dist) ** 2
            var = np.array([var_xy, var_xy, (cfg.noise_yaw_per_rad * turn) ** 2 + (cfg.noise_yaw_per_m * dist) ** 2])
        return var + np.array([cfg.noise_xy_per_s ** 2, cfg.noise_xy_per_s ** 2, cfg.noise_yaw_per_s ** 2]) * dt

    @staticmethod
    def free_variances(dt: float, cfg: FusionConfig) -> np.ndarray:
        return np.array([cfg.free_noise_xy_per_s ** 2] * 2 + [cfg.free_noise_yaw_per_s ** 2]) * dt

    @staticmethod
    def velocity_increment(velocity: np.ndarray, dt: float) -> np.ndarray:
        """Body-frame increment of a constant body velocity (vx, vy, yaw rate) over ``dt``."""
        return np.asarray(velocity, dtype=float) * dt

    @staticmethod
    def world_correction_to_body(state: Pose, correction: np.ndarray) -> np.ndarray:
        c, s = math.cos(state.yaw), math.sin(state.yaw)
        return np.array([c * correction[0] + s * correction[1], -s * correction[0] + c * correction[1], correction[2]])

    @staticmethod
    def residual(measured: Pose, state: Pose) -> np.ndarray:
        return np.array([measured.position[0] - state.position[0], measured.position[1] - state.position[1],
                         angle_diff(measured.yaw, state.yaw)])

    @staticmethod
    def inject(state: Pose, dx: np.ndarray) -> Pose:
        return Pose.from_xyz_yaw(state.position[0] + dx[0], state.position[1] + dx[1], state.yaw + dx[2])

    _block = np.ix_(indices6, indices6)

    def reduce(self, cov6: np.ndarray) -> np.ndarray:
        return cov6[self._block]

    def expand(self, p: np.ndarray, fixed_variance: float) -> np.ndarray:
        cov6 = np.eye(6) * fixed_variance
        cov6[self._block] = p
        return cov6


class SpatialModel:
    """Pose state: full pose of base_link in map (error: position, small rotation in map), plus the
    log odometry scale. The noise is isotropic in the odometry's frame: no axis is taken for up."""

    pose_dim = 6
    dim = 7
    translation_dims = 3
    indices6 = (0, 1, 2, 3, 4, 5)

    @staticmethod
    def normalize(pose: Pose) -> Pose:
        return pose

    @staticmethod
    def increment(delta: Pose) -> np.ndarray:
        return np.concatenate([delta.position, quat_to_rotvec(delta.quaternion)])

    def propagate(self, state: Pose, increment: np.ndarray, scale: float) -> Tuple[Pose, np.ndarray, np.ndarray,
                                                                                  np.ndarray]:
        rot = state.rotation
        moved = rot @ (np.asarray(increment[:3], dtype=float) * scale)
        delta = Pose(np.asarray(increment[:3], dtype=float) * scale, quat_from_rotvec(increment[3:]))
        f = np.eye(6)
        f[:3, 3:] = -skew(moved)
        g = np.zeros((6, 6))
        g[:3, :3] = rot
        g[3:, 3:] = rot
        return state @ delta, f, np.concatenate([moved, np.zeros(3)]), g

    @staticmethod
    def increment_variances(increment: np.ndarray, scale: float, dt: float, cfg: FusionConfig,
                            twist_covariance: np.ndarray) -> np.ndarray:
        if cfg.process_noise == "odometry":
            var = np.diag(twist_covariance) * dt * dt
        else:
            dist, turn = scale * float(np.linalg.norm(increment[:3])), float(np.linalg.norm(increment[3:]))
            var_rot = (cfg.noise_yaw_per_rad * turn) ** 2 + (cfg.noise_yaw_per_m * dist) ** 2
            var = np.array([(cfg.noise_xy_per_m * dist) ** 2] * 3 + [var_rot] * 3)
        per_s = [cfg.noise_xy_per_s, cfg.noise_xy_per_s, cfg.noise_z_per_s, cfg.noise_roll_pitch_per_s,
                 cfg.noise_roll_pitch_per_s, cfg.noise_yaw_per_s]
        return var + np.square(per_s) * dt

    @staticmethod
    def free_variances(dt: float, cfg: FusionConfig) -> np.ndarray:
        return np.array([cfg.free_noise_xy_per_s ** 2] * 3 + [cfg.free_noise_yaw_per_s ** 2] * 3) * dt

    @staticmethod
    def velocity_increment(velocity: np.ndarray, dt: float) -> np.ndarray:
        return np.asarray(velocity, dtype=float) * dt

    @staticmethod
    def world_correction_to_body(state: Pose, correction: np.ndarray) -> np.ndarray:
        rot_t = state.rotation.T
        return np.concatenate([rot_t @ correction[:3], rot_t @ correction[3:]])

    @staticmethod
    def residual(measured: Pose, state: Pose) -> np.ndarray:
        rot_err = quat_to_rotvec(quat_multiply(measured.quaternion, quat_conjugate(state.quaternion)))
        return np.concatenate([measured.position - state.position, rot_err])

    @staticmethod
    def inject(state: Pose, dx: np.ndarray) -> Pose:
        return Pose(state.position + dx[:3], quat_multiply(quat_from_rotvec(dx[3:6]), state.quaternion))

    def reduce(self, cov6: np.ndarray) -> np.ndarray:
        return np.array(cov6, dtype=float)

    def expand(self, p: np.ndarray, fixed_variance: float) -> np.ndarray:
        return np.array(p, dtype=float)


MotionModel = Union[PlanarModel, SpatialModel]
