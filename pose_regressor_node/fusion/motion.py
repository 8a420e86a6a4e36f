"""State spaces of the filter: planar (x, y, yaw) and spatial (position, orientation).

Both are error-state models around a nominal ``Pose``: the Kalman filter (filterpy) estimates a
small correction ``dx`` that is injected into the nominal pose after each update. Orientation
errors are small rotations in the map frame; yaw differences go through ``angle_diff`` only.
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from ..geometry import Pose, angle_diff, quat_conjugate, quat_from_rotvec, quat_multiply, quat_to_rotvec, yaw_of
from .config import FusionConfig

__all__ = ["PlanarModel", "SpatialModel", "skew"]


def skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


class PlanarModel:
    """State (x, y, yaw) of base_link in map; the car stays on a flat floor."""

    dim = 3
    indices6 = (0, 1, 5)  # rows/cols of the 6x6 (x, y, z, rotX, rotY, rotZ) covariance

    @staticmethod
    def normalize(pose: Pose) -> Pose:
        return Pose.from_xyz_yaw(pose.position[0], pose.position[1], pose.yaw)

    def propagate(self, state: Pose, delta: Pose) -> Tuple[Pose, np.ndarray, np.ndarray, np.ndarray]:
        """New state, F, G and the planar increment (dx, dy, dyaw) in the body frame."""
        dx, dy, dyaw = delta.position[0], delta.position[1], yaw_of(delta.quaternion)
        yaw = state.yaw
        c, s = math.cos(yaw), math.sin(yaw)
        new = Pose.from_xyz_yaw(state.position[0] + c * dx - s * dy, state.position[1] + s * dx + c * dy, yaw + dyaw)
        f = np.array([[1.0, 0.0, -s * dx - c * dy], [0.0, 1.0, c * dx - s * dy], [0.0, 0.0, 1.0]])
        g = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return new, f, g, np.array([dx, dy, dyaw])

    def increment_noise(self, increment: np.ndarray, dt: float, cfg: FusionConfig,
                        twist_covariance: np.ndarray) -> np.ndarray:
        """Covariance of the body-frame increment (dx, dy, dyaw)."""
        if cfg.process_noise == "odometry":
            var = np.diag(twist_covariance)[[0, 1, 5]] * dt * dt
        else:
            dist, turn = float(np.hypot(increment[0], increment[1])), abs(float(increment[2]))
            var_xy = (cfg.noise_xy_per_m * dist) ** 2
            var_yaw = (cfg.noise_yaw_per_rad * turn) ** 2 + (cfg.noise_yaw_per_m * dist) ** 2
            var = np.array([var_xy, var_xy, var_yaw])
        floor = np.array([cfg.noise_xy_per_s ** 2, cfg.noise_xy_per_s ** 2, cfg.noise_yaw_per_s ** 2]) * dt
        return np.diag(var + floor)

    @staticmethod
    def residual(measured: Pose, state: Pose) -> np.ndarray:
        return np.array([measured.position[0] - state.position[0], measured.position[1] - state.position[1],
                         angle_diff(measured.yaw, state.yaw)])

    @staticmethod
    def inject(state: Pose, dx: np.ndarray) -> Pose:
        return Pose.from_xyz_yaw(state.position[0] + dx[0], state.position[1] + dx[1], state.yaw + dx[2])

    def reduce(self, cov6: np.ndarray) -> np.ndarray:
        return cov6[np.ix_(self.indices6, self.indices6)]

    def expand(self, p: np.ndarray, fixed_variance: float) -> np.ndarray:
        cov6 = np.eye(6) * fixed_variance
        cov6[np.ix_(self.indices6, self.indices6)] = p
        return cov6


class SpatialModel:
    """State: full pose of base_link in map (error: position, small rotation in map)."""

    dim = 6
    indices6 = (0, 1, 2, 3, 4, 5)

    @staticmethod
    def normalize(pose: Pose) -> Pose:
        return pose

    def propagate(self, state: Pose, delta: Pose) -> Tuple[Pose, np.ndarray, np.ndarray, np.ndarray]:
        rot = state.rotation
        moved = rot @ delta.position
        f = np.eye(6)
        f[:3, 3:] = -skew(moved)
        g = np.zeros((6, 6))
        g[:3, :3] = rot
        g[3:, 3:] = rot
        return state @ delta, f, g, np.concatenate([delta.position, quat_to_rotvec(delta.quaternion)])

    def increment_noise(self, increment: np.ndarray, dt: float, cfg: FusionConfig,
                        twist_covariance: np.ndarray) -> np.ndarray:
        if cfg.process_noise == "odometry":
            var = np.diag(twist_covariance) * dt * dt
        else:
            dist, turn = float(np.linalg.norm(increment[:3])), float(np.linalg.norm(increment[3:]))
            var_xy = (cfg.noise_xy_per_m * dist) ** 2
            var_zrp = (cfg.noise_z_rp_per_m * dist) ** 2
            var_yaw = (cfg.noise_yaw_per_rad * turn) ** 2 + (cfg.noise_yaw_per_m * dist) ** 2
            var = np.array([var_xy, var_xy, var_zrp, var_zrp, var_zrp, var_yaw])
        floor = np.array([cfg.noise_xy_per_s] * 3 + [cfg.noise_yaw_per_s] * 3) ** 2 * dt
        return np.diag(var + floor)

    @staticmethod
    def residual(measured: Pose, state: Pose) -> np.ndarray:
        rot_err = quat_to_rotvec(quat_multiply(measured.quaternion, quat_conjugate(state.quaternion)))
        return np.concatenate([measured.position - state.position, rot_err])

    @staticmethod
    def inject(state: Pose, dx: np.ndarray) -> Pose:
        return Pose(state.position + dx[:3], quat_multiply(quat_from_rotvec(dx[3:]), state.quaternion))

    def reduce(self, cov6: np.ndarray) -> np.ndarray:
        return np.array(cov6, dtype=float)

    def expand(self, p: np.ndarray, fixed_variance: float) -> np.ndarray:
        return np.array(p, dtype=float)
