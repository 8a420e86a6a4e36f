"""RC-car drives through the free space of a world: loops, figure-eights and random waypoints.

A closed Catmull-Rom spline through control points gives a smooth path; speed varies between
0.3 and 1.5 m/s and slows in curves (bounded lateral acceleration); roll and pitch follow the
lateral and longitudinal accelerations as a soft suspension would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from ..geometry import Pose, quat_from_euler
from .world import World

__all__ = ["Trajectory", "generate_trajectory", "DRIVE_KINDS", "V_MIN", "V_MAX"]

DRIVE_KINDS = ("loop", "figure8", "waypoints")
V_MIN, V_MAX = 0.3, 1.5
A_LAT_MAX = 1.2  # m/s^2
MIN_TURN_RADIUS = 0.35  # m, a 1:10 RC car at full steering lock


@dataclass
class Trajectory:
    """Ground truth of base_link in map, sampled uniformly in time."""

    stamps_ns: np.ndarray
    xy: np.ndarray  # (N, 2)
    yaw: np.ndarray  # (N,), unwrapped
    roll: np.ndarray
    pitch: np.ndarray
    speed: np.ndarray  # forward speed, m/s
    yaw_rate: np.ndarray  # rad/s

    def __len__(self) -> int:
        return len(self.stamps_ns)

    def pose(self, i: int) -> Pose:
        return Pose(np.array([self.xy[i, 0], self.xy[i, 1], 0.0]),
                    quat_from_euler(float(self.roll[i]), float(self.pitch[i]), float(self.yaw[i])))


def _catmull_rom_closed(points: np.ndarray, samples_per_segment: int = 60) -> np.ndarray:
    n = len(points)
    t = np.linspace(0.0, 1.0, samples_per_segment, endpoint=False)[:, None]
    out = []
    for i in range(n):
        p0, p1, p2, p3 = points[(i - 1) % n], points[i], points[(i + 1) % n], points[(i + 2) % n]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    return np.concatenate(out)


def _control_points(world: World, kind: str, rng: np.random.Generator) -> np.ndarray:
    sx, sy, _ = world.size
    center = np.array([sx / 2, sy / 2]) + rng.uniform(-0.2, 0.2, 2)
    radii = np.array([sx / 2 - 1.25, sy / 2 - 1.05]) * rng.uniform(0.8, 1.0, 2)
    if kind == "loop":
        angles = np.linspace(0, 2 * math.pi, 8, endpoint=False) + rng.uniform(0, 2 * math.pi)
        direction = rng.choice([-1.0, 1.0])
        scale = rng.uniform(0.85, 1.05, size=(8, 1))
        return center + scale * radii * np.stack([np.cos(direction * angles), np.sin(direction * angles)], 1)
    if kind == "figure8":
        # two tangent circles, one driven anticlockwise and one clockwise, meeting at the centre
        radius = min(radii[1], radii[0] / 2) * rng.uniform(0.9, 1.0)
        angles = np.linspace(0, 2 * math.pi, 24, endpoint=False)
        left = np.stack([-radius + radius * np.cos(angles), radius * np.sin(angles)], 1)
        right = np.stack([radius - radius * np.cos(angles), radius * np.sin(angles)], 1)
        pts = np.concatenate([left, right])  # the centre is passed twice per lap
        return center + pts * np.array([rng.choice([-1.0, 1.0]), 1.0])
    if kind == "waypoints":
        # random waypoints, visited in angular order around the centre so that the lap is simple
        count = int(rng.integers(5, 8))
        angles = np.sort(rng.uniform(0, 2 * math.pi, count))
        gaps_ok = np.all(np.diff(np.concatenate([angles, angles[:1] + 2 * math.pi])) > 0.5)
        if not gaps_ok:
            angles = np.linspace(0, 2 * math.pi, count, endpoint=False) + rng.uniform(-0.2, 0.2, count)
        scale = rng.uniform(0.65, 1.05, size=(count, 1))
        return center + scale * radii * np.stack([np.cos(angles), np.sin(angles)], 1)
    raise ValueError(f"unknown drive kind {kind!r}; choose one of {DRIVE_KINDS}")


def _curvature(path: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Arc length (N+1,) and unsigned curvature (N,) of a dense closed path."""
    step = np.diff(path, axis=0, append=path[:1])
    seg = np.linalg.norm(step, axis=1)
    heading = np.unwrap(np.arctan2(step[:, 1], step[:, 0]))
    turn = np.diff(heading, append=heading[:1] + 2 * math.pi * round((heading[-1] - heading[0]) / (2 * math.pi)))
    return np.concatenate([[0.0], np.cumsum(seg)]), np.abs(turn) / np.maximum(seg, 1e-6)


