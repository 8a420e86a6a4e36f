"""Which frames go into structure-from-motion: the car's own odometry decides.

A stationary car adds nothing but identical views that slow matching down; a moving car must be
seen often enough that consecutive keyframes overlap (every 5th frame of a 10 Hz camera, 2 Hz,
split the reconstruction of the synthetic room; every 3rd, 3.3 Hz, did not). So: while the car
stands still, no keyframes; while it moves, at least ``rate_hz``, and sooner when it has moved
``max_step_m`` or turned ``max_turn_deg`` since the last keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from ..geometry import Pose, interpolate_pose, rotation_error_deg
from ..measurements import OdometrySample

__all__ = ["KeyframePolicy", "select_keyframes", "odometry_at"]


@dataclass(frozen=True)
class KeyframePolicy:
    rate_hz: float = 3.4
    max_step_m: float = 0.25
    max_turn_deg: float = 10.0
    still_m: float = 0.01  # less motion than this (and less than still_deg) since the last keyframe: standing still
    still_deg: float = 0.5


def odometry_at(odometry: Sequence[OdometrySample], stamps_ns: Sequence[int]) -> List[Pose]:
    """The odometry pose at each stamp, interpolated (held at the ends)."""
    times = np.array([o.stamp_ns for o in odometry])
    out = []
    for stamp in stamps_ns:
        i = int(np.searchsorted(times, stamp))
        if i <= 0:
            out.append(odometry[0].pose)
        elif i >= len(odometry):
            out.append(odometry[-1].pose)
        else:
            a, b = odometry[i - 1], odometry[i]
            out.append(interpolate_pose(a.pose, b.pose, (stamp - a.stamp_ns) / max(1, b.stamp_ns - a.stamp_ns)))
    return out


def select_keyframes(stamps_ns: Sequence[int], odometry: Sequence[OdometrySample],
                     policy: KeyframePolicy = KeyframePolicy()) -> List[int]:
    """Indices of the frames to keep (the first frame always)."""
    if not stamps_ns:
        return []
    poses = odometry_at(odometry, stamps_ns) if odometry else [Pose()] * len(stamps_ns)
    keep = [0]
    for i in range(1, len(stamps_ns)):
        last = keep[-1]
        moved = float(np.linalg.norm(poses[i].position - poses[last].position))
        turned = float(rotation_error_deg(poses[i].quaternion, poses[last].quaternion))
        if moved < policy.still_m and turned < policy.still_deg:
            continue  # standing still since the last keyframe
        waited = (stamps_ns[i] - stamps_ns[last]) * 1e-9
        if waited >= 1.0 / policy.rate_hz - 1e-3 or moved >= policy.max_step_m or turned >= policy.max_turn_deg:
            keep.append(i)
    return keep
