"""Wheel odometry of the simulated car, with the errors real wheel odometry has.

Measured forward speed and yaw rate carry white noise, a fixed scale error (tyre radius) and a
yaw-rate bias; slip events add short yaw-rate bursts. Integrating them gives a pose in ``odom``
that drifts without bound, as on the real car. Covariances are propagated honestly from the same
noise figures (they grow with distance and rotation travelled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

import numpy as np

from ..geometry import Pose
from ..measurements import OdometrySample
from .trajectory import Trajectory

__all__ = ["OdometryNoise", "simulate_odometry"]


@dataclass(frozen=True)
class OdometryNoise:
    speed_std: float = 0.03  # m/s, white
    yaw_rate_std: float = 0.03  # rad/s, white
    speed_scale_std: float = 0.03  # fixed relative scale error, drawn once per drive
    yaw_rate_scale_std: float = 0.05
    yaw_rate_bias_std: float = 0.01  # rad/s, drawn once per drive
    slip_rate_hz: float = 0.1  # slip events per second
    slip_yaw_rate: float = 0.3  # rad/s during a slip
    slip_duration_s: float = 0.3


def simulate_odometry(truth: Trajectory, noise: OdometryNoise = OdometryNoise(), seed: int = 0) -> List[OdometrySample]:
    """One odometry sample per trajectory sample; odom starts at the car's first pose (odom = map at t0)."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    dt = np.diff(truth.stamps_ns, prepend=truth.stamps_ns[0]) * 1e-9
    speed_scale = 1.0 + rng.normal(0, noise.speed_scale_std)
    yaw_scale = 1.0 + rng.normal(0, noise.yaw_rate_scale_std)
    bias = rng.normal(0, noise.yaw_rate_bias_std)
    slip = np.zeros(n)
    mean_dt = float(np.mean(dt[1:])) if n > 1 else 0.02
    for start in np.flatnonzero(rng.random(n) < noise.slip_rate_hz * mean_dt):
        slip[start:start + int(noise.slip_duration_s / mean_dt)] += rng.choice([-1, 1]) * noise.slip_yaw_rate
    speed = truth.speed * speed_scale + rng.normal(0, noise.speed_std, n)
    yaw_rate = truth.yaw_rate * yaw_scale + bias + slip + rng.normal(0, noise.yaw_rate_std, n)

    x, y, yaw = float(truth.xy[0, 0]), float(truth.xy[0, 1]), float(truth.yaw[0])
    origin = Pose.from_xyz_yaw(x, y, yaw).inverse()  # map -> odom at the first sample
    var_along, var_yaw = 1e-6, 1e-6
    samples: List[OdometrySample] = []
    for k in range(n):
        if k > 0:  # midpoint integration of the unicycle model
            mid_yaw = yaw + 0.5 * yaw_rate[k] * dt[k]
            x += speed[k] * dt[k] * math.cos(mid_yaw)
            y += speed[k] * dt[k] * math.sin(mid_yaw)
            yaw += yaw_rate[k] * dt[k]
            distance, turn = abs(speed[k] * dt[k]), abs(yaw_rate[k] * dt[k])
            var_along += (noise.speed_std * dt[k]) ** 2 + (noise.speed_scale_std * distance) ** 2
            var_yaw += ((noise.yaw_rate_std ** 2 + noise.yaw_rate_bias_std ** 2) * dt[k] ** 2
                        + (noise.yaw_rate_scale_std * turn) ** 2)
        pose_odom = origin @ Pose.from_xyz_yaw(x, y, yaw)
        pose_cov = np.diag([var_along, var_along, 1e-6, 1e-6, 1e-6, var_yaw])
        twist_cov = np.diag([noise.speed_std ** 2, 1e-4, 1e-6, 1e-6, 1e-6, noise.yaw_rate_std ** 2])
        twist = np.array([speed[k], 0.0, 0.0, 0.0, 0.0, yaw_rate[k]])
        samples.append(OdometrySample(int(truth.stamps_ns[k]), pose_odom, twist, pose_cov, twist_cov))
    return samples
