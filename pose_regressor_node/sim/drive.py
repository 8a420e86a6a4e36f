"""A simulated drive: ground truth, odometry and camera frame times, and the named splits.

Train, validation and test drives use different paths and seeds, so they never share frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple

import numpy as np

from ..geometry import Pose
from ..measurements import OdometrySample
from .camera import PinholeCamera, default_extrinsic
from .odometry import OdometryNoise, simulate_odometry
from .trajectory import Trajectory, generate_trajectory
from .world import World

__all__ = ["Drive", "simulate_drive", "SPLITS", "split_drives"]

# split -> list of (drive kind, seed). Seeds differ between splits, so do the paths.
SPLITS: Dict[str, List[Tuple[str, int]]] = {
    "train": [("loop", 1), ("figure8", 2), ("waypoints", 3), ("waypoints", 4), ("loop", 5), ("waypoints", 6)],
    "val": [("waypoints", 11)],
    "test": [("waypoints", 21)],
}


@dataclass
class Drive:
    name: str
    truth: Trajectory  # base_link in map, at the odometry rate
    odometry: List[OdometrySample]
    frame_indices: np.ndarray  # samples of ``truth`` at which the camera captured a frame
    extrinsic: Pose = field(default_factory=default_extrinsic)  # base_link -> camera optical
    camera: PinholeCamera = field(default_factory=PinholeCamera)

    def camera_pose(self, index: int) -> Pose:
        """Camera-to-map pose at trajectory sample ``index``."""
        return self.truth.pose(index) @ self.extrinsic

    def frames(self) -> Iterator[Tuple[int, Pose]]:
        """(stamp_ns, camera pose) of every captured frame."""
        for index in self.frame_indices:
            yield int(self.truth.stamps_ns[index]), self.camera_pose(int(index))


def simulate_drive(world: World, kind: str, seed: int, duration_s: float = 60.0, odom_rate_hz: float = 50.0,
                   camera_rate_hz: float = 10.0, noise: OdometryNoise = OdometryNoise(),
                   start_ns: int = 1_700_000_000 * 10**9) -> Drive:
    truth = generate_trajectory(world, kind, seed, duration_s=duration_s, rate_hz=odom_rate_hz, start_ns=start_ns)
    step = max(1, int(round(odom_rate_hz / camera_rate_hz)))
    return Drive(f"{kind}-{seed}", truth, simulate_odometry(truth, noise, seed=seed + 1000),
                 np.arange(0, len(truth), step))


def split_drives(world: World, split: str, duration_s: float = 60.0, camera_rate_hz: float = 10.0) -> List[Drive]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return [simulate_drive(world, kind, seed, duration_s=duration_s, camera_rate_hz=camera_rate_hz)
            for kind, seed in SPLITS[split]]
