"""Does the reconstruction agree with the car's own odometry? A check that needs no ground truth.

Odometry is locally good (a few percent of distance) and globally poor (it drifts); SfM is the
opposite when it works, and when it silently fails (plain walls split the model, the larger part
bent) it is locally wrong. So over sliding windows of a couple of seconds the two must travel the
same distance: their ratio, relative to its median over the drive (which absorbs the odometry's
own calibration), must stay within ``tolerance``. On the synthetic room good models kept every
window within 3 %; a broken one had 38 % of its windows outside 15 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

import numpy as np

__all__ = ["SelfCheck", "CheckPolicy", "window_ratios", "self_check"]


@dataclass(frozen=True)
class CheckPolicy:
    window_s: float = 2.0
    min_distance_m: float = 0.3  # windows where the odometry moved less say nothing about scale
    tolerance: float = 0.15
    max_bad_share: float = 0.1
    min_registered_share: float = 0.8


@dataclass
class SelfCheck:
    ratios: np.ndarray  # SfM / odometry distance per window, divided by their median
    median_ratio: float  # SfM / odometry distance overall: the odometry's scale, seen from SfM
    bad_share: float
    registered_share: float
    unregistered: List[str] = field(default_factory=list)
    passed: bool = True
    problems: List[str] = field(default_factory=list)


def window_ratios(stamps_ns: np.ndarray, sfm: np.ndarray, odometry: np.ndarray, window_s: float,
                  min_distance_m: float) -> np.ndarray:
    """Raw SfM / odometry displacement ratios over windows (start every half window) of registered keyframes."""
    out = []
    t = (stamps_ns - stamps_ns[0]) * 1e-9
    start = 0.0
    while start + window_s <= t[-1] + 1e-9:
        inside = np.flatnonzero((t >= start) & (t <= start + window_s))
        start += window_s / 2
        if len(inside) < 2:
            continue
        a, b = inside[0], inside[-1]
        odo = float(np.linalg.norm(odometry[b] - odometry[a]))
        if odo >= min_distance_m:
            out.append(float(np.linalg.norm(sfm[b] - sfm[a])) / odo)
    return np.array(out)


def self_check(stamps_ns: Sequence[int], sfm_positions: np.ndarray, odometry_positions: np.ndarray,
               registered: Sequence[bool], names: Sequence[str], policy: CheckPolicy = CheckPolicy()) -> SelfCheck:
    """``sfm_positions`` and ``odometry_positions`` (n, 3) of the keyframes (rows of unregistered ones ignored)."""
    mask = np.asarray(registered, bool)
    unregistered = [n for n, ok in zip(names, mask) if not ok]
    share = float(mask.mean()) if len(mask) else 0.0
    problems = []
    ratios = window_ratios(np.asarray(stamps_ns)[mask], np.asarray(sfm_positions)[mask],
                           np.asarray(odometry_positions)[mask], policy.window_s, policy.min_distance_m)
    median = float(np.median(ratios)) if len(ratios) else float("nan")
    relative = ratios / median if len(ratios) else ratios
    bad = float(np.mean(np.abs(relative - 1.0) > policy.tolerance)) if len(ratios) else 1.0
    if share < policy.min_registered_share:
        problems.append(f"only {share:.0%} of the keyframes were registered ({len(unregistered)} not): the room's "
                        "views did not connect; drive more slowly, with more overlap between frames, past more texture")
    if not len(ratios):
        problems.append("no window moved far enough to compare SfM with odometry: drive more than "
                        f"{policy.min_distance_m} m per {policy.window_s} s")
    elif bad > policy.max_bad_share:
        problems.append(f"{bad:.0%} of the {len(ratios)} windows disagree with odometry by more than "
                        f"{policy.tolerance:.0%} (allowed {policy.max_bad_share:.0%}): the reconstruction is "
                        "locally distorted; add texture to plain walls, drive more slowly, overlap more")
    return SelfCheck(relative, median, bad, share, unregistered, not problems, problems)
