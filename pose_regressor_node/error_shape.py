"""The shape of the regressor's errors: how the head's two variances spread over the six axes.

The uncertainty head predicts one variance for the position and one for the rotation of each
frame; how those errors spread over the axes depends on how the camera moves, and is fitted with
the calibration on the validation split:

- ``free`` (a handheld camera, a drone): every axis alike, the isotropic 3-D Gaussians of
  Kendall & Gal. Errors are checked against chi-square(3).
- ``planar`` (a car on a floor, map z up): the errors lie in the floor's plane and about the
  vertical. The head's variances are those of x and y each and of yaw; z, roll and pitch get the
  small constant variances measured on the validation split. Errors are checked against
  chi-square(2) in x, y and chi-square(1) in yaw, the quantities a 2-D filter fuses.

Why the shape matters, measured with the demo model on the synthetic room's drives: z's error has
a standard deviation of 1.3 mm against 8 cm in x and y, and yaw carries 89-99 % of the squared
rotation error. An isotropic covariance claims errors in directions that have none: with the
scale fitted on the validation drive, its own rotation errors fall within 1 sigma 13.2 points
more often and within 2 sigma 11.5 points less often than chi-square(3) says, and no other scale
brings both within 10; the planar shape covers them within 4 points.

Old checkpoints, calibrated before shapes existed, carry no ``planar`` entry and stay ``free``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

import numpy as np

from .geometry import quat_conjugate, quat_multiply, quat_to_rotvec, skew

__all__ = ["ErrorShape", "detect_planar", "rotation_error_vectors", "PLANAR_HEIGHT_SPAN_M", "PLANAR_TILT_DEG"]

# A camera whose height spans less than this and which only turns about the vertical (within
# PLANAR_TILT_DEG) moves on a plane: a car's bumps and body roll stay well inside both.
PLANAR_HEIGHT_SPAN_M = 0.05
PLANAR_TILT_DEG = 5.0

# Floors on the constant out-of-plane variances (1 mm, 0.05 deg): a covariance must stay positive
# definite even when the validation split's z, roll and pitch errors are all zero.
_MIN_HEIGHT_VAR = 1e-6
_MIN_TILT_VAR = np.radians(0.05) ** 2


def rotation_error_vectors(q_hat: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(N, 3) rotation vectors (rad, map axes) of ``q_hat * q^-1``: the error's axis times its angle.

    In map axes, so the third component of a car's error is its yaw error."""
    q_hat, q = np.atleast_2d(np.asarray(q_hat, dtype=np.float64)), np.atleast_2d(np.asarray(q, dtype=np.float64))
    return quat_to_rotvec(quat_multiply(q_hat, quat_conjugate(q)))


def detect_planar(positions: np.ndarray, quaternions: np.ndarray) -> bool:
    """Whether these (ground-truth) camera poses move on a plane with map z up: their heights span
    under ``PLANAR_HEIGHT_SPAN_M`` and every rotation between them is about the vertical within
    ``PLANAR_TILT_DEG``. Percentiles, not extremes, so one bad label does not decide."""
    positions = np.asarray(positions, dtype=np.float64)
    quaternions = np.asarray(quaternions, dtype=np.float64)
    if len(positions) < 2:
        return False
    z = positions[:, 2]
    if np.percentile(z, 99) - np.percentile(z, 1) >= PLANAR_HEIGHT_SPAN_M:
        return False
    turns = rotation_error_vectors(quaternions, np.broadcast_to(quaternions[0], quaternions.shape))
    tilt_deg = np.degrees(np.linalg.norm(turns[:, :2], axis=1))
    return bool(np.percentile(tilt_deg, 99) < PLANAR_TILT_DEG)


@dataclass(frozen=True)
class ErrorShape:
    """``planar`` or free; for planar, the constant variances of z (m^2) and of roll and pitch (rad^2)."""

    planar: bool = False
    height_var: float = _MIN_HEIGHT_VAR
    tilt_var: float = _MIN_TILT_VAR

    @property
    def name(self) -> str:
        return "planar" if self.planar else "free"

    @property
    def dof_translation(self) -> int:
        return 2 if self.planar else 3

    @property
    def dof_rotation(self) -> int:
        return 1 if self.planar else 3

    def error_norms(self, position_errors: np.ndarray, rotation_errors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(N,) sizes of the parts of (N, 3) position errors and rotation error vectors (map axes) that
        the head's two variances describe: x, y and yaw for planar, everything for free."""
        position_errors = np.asarray(position_errors, dtype=np.float64)
        rotation_errors = np.asarray(rotation_errors, dtype=np.float64)
        if self.planar:
            position_errors, rotation_errors = position_errors[:, :2], rotation_errors[:, 2:]
        return np.linalg.norm(position_errors, axis=1), np.linalg.norm(rotation_errors, axis=1)

    def covariance(self, var_t: float, var_r: float, lever_arm_map: np.ndarray) -> np.ndarray:
        """6x6 covariance (REP-103 order, map axes) of base_link's pose from the camera's variances.

        base = camera * camera_T_base, so with the camera's small rotation error d (map axes) the base
        position moves by d x r, r = R_camera t_camera->base (the lever arm in map axes): the rotation
        variance leaks into the position over the lever arm, and the two become correlated.
        """
        if self.planar:
            position = np.diag([var_t, var_t, self.height_var])
            rotation = np.diag([self.tilt_var, self.tilt_var, var_r])
        else:
            position, rotation = var_t * np.eye(3), var_r * np.eye(3)
        lever = -skew(np.asarray(lever_arm_map, dtype=float))  # d x r = -[r]x d
        cov = np.zeros((6, 6))
        cov[:3, :3] = position + lever @ rotation @ lever.T
        cov[:3, 3:] = lever @ rotation
        cov[3:, :3] = cov[:3, 3:].T
        cov[3:, 3:] = rotation
        return cov

    @classmethod
    def fit(cls, planar: bool, position_errors: np.ndarray, rotation_errors: np.ndarray) -> ErrorShape:
        """The shape of a validation split's errors: for planar, the mean squared z error and the mean
        squared roll and pitch error become the constant out-of-plane variances."""
        if not planar:
            return cls(planar=False)
        position_errors = np.asarray(position_errors, dtype=np.float64)
        rotation_errors = np.asarray(rotation_errors, dtype=np.float64)
        return cls(planar=True, height_var=max(float(np.mean(position_errors[:, 2] ** 2)), _MIN_HEIGHT_VAR),
                   tilt_var=max(float(np.mean(rotation_errors[:, :2] ** 2)), _MIN_TILT_VAR))

    def to_calibration(self) -> Dict[str, float]:
        """Entries for a model's ``calibration`` metadata (numbers only, as every engine carries it)."""
        entries = {"planar": float(self.planar)}
        if self.planar:
            entries.update(height_var_m2=self.height_var, tilt_var_rad2=self.tilt_var)
        return entries

    @classmethod
    def from_calibration(cls, calibration: Mapping[str, float]) -> ErrorShape:
        if not calibration.get("planar"):
            return cls(planar=False)
        return cls(planar=True, height_var=float(calibration.get("height_var_m2", _MIN_HEIGHT_VAR)),
                   tilt_var=float(calibration.get("tilt_var_rad2", _MIN_TILT_VAR)))
