"""Trajectory metrics like evo: APE and RPE (per metre of travel), explicit time association.

Pure functions over ``Trajectory``; no I/O. APE compares poses directly in the map frame (no
alignment: the localizer must be right in the map, not merely up to a transform). RPE takes
consecutive pairs 1 m apart along the reference path and compares relative motions
(E = (Q_i^-1 Q_j)^-1 (P_i^-1 P_j)), as evo's RPE with ``delta_unit=m`` and pairs from reference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Dict, List, Tuple

import numpy as np

from ..geometry import matrix_to_quat, rotation_error_deg
from .trajectory import Trajectory

__all__ = ["PoseRelation", "ErrorStats", "Evaluation", "associate", "ape", "rpe", "statistics", "evaluate"]


class PoseRelation(Enum):
    translation = "translation (m)"
    rotation_deg = "rotation (deg)"


@dataclass(frozen=True)
class ErrorStats:
    count: int
    rmse: float
    mean: float
    median: float
    std: float
    min: float
    max: float
    p95: float

    def as_dict(self) -> Dict[str, float]:
        return asdict(self)


@dataclass
class Evaluation:
    matched: int
    ape_translation: np.ndarray
    ape_rotation_deg: np.ndarray
    rpe_translation: np.ndarray
    rpe_rotation_deg: np.ndarray
    stamps_ns: np.ndarray

    def stats(self) -> Dict[str, ErrorStats]:
        return {"ape_m": statistics(self.ape_translation), "ape_deg": statistics(self.ape_rotation_deg),
                "rpe_m_per_m": statistics(self.rpe_translation), "rpe_deg_per_m": statistics(self.rpe_rotation_deg)}


def associate(reference: Trajectory, estimate: Trajectory, max_diff_s: float) -> Tuple[Trajectory, Trajectory]:
    """Pair each estimate with the nearest reference stamp within ``max_diff_s`` (each reference used once)."""
    if len(reference) == 0 or len(estimate) == 0:
        return reference.subset(np.zeros(0, int)), estimate.subset(np.zeros(0, int))
    max_diff = int(max_diff_s * 1e9)
    idx = np.clip(np.searchsorted(reference.stamps_ns, estimate.stamps_ns), 1, len(reference) - 1)
    left, right = reference.stamps_ns[idx - 1], reference.stamps_ns[idx]
    nearest = np.where(np.abs(estimate.stamps_ns - left) <= np.abs(right - estimate.stamps_ns), idx - 1, idx)
    if len(reference) == 1:
        nearest = np.zeros(len(estimate), int)
    ok = np.abs(reference.stamps_ns[nearest] - estimate.stamps_ns) <= max_diff
    est_index, ref_index = np.flatnonzero(ok), nearest[ok]
    _, first = np.unique(ref_index, return_index=True)
    return reference.subset(ref_index[first]), estimate.subset(est_index[first])


def ape(reference: Trajectory, estimate: Trajectory, relation: PoseRelation) -> np.ndarray:
    """Per-pose absolute errors of associated trajectories (same length)."""
    if relation is PoseRelation.translation:
        return np.linalg.norm(estimate.positions - reference.positions, axis=1)
    return np.asarray(rotation_error_deg(estimate.quaternions, reference.quaternions), dtype=float).reshape(-1)


def _pairs_by_path(positions: np.ndarray, delta_m: float) -> List[Tuple[int, int]]:
    ids, travelled = [0], 0.0
    for i in range(1, len(positions)):
        travelled += float(np.linalg.norm(positions[i] - positions[i - 1]))
        if travelled >= delta_m:
            ids.append(i)
            travelled = 0.0
    return list(zip(ids, ids[1:]))


def _matrix(traj: Trajectory, i: int) -> np.ndarray:
    return traj.pose(i).as_matrix()


def rpe(reference: Trajectory, estimate: Trajectory, relation: PoseRelation, delta_m: float = 1.0) -> np.ndarray:
    errors = []
    for i, j in _pairs_by_path(reference.positions, delta_m):
        q_rel = np.linalg.inv(_matrix(reference, i)) @ _matrix(reference, j)
        p_rel = np.linalg.inv(_matrix(estimate, i)) @ _matrix(estimate, j)
        e = np.linalg.inv(q_rel) @ p_rel
        if relation is PoseRelation.translation:
            errors.append(float(np.linalg.norm(e[:3, 3])))
        else:  # angle of the rotation part, via its quaternion (precise for small angles too)
            q = matrix_to_quat(e[:3, :3])
            errors.append(float(np.degrees(2.0 * np.arctan2(np.linalg.norm(q[1:]), abs(q[0])))))
    return np.array(errors)


def statistics(errors: np.ndarray) -> ErrorStats:
    e = np.asarray(errors, dtype=float)
    if e.size == 0:
        nan = float("nan")
        return ErrorStats(0, nan, nan, nan, nan, nan, nan, nan)
    return ErrorStats(int(e.size), float(np.sqrt(np.mean(e ** 2))), float(np.mean(e)), float(np.median(e)),
                      float(np.std(e)), float(np.min(e)), float(np.max(e)), float(np.percentile(e, 95)))


def evaluate(reference: Trajectory, estimate: Trajectory, max_diff_s: float = 0.02, delta_m: float = 1.0) -> Evaluation:
    ref, est = associate(reference, estimate, max_diff_s)
    return Evaluation(len(ref), ape(ref, est, PoseRelation.translation), ape(ref, est, PoseRelation.rotation_deg),
                      rpe(ref, est, PoseRelation.translation, delta_m), rpe(ref, est, PoseRelation.rotation_deg, delta_m),
                      est.stamps_ns)
