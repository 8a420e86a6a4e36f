"""(Re-)initialisation from a consistent set of recent regressed poses, never from one.

A single regressed pose may be one of the regressor's gross outliers; starting the filter there
(or jumping there after the car was carried elsewhere) would publish a wrong pose until enough
later poses pull it back, and the gate would reject the correct ones meanwhile. Instead each
recent pose is carried forward to the newest one's time by the odometry (or, without odometry,
kept in place with uncertainty growing as the car could have moved), and the largest set that
agrees within the Mahalanobis gate wins, as in RANSAC's consensus (Fischler & Bolles 1981). The
initial state is that set's information-weighted mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import Pose
from .motion import PlanarModel, SpatialModel

__all__ = ["Candidate", "consensus"]


@dataclass(frozen=True)
class Candidate:
    """A regressed pose waiting to (re-)initialise the filter: ``odom`` is the (corrected) odometry
    pose at its stamp when odometry covered it, for carrying it forward."""

    stamp_ns: int
    pose: Pose
    covariance: np.ndarray  # the model's pose dimensions
    odom: Optional[Pose]


def _carried(c: Candidate, ref: Candidate, model, scale: float, motion_var_per_s: np.ndarray,
             motion_var_per_m: float) -> Tuple[Pose, np.ndarray]:
    """Candidate ``c`` carried forward to ``ref``'s stamp, with its grown covariance."""
    dt = max(0.0, (ref.stamp_ns - c.stamp_ns) * 1e-9)
    if c.odom is not None and ref.odom is not None:
        increment = model.increment(c.odom.inverse() @ ref.odom)
        moved, _, _, _ = model.propagate(c.pose, increment, scale)
        dist = scale * float(np.linalg.norm(increment[:model.translation_dims]))
        grown = c.covariance + np.diag(np.full(model.pose_dim, motion_var_per_m * dist * dist))
        return model.normalize(moved), grown
    return c.pose, c.covariance + np.diag(motion_var_per_s * dt)


def consensus(candidates: Sequence[Candidate], model: PlanarModel | SpatialModel, scale: float, gate: float,
              needed: int, motion_var_per_s: np.ndarray, motion_var_per_m: float) -> Optional[Tuple[Pose, np.ndarray]]:
    """The information-weighted mean pose (at the newest candidate's stamp) and covariance of the
    largest set of at least ``needed`` candidates that agree pairwise-with-a-hypothesis within ``gate``."""
    if len(candidates) < needed:
        return None
    ref = max(candidates, key=lambda c: c.stamp_ns)
    carried = [_carried(c, ref, model, scale, motion_var_per_s, motion_var_per_m) for c in candidates]
    best: List[int] = []
    for hyp, cov_i in carried:
        inliers = []
        for j, (pose_j, cov_j) in enumerate(carried):
            r = model.residual(pose_j, hyp)
            if float(r @ np.linalg.solve(cov_i + cov_j, r)) <= gate:
                inliers.append(j)
        if len(inliers) > len(best):
            best = inliers
    if len(best) < needed:
        return None
    anchor = carried[best[0]][0]
    info = np.zeros((model.pose_dim, model.pose_dim))
    weighted = np.zeros(model.pose_dim)
    for j in best:
        pose_j, cov_j = carried[j]
        inv = np.linalg.inv(cov_j)
        info += inv
        weighted += inv @ model.residual(pose_j, anchor)
    covariance = np.linalg.inv(info)
    mean = model.inject(anchor, covariance @ weighted)
    return mean, 0.5 * (covariance + covariance.T)
