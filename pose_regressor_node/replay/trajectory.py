"""A timestamped trajectory (positions + wxyz quaternions) and TUM-format I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..geometry import Pose

__all__ = ["Trajectory", "read_tum", "write_tum"]


@dataclass
class Trajectory:
    stamps_ns: np.ndarray  # (N,) int64
    positions: np.ndarray  # (N, 3)
    quaternions: np.ndarray  # (N, 4) w x y z

    @classmethod
    def from_poses(cls, stamps_ns: Sequence[int], poses: Sequence[Pose]) -> Trajectory:
        if len(stamps_ns) == 0:
            return cls(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 4)))
        return cls(np.asarray(stamps_ns, dtype=np.int64), np.array([p.position for p in poses]),
                   np.array([p.quaternion for p in poses]))

    def __len__(self) -> int:
        return len(self.stamps_ns)

    def subset(self, index: np.ndarray) -> Trajectory:
        return Trajectory(self.stamps_ns[index], self.positions[index], self.quaternions[index])

    def pose(self, i: int) -> Pose:
        return Pose(self.positions[i], self.quaternions[i])

    @property
    def times_s(self) -> np.ndarray:
        return (self.stamps_ns - (self.stamps_ns[0] if len(self) else 0)) * 1e-9

    def path_length(self) -> float:
        return float(np.sum(np.linalg.norm(np.diff(self.positions, axis=0), axis=1))) if len(self) > 1 else 0.0


def write_tum(path: Path, trajectory: Trajectory) -> Path:
    """TUM RGB-D format: ``timestamp tx ty tz qx qy qz qw`` (seconds, metres)."""
    with open(path, "w") as f:
        f.write("# timestamp tx ty tz qx qy qz qw\n")
        for stamp, p, q in zip(trajectory.stamps_ns, trajectory.positions, trajectory.quaternions):
            f.write(f"{stamp // 10**9}.{stamp % 10**9:09d} {p[0]:.9f} {p[1]:.9f} {p[2]:.9f} "
                    f"{q[1]:.9f} {q[2]:.9f} {q[3]:.9f} {q[0]:.9f}\n")
    return path


def read_tum(path: Path) -> Trajectory:
    stamps, positions, quats = [], [], []
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        sec, _, frac = fields[0].partition(".")
        stamps.append(int(sec) * 10**9 + int((frac + "000000000")[:9]))
        x, y, z, qx, qy, qz, qw = (float(v) for v in fields[1:8])
        positions.append((x, y, z))
        quats.append((qw, qx, qy, qz))
    return Trajectory(np.array(stamps, np.int64), np.array(positions), np.array(quats))


