"""The common currency of every dataset reader: an image path and its camera-to-world pose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import numpy as np

from ..geometry import Pose

__all__ = ["Sample", "scene_extent", "parse_pose_fields"]


@dataclass(frozen=True)
class Sample:
    image: Path
    pose: Pose  # camera-to-world, quaternion w >= 0


def scene_extent(samples: Sequence[Sample]) -> float:
    """Diagonal of the bounding box of camera positions, in metres (>= 1 cm)."""
    positions = np.array([s.pose.position for s in samples])
    return max(0.01, float(np.linalg.norm(positions.max(axis=0) - positions.min(axis=0))))


def parse_pose_fields(fields: List[str], where: str) -> Pose:
    """``x y z qw qx qy qz`` -> Pose; raises ValueError naming ``where`` (file:line)."""
    if len(fields) != 7:
        raise ValueError(f"{where}: expected 7 numbers (x y z qw qx qy qz), got {len(fields)}")
    try:
        values = [float(v) for v in fields]
        return Pose(np.array(values[:3]), np.array(values[3:]))
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from err
