"""Training views over the whole drivable area, in addition to drives.

Drives revisit the same few loops, so a regressor trained on them alone has never seen most of the
room from most headings, and at test time it pulls its answers toward the places it knows (the
middle of the room). Coverage views fix that at the source: a jittered grid of positions over the
free floor, at every heading (stratified with a random offset per position), at the car's camera
height, with the small roll and pitch the suspension gives while driving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator, List, Tuple

import numpy as np

from ..geometry import Pose, quat_from_euler
from .camera import PinholeCamera, default_extrinsic
from .world import World

__all__ = ["CoverageSpec", "CoverageViews", "coverage_views"]

FRAME_SPACING_NS = 100_000_000  # stamps 0.1 s apart, so the camera's exposure drift varies between views


@dataclass(frozen=True)
class CoverageSpec:
    """Grid spacing (m), headings per position, roll/pitch spread (deg), free-space margin (m), seed."""

    spacing_m: float = 0.2
    headings: int = 24
    roll_pitch_std_deg: float = 1.0
    margin_m: float = 0.3
    seed: int = 100

    def __post_init__(self) -> None:
        if not (self.spacing_m > 0 and self.headings > 0 and self.roll_pitch_std_deg >= 0 and self.margin_m >= 0):
            raise ValueError(f"coverage needs spacing > 0, headings > 0 and non-negative spreads, got {self}")


@dataclass
class CoverageViews:
    """Base poses in map; ``frames()`` yields what a drive yields: (stamp_ns, camera pose)."""

    name: str
    base_poses: List[Pose]
    extrinsic: Pose = field(default_factory=default_extrinsic)
    camera: PinholeCamera = field(default_factory=PinholeCamera)
    start_ns: int = 1_800_000_000 * 10**9

    def __len__(self) -> int:
        return len(self.base_poses)

    def frames(self) -> Iterator[Tuple[int, Pose]]:
        for i, base in enumerate(self.base_poses):
            yield self.start_ns + i * FRAME_SPACING_NS, base @ self.extrinsic


def _grid_positions(world: World, spec: CoverageSpec, rng: np.random.Generator) -> np.ndarray:
    """One position per grid cell, jittered inside its cell, kept where the car can stand."""
    sx, sy, _ = world.size
    xs = np.arange(spec.spacing_m / 2, sx, spec.spacing_m)
    ys = np.arange(spec.spacing_m / 2, sy, spec.spacing_m)
    cells = np.array([(x, y) for x in xs for y in ys])
    jittered = cells + rng.uniform(-0.5, 0.5, cells.shape) * spec.spacing_m
    return np.array([p for p in jittered if world.is_free(p[0], p[1], margin=spec.margin_m)])


def coverage_views(world: World, spec: CoverageSpec = CoverageSpec(), name: str = "coverage") -> CoverageViews:
    """``spec.headings`` views per free grid position; the same spec and world give the same views."""
    rng = np.random.default_rng(spec.seed)
    spread = math.radians(spec.roll_pitch_std_deg)
    poses = []
    for x, y in _grid_positions(world, spec, rng):
        offset = rng.uniform(0.0, 2 * math.pi / spec.headings)
        for k in range(spec.headings):
            yaw = offset + 2 * math.pi * k / spec.headings
            roll, pitch = np.clip(rng.normal(0.0, spread, 2), -3 * spread, 3 * spread) if spread else (0.0, 0.0)
            poses.append(Pose(np.array([x, y, 0.0]), quat_from_euler(float(roll), float(pitch), yaw)))
    return CoverageViews(name, poses)
