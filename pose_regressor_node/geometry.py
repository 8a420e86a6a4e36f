"""Poses, quaternions and pose-error metrics in one convention.

Convention (used everywhere in the package):

* quaternions are (w, x, y, z), float64, unit norm, canonical with w >= 0;
* a ``Pose`` maps points of its child frame into its parent frame (camera-to-world for a camera
  pose, base_link-to-map for the robot), ``p_parent = R @ p_child + t``;
* Euler angles are static-axis roll, pitch, yaw (``sxyz``), as in REP-103.

Errors follow DESIGN.md: translation error = ||t_hat - t||_2, rotation error =
2 acos(clip(|<q_hat, q>|, 0, 1)) in degrees, computed in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import transforms3d.euler as t3d_euler
import transforms3d.quaternions as t3d_quat

__all__ = [
    "Pose",
    "ErrorSummary",
    "angle_diff",
    "wrap_angle",
    "quat_normalize",
    "quat_canonical",
    "quat_multiply",
    "quat_conjugate",
    "quat_rotate",
    "quat_to_matrix",
    "matrix_to_quat",
    "quat_from_euler",
    "quat_to_euler",
    "quat_from_yaw",
    "yaw_of",
    "quat_from_rotvec",
    "quat_to_rotvec",
    "skew",
    "interpolate_pose",
    "pose_from_twist",
    "translation_error",
    "rotation_error_deg",
    "summarize_errors",
]

_EPS = 1e-12


def wrap_angle(angle: float | np.ndarray) -> float | np.ndarray:
    """Wrap angles to [-pi, pi) so that a filter residual never jumps by 2 pi."""
    wrapped = (np.asarray(angle, dtype=np.float64) + math.pi) % (2.0 * math.pi) - math.pi
    return float(wrapped) if wrapped.ndim == 0 else wrapped


def angle_diff(a: float | np.ndarray, b: float | np.ndarray) -> float | np.ndarray:
    """The one angle-difference helper of the project: a - b wrapped to [-pi, pi)."""
    return wrap_angle(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))


def quat_normalize(q: Sequence[float] | np.ndarray) -> np.ndarray:
    """Unit quaternion in float64; raises on a zero or non-finite quaternion."""
    q = np.asarray(q, dtype=np.float64)
    if q.ndim == 1:  # the common case, kept cheap: the filter calls this per odometry sample
        norm = math.sqrt(float(q[0]) ** 2 + float(q[1]) ** 2 + float(q[2]) ** 2 + float(q[3]) ** 2)
        if not norm >= _EPS or math.isinf(norm):
            raise ValueError(f"cannot normalise quaternion {q!r}: zero or non-finite")
        return q / norm
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if not np.all(np.isfinite(q)) or np.any(norm < _EPS):
        raise ValueError(f"cannot normalise quaternion {q!r}: zero or non-finite")
    return q / norm


def quat_canonical(q: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normalise and flip into the w >= 0 hemisphere (q and -q are the same rotation)."""
    q = quat_normalize(q)
    if q.ndim == 1:
        return -q if q[0] < 0.0 else q
    sign = np.where(q[..., :1] < 0.0, -1.0, 1.0)
    return q * sign


