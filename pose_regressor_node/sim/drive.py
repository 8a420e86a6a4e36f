"""A simulated drive: ground truth, odometry and camera frame times, and the named splits.

Train, validation and test drives use different paths and seeds, so they never share frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import Pose
from ..measurements import OdometrySample
from .camera import PinholeCamera, default_extrinsic
from .dataset_writer import FrameSource
from .odometry import OdometryNoise, simulate_odometry
from .trajectory import Trajectory, generate_trajectory
from .world import World

__all__ = ["Drive", "simulate_drive", "DRIVES", "SPLITS", "split_drives", "drives_in_order"]

# Every drive of a synthetic room as (split, kind, seed), in the order a dataset's sequences are
# written (seq-01, seq-02, ...; the train split's coverage views follow its last drive). Append
# only: each frame's sensor noise is seeded by its sequence number, so a drive inserted earlier
# would re-render every later drive with new noise, the test drive among them. Seeds differ
# between splits, so do the paths.
DRIVES: List[Tuple[str, str, int]] = [
    ("train", "loop", 1), ("train", "figure8", 2), ("train", "waypoints", 3), ("train", "waypoints", 4),
    ("train", "loop", 5), ("train", "waypoints", 6),
    ("val", "waypoints", 11),
    ("test", "waypoints", 21),
    # One validation drive of each kind: one waypoints drive is among the easiest (the calibration
    # fitted on it alone left the other drives' rotation errors 5-20 points outside their sigma).
    ("val", "loop", 12), ("val", "figure8", 13),
]

# split -> list of (drive kind, seed)
SPLITS: Dict[str, List[Tuple[str, int]]] = {
    split: [(kind, seed) for in_split, kind, seed in DRIVES if in_split == split] for split in ("train", "val", "test")}


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
    _check_split(split)
    return [simulate_drive(world, kind, seed, duration_s=duration_s, camera_rate_hz=camera_rate_hz)
            for kind, seed in SPLITS[split]]


def drives_in_order(world: World, splits: Sequence[str], duration_s: float = 60.0, camera_rate_hz: float = 10.0,
                    coverage: Optional[FrameSource] = None) -> List[Tuple[str, FrameSource]]:
    """(split, source) for the drives of ``splits`` in ``DRIVES`` order, the order to write them in;
    ``coverage`` (views for the train split) goes right after the last train drive."""
    for split in splits:
        _check_split(split)
    sources: List[Tuple[str, FrameSource]] = [
        (split, simulate_drive(world, kind, seed, duration_s=duration_s, camera_rate_hz=camera_rate_hz))
        for split, kind, seed in DRIVES if split in splits]
    if coverage is not None and "train" in splits:
        after_train = max(i for i, (split, _) in enumerate(sources) if split == "train") + 1
        sources.insert(after_train, ("train", coverage))
    return sources


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
