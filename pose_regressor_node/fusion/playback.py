"""Run a PoseFuser over recorded inputs in the order they would have arrived on the robot.

Regressed poses arrive ``latency`` after their capture stamp; odometry arrives at its stamp; the
output clock ticks at the configured rate, as fusion_node's timer does, and what it publishes is
what the controller would have received. ``restamp=True`` imitates a filter without latency
handling (capture time := arrival time).
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
from .output import OutputClock

__all__ = ["PlaybackResult", "fuse_in_arrival_order"]

ODOMETRY, POSE, TICK = 0, 1, 2  # at equal arrival times inputs come before the tick that publishes them


@dataclass
class PlaybackResult:
    stamps_ns: List[int]
    poses: List[Pose]
    decisions: Dict[str, int]


def fuse_in_arrival_order(odometry: Sequence[OdometrySample], estimates: Sequence[PoseEstimate], latency_ns: int,
                          config: FusionConfig = FusionConfig(), restamp: bool = False) -> PlaybackResult:
    fuser = PoseFuser(config)
    clock = OutputClock(config)
    arrivals = [(o.stamp_ns, ODOMETRY, i) for i, o in enumerate(odometry)]
    arrivals += [(e.stamp_ns + latency_ns, POSE, i) for i, e in enumerate(estimates)]
    if arrivals:
        first, last = min(a[0] for a in arrivals), max(a[0] for a in arrivals)
        arrivals += [(t, TICK, 0) for t in range(first, last + clock.period_ns, clock.period_ns)]
    heapq.heapify(arrivals)
    stamps: List[int] = []
    poses: List[Pose] = []
    while arrivals:
        arrival_ns, kind, i = heapq.heappop(arrivals)
        if kind == ODOMETRY:
            fuser.add_odometry(odometry[i], now_ns=arrival_ns)
        elif kind == POSE:
            estimate = estimates[i]
            if restamp:
                estimate = PoseEstimate(arrival_ns, estimate.pose, estimate.covariance, estimate.latency_ns)
            fuser.add_pose(estimate, now_ns=arrival_ns)
        else:
            stamp = clock.stamp(arrival_ns, fuser)
            state = fuser.state_at(stamp) if stamp is not None else None
            if stamp is not None and state is not None:
                stamps.append(stamp)
                poses.append(state.pose)
    return PlaybackResult(stamps, poses, dict(Counter(fuser.stats())))