def quat_multiply(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Hamilton product q1 * q2 (apply q2 first, then q1); broadcasts over leading axes."""
    q1 = np.asarray(q1, dtype=np.float64)
    q2 = np.asarray(q2, dtype=np.float64)
    if q1.ndim == 1 and q2.ndim == 1:
        w1, x1, y1, z1 = q1.tolist()
        w2, x2, y2, z2 = q2.tolist()
        return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                         w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])
    w1, x1, y1, z1 = np.moveaxis(q1, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(q2, -1, 0)
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion."""
    q = np.asarray(q, dtype=np.float64)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector(s) v (..., 3) by unit quaternion(s) q (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if q.ndim == 1 and v.ndim == 1:
        w, x, y, z = q.tolist()
        vx, vy, vz = v.tolist()
        cx, cy, cz = y * vz - z * vy, z * vx - x * vz, x * vy - y * vx  # u x v
        ux, uy, uz = w * cx + (y * cz - z * cy), w * cy + (z * cx - x * cz), w * cz + (x * cy - y * cx)
        return np.array([vx + 2.0 * ux, vy + 2.0 * uy, vz + 2.0 * uz])
    u = q[..., 1:]
    w = q[..., :1]
    uv = _cross(u, v)
    return v + 2.0 * (w * uv + _cross(u, uv))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.cross`` of (..., 3) arrays: the same products in the same order (the same bits), without its
    axis moving and shape checks, which dominate on a few vectors (rotating one vector: 42 against 95 us
    here; the error map does it for every frame)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack(np.broadcast_arrays(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0), axis=-1)


def quat_to_matrix(q: Sequence[float] | np.ndarray) -> np.ndarray:
    return t3d_quat.quat2mat(quat_normalize(q))


def matrix_to_quat(rot: np.ndarray) -> np.ndarray:
    """Rotation matrix to canonical quaternion (w >= 0)."""
    return quat_canonical(t3d_quat.mat2quat(np.asarray(rot, dtype=np.float64)))


def quat_from_euler(roll: float, pitch: float, yaw: float) -> np.ndarray:
    return quat_canonical(t3d_euler.euler2quat(roll, pitch, yaw, axes="sxyz"))


def quat_to_euler(q: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """(roll, pitch, yaw) of a quaternion, static axes x-y-z."""
    roll, pitch, yaw = t3d_euler.quat2euler(quat_normalize(q), axes="sxyz")
    return float(roll), float(pitch), float(yaw)


def quat_from_yaw(yaw: float) -> np.ndarray:
    half = 0.5 * float(yaw)
    return quat_canonical([math.cos(half), 0.0, 0.0, math.sin(half)])


def yaw_of(q: Sequence[float] | np.ndarray) -> float:
    """Heading of the body x axis projected on the ground plane (well defined near +-pi).

    Both atan2 arguments are quadratic in q, so a non-unit quaternion needs no normalising first
    (the filter asks for a yaw several times per input)."""
    w, x, y, z = q.tolist() if isinstance(q, np.ndarray) else (float(v) for v in q)
    norm2 = w * w + x * x + y * y + z * z
    if not norm2 >= _EPS or math.isinf(norm2):
        raise ValueError(f"cannot take the yaw of quaternion {q!r}: zero or non-finite")
    return math.atan2(2.0 * (w * z + x * y), w * w + x * x - y * y - z * z)


def quat_from_rotvec(rotvec: Sequence[float] | np.ndarray) -> np.ndarray:
    """Exponential map: axis * angle (rad) to a unit quaternion."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    angle = float(np.linalg.norm(rotvec))
    if angle < 1e-12:
        return quat_canonical(np.concatenate([[1.0], 0.5 * rotvec]))
    axis = rotvec / angle
    return quat_canonical(np.concatenate([[math.cos(0.5 * angle)], math.sin(0.5 * angle) * axis]))


def quat_to_rotvec(q: Sequence[float] | np.ndarray) -> np.ndarray:
    """Logarithm map: shortest rotation (angle <= pi) as axis * angle; broadcasts over leading axes."""
    q = quat_canonical(q)
    if q.ndim > 1:
        sin_half = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
        angle = 2.0 * np.arctan2(sin_half, q[..., :1])
        # angle / sin_half -> 2 as the rotation vanishes
        return q[..., 1:] * np.where(sin_half < 1e-12, 2.0, angle / np.maximum(sin_half, 1e-12))
    sin_half = float(np.linalg.norm(q[1:]))
    if sin_half < 1e-12:
        return 2.0 * q[1:]
    angle = 2.0 * math.atan2(sin_half, q[0])
    return q[1:] / sin_half * angle


def skew(v: np.ndarray) -> np.ndarray:
    """[v]x: the matrix with [v]x u = v x u."""
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


@dataclass(frozen=True)
class Pose:
    """A rigid transform child -> parent: position (m) and unit quaternion (w, x, y, z)."""

    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    quaternion: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0, 0.0]))

    def __post_init__(self) -> None:
        position = np.asarray(self.position, dtype=np.float64).reshape(3)
        if not math.isfinite(float(position[0]) + float(position[1]) + float(position[2])):
            raise ValueError(f"pose position must be finite, got {position}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "quaternion", quat_canonical(self.quaternion))

    @classmethod
    def identity(cls) -> Pose:
        return cls()

    @classmethod
    def _unit(cls, px: float, py: float, pz: float, w: float, x: float, y: float, z: float) -> Pose:
        """From floats already known to be a finite position and a (nearly) unit quaternion, such as the
        composition of two poses: renormalised and put in the w >= 0 hemisphere without the input checks
        of ``__init__`` (the filter composes poses thousands of times a second)."""
        norm = math.sqrt(w * w + x * x + y * y + z * z)
        if w < 0.0:
            norm = -norm
        pose = object.__new__(cls)
        object.__setattr__(pose, "position", np.array([px, py, pz]))
        object.__setattr__(pose, "quaternion", np.array([w / norm, x / norm, y / norm, z / norm]))
        return pose

    @classmethod
    def checked(cls, position: Sequence[float], quaternion: Sequence[float], unit_tol: float = 1e-3) -> Pose:
        """Build from untrusted input (a message): rejects non-unit quaternions instead of fixing them."""
        q = np.asarray(quaternion, dtype=np.float64)
        if q.shape != (4,) or not np.all(np.isfinite(q)):
            raise ValueError(f"quaternion must be 4 finite numbers, got {q}")
        if abs(float(np.linalg.norm(q)) - 1.0) > unit_tol:
            raise ValueError(f"quaternion is not unit (norm {np.linalg.norm(q):.6f})")
        return cls(np.asarray(position, dtype=np.float64), q)

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> Pose:
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (4, 4):
            raise ValueError(f"expected a 4x4 matrix, got shape {matrix.shape}")
        return cls(matrix[:3, 3], matrix_to_quat(matrix[:3, :3]))

    @classmethod
    def from_xyz_yaw(cls, x: float, y: float, yaw: float, z: float = 0.0) -> Pose:
        half = 0.5 * float(yaw)
        position = (float(x), float(y), float(z))
        if not math.isfinite(position[0] + position[1] + position[2] + half):
            raise ValueError(f"pose must be finite, got x={x} y={y} z={z} yaw={yaw}")
        return cls._unit(*position, math.cos(half), 0.0, 0.0, math.sin(half))

    @property
    def rotation(self) -> np.ndarray:
        return quat_to_matrix(self.quaternion)

    @property
    def yaw(self) -> float:
        return yaw_of(self.quaternion)

    def as_matrix(self) -> np.ndarray:
        matrix = np.eye(4)
        matrix[:3, :3] = self.rotation
        matrix[:3, 3] = self.position
        return matrix

    def compose(self, other: Pose) -> Pose:
        """self * other: first other (child -> middle), then self (middle -> parent)."""
        w1, x1, y1, z1 = self.quaternion.tolist()
        w2, x2, y2, z2 = other.quaternion.tolist()
        px, py, pz = self.position.tolist()
        vx, vy, vz = other.position.tolist()
        cx, cy, cz = y1 * vz - z1 * vy, z1 * vx - x1 * vz, x1 * vy - y1 * vx  # u x v, then v + 2(w u x v + u x (u x v))
        rx = vx + 2.0 * (w1 * cx + y1 * cz - z1 * cy)
        ry = vy + 2.0 * (w1 * cy + z1 * cx - x1 * cz)
        rz = vz + 2.0 * (w1 * cz + x1 * cy - y1 * cx)
        return Pose._unit(px + rx, py + ry, pz + rz,
                          w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                          w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2)

    def __matmul__(self, other: Pose) -> Pose:
        return self.compose(other)

    def inverse(self) -> Pose:
        w, x, y, z = self.quaternion.tolist()
        x, y, z = -x, -y, -z
        vx, vy, vz = self.position.tolist()
        cx, cy, cz = y * vz - z * vy, z * vx - x * vz, x * vy - y * vx
        rx = vx + 2.0 * (w * cx + y * cz - z * cy)
        ry = vy + 2.0 * (w * cy + z * cx - x * cz)
        rz = vz + 2.0 * (w * cz + x * cy - y * cx)
        return Pose._unit(-rx, -ry, -rz, w, x, y, z)

    def transform_point(self, point: np.ndarray) -> np.ndarray:
        return self.position + quat_rotate(self.quaternion, point)

    def is_close(self, other: Pose, tol_m: float = 1e-9, tol_deg: float = 1e-6) -> bool:
        return bool(translation_error(self.position, other.position) <= tol_m
                    and rotation_error_deg(self.quaternion, other.quaternion) <= tol_deg)


def interpolate_pose(a: Pose, b: Pose, fraction: float) -> Pose:
    """Linear in position, shortest-arc slerp in rotation; fraction 0 gives a, 1 gives b."""
    relative = quat_to_rotvec(quat_multiply(quat_conjugate(a.quaternion), b.quaternion))
    return Pose(a.position + fraction * (b.position - a.position),
                quat_multiply(a.quaternion, quat_from_rotvec(fraction * relative)))


def pose_from_twist(twist: np.ndarray, dt: float) -> Pose:
    """Body-frame motion over ``dt`` seconds at constant twist (vx, vy, vz, wx, wy, wz), first order."""
    twist = np.asarray(twist, dtype=np.float64)
    return Pose(twist[:3] * dt, quat_from_rotvec(twist[3:] * dt))


def translation_error(t_hat: np.ndarray, t: np.ndarray) -> np.ndarray | float:
    """Euclidean distance(s) between positions (..., 3), in metres."""
    diff = np.asarray(t_hat, dtype=np.float64) - np.asarray(t, dtype=np.float64)
    err = np.linalg.norm(diff, axis=-1)
    return float(err) if err.ndim == 0 else err


def rotation_error_deg(q_hat: np.ndarray, q: np.ndarray) -> np.ndarray | float:
    """Angle(s) of the relative rotation in degrees; sign-safe and NaN-free near |<q1,q2>| = 1."""
    q_hat = np.asarray(q_hat, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    q_hat = q_hat / np.linalg.norm(q_hat, axis=-1, keepdims=True)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    dot = np.clip(np.abs(np.sum(q_hat * q, axis=-1)), 0.0, 1.0)
    err = np.degrees(2.0 * np.arccos(dot))
    return float(err) if err.ndim == 0 else err


@dataclass(frozen=True)
class ErrorSummary:
    """Summary statistics of per-frame pose errors (metres, degrees)."""

    count: int
    median_m: float
    mean_m: float
    p90_m: float
    median_deg: float
    mean_deg: float
    p90_deg: float
    within_5cm_5deg: float
    within_10cm_10deg: float

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def summarize_errors(t_err: np.ndarray, r_err_deg: np.ndarray) -> ErrorSummary:
    """Median, mean, p90 and the share within 5 cm/5 deg and 10 cm/10 deg (both must hold)."""
    t_err = np.asarray(t_err, dtype=np.float64).ravel()
    r_err = np.asarray(r_err_deg, dtype=np.float64).ravel()
    if t_err.shape != r_err.shape:
        raise ValueError(f"error arrays differ in length: {t_err.shape} vs {r_err.shape}")
    if t_err.size == 0:
        raise ValueError("cannot summarise an empty error list")
    return ErrorSummary(
        count=int(t_err.size),
        median_m=float(np.median(t_err)),
        mean_m=float(np.mean(t_err)),
        p90_m=float(np.percentile(t_err, 90)),
        median_deg=float(np.median(r_err)),
        mean_deg=float(np.mean(r_err)),
        p90_deg=float(np.percentile(r_err, 90)),
        within_5cm_5deg=float(np.mean((t_err <= 0.05) & (r_err <= 5.0))),
        within_10cm_10deg=float(np.mean((t_err <= 0.10) & (r_err <= 10.0))),
    )
