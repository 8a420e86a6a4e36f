"""Run a PoseFuser over recorded inputs in the order they would have arrived on the robot.

Regressed poses arrive ``latency`` after their capture stamp; odometry arrives at its stamp. The
output is what the controller would have received: the fused state at each odometry sample.
``restamp=True`` imitates a filter without latency handling (capture time := arrival time).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Sequence

from ..geometry import Pose
from ..measurements import OdometrySample, PoseEstimate
from .config import FusionConfig
from .fuser import PoseFuser

__all__ = ["PlaybackResult", "fuse_in_arrival_order"]


@dataclass
class PlaybackResult:
    stamps_ns: List[int]
    poses: List[Pose]
    decisions: Dict[str, int]


def fuse_in_arrival_order(odometry: Sequence[OdometrySample], estimates: Sequence[PoseEstimate], latency_ns: int,
                          config: FusionConfig = FusionConfig(), restamp: bool = False) -> PlaybackResult:
    fuser = PoseFuser(config)
    arrivals = [(o.stamp_ns, 0, i) for i, o in enumerate(odometry)]
    arrivals += [(e.stamp_ns + latency_ns, 1, i) for i, e in enumerate(estimates)]
    heapq.heapify(arrivals)
    stamps: List[int] = []
    poses: List[Pose] = []
    while arrivals:
        arrival_ns, kind, i = heapq.heappop(arrivals)
        if kind == 0:
            fuser.add_odometry(odometry[i])
            state = fuser.state()
            if state is not None:
                stamps.append(odometry[i].stamp_ns)
                poses.append(state.pose)
        else:
            estimate = estimates[i]
            if restamp:
                estimate = PoseEstimate(arrival_ns, estimate.pose, estimate.covariance, estimate.latency_ns)
            fuser.add_pose(estimate)
    return PlaybackResult(stamps, poses, dict(Counter(fuser.stats())))