def _free_path(world: World, kind: str, seed: int) -> np.ndarray:
    """A dense closed path, clear of walls and boxes (margin 0.3 m), that the car can steer."""
    for attempt in range(500):
        rng = np.random.default_rng([seed, attempt])
        path = _catmull_rom_closed(_control_points(world, kind, rng))
        _, curvature = _curvature(path)
        if curvature.max() > 1.0 / MIN_TURN_RADIUS:
            continue
        if all(world.is_free(x, y, margin=0.3) for x, y in path[::3]):
            return path
    raise RuntimeError(f"no collision-free {kind} path found in world seed {world.seed} for seed {seed}")


def _speed_profile(path: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Arc length along the path and the speed allowed at each point."""
    arc, curvature = _curvature(path)
    # look ahead and behind: brake before a curve, not in it
    padded = np.concatenate([curvature[-15:], curvature, curvature[:15]])
    curvature = np.lib.stride_tricks.sliding_window_view(padded, 31).max(axis=1)
    cruise = V_MIN + (V_MAX - V_MIN) * (0.5 + 0.5 * np.sin(arc[:-1] / rng.uniform(1.5, 4.0) + rng.uniform(0, 6.3)))
    speed = np.clip(np.minimum(cruise, np.sqrt(A_LAT_MAX / np.maximum(curvature, 1e-6))), V_MIN, V_MAX)
    return arc, speed


def generate_trajectory(world: World, kind: str, seed: int, duration_s: float = 60.0,
                        rate_hz: float = 50.0, start_ns: int = 1_700_000_000 * 10**9) -> Trajectory:
    """Drive laps of one closed path for ``duration_s`` seconds, sampled at ``rate_hz``."""
    rng = np.random.default_rng(seed)
    path = _free_path(world, kind, seed)
    arc, speed_at = _speed_profile(path, rng)
    length = arc[-1]
    closed = np.concatenate([path, path[:1]])
    n = int(round(duration_s * rate_hz)) + 1
    dt = 1.0 / rate_hz
    s = np.zeros(n)
    speed = np.zeros(n)
    for k in range(n):  # integrate arc length over time (a short loop over samples, not pixels)
        speed[k] = np.interp(s[k] % length, arc[:-1], speed_at)
        if k + 1 < n:
            s[k + 1] = s[k] + speed[k] * dt
    wrapped = s % length
    xy = np.stack([np.interp(wrapped, arc, closed[:, 0]), np.interp(wrapped, arc, closed[:, 1])], 1)
    ahead = np.stack([np.interp((s + 0.05) % length, arc, closed[:, 0]),
                      np.interp((s + 0.05) % length, arc, closed[:, 1])], 1)
    yaw = np.unwrap(np.arctan2(ahead[:, 1] - xy[:, 1], ahead[:, 0] - xy[:, 0]))
    yaw_rate = np.gradient(yaw, dt)
    accel = np.gradient(speed, dt)
    bumps = np.convolve(rng.normal(0, 1, n + 24), np.ones(25) / 25, "valid")[:n]
    roll = np.clip(-0.02 * speed * yaw_rate + math.radians(0.3) * bumps, -0.05, 0.05)
    pitch = np.clip(-0.01 * accel + math.radians(0.3) * np.roll(bumps, 7), -0.05, 0.05)
    stamps = start_ns + np.round(np.arange(n) * dt * 1e9).astype(np.int64)
    return Trajectory(stamps, xy, yaw, roll, pitch, speed, yaw_rate)
