"""Everything the filter knows after processing a prefix of its input history.

One ``FilterState`` is kept after every input, so a late input can be inserted at its stamp and
the inputs after it re-run from the state just before it. Poses are immutable, arrays are
replaced and never written in place, and the candidate list is a tuple: a shallow copy is a
complete snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from ..geometry import Pose
from ..measurements import OdometrySample
from .consensus import Candidate
from .monitor import WindowTest

__all__ = ["FilterState", "TRUSTED", "SUSPECT", "DROPPED", "ABSENT"]

# What the filter makes of the odometry: used as is; used with inflated noise while its scale is
# re-estimated; not used (predicting from the velocity instead); or not arriving at all.
TRUSTED, SUSPECT, DROPPED, ABSENT = "trusted", "suspect", "dropped", "absent"


@dataclass
class FilterState:
    time_ns: Optional[int] = None
    pose: Optional[Pose] = None  # base_link in map (None until initialised)
    p: Optional[np.ndarray] = None  # covariance of (pose error, log odometry scale)
    log_scale: float = 0.0  # log of the factor the odometry's distances are multiplied by
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(0))  # body frame, the model's pose dimensions
    odom_pose: Optional[Pose] = None  # corrected odometry pose at time_ns (None: odometry not known there)
    odom_sample: Optional[OdometrySample] = None  # last odometry sample at or before time_ns
    odom_offset: Pose = field(default_factory=Pose)  # raw odometry -> corrected (re-anchored after jumps)
    last_update_ns: Optional[int] = None  # stamp of the last regressed pose fused
    trust: str = TRUSTED
    fail_streak: int = 0
    pass_streak: int = 0
    nis: float = 1.0  # running mean of the regressed poses' NIS per degree of freedom
    gated_share: float = 0.0  # running share of regressed poses the gate rejected
    inflation: float = 1.0  # factor on the process noise (covariance matching while odometry is suspect)
    last_test: Optional[WindowTest] = None
    last_test_ns: Optional[int] = None
    candidates: Tuple[Candidate, ...] = ()  # recent poses for (re-)initialisation

    @property
    def initialized(self) -> bool:
        return self.pose is not None

    @property
    def scale(self) -> float:
        return float(np.exp(self.log_scale))

    def snapshot(self) -> FilterState:
        copy = FilterState.__new__(FilterState)  # dataclasses.replace re-runs __init__: 8x slower, once per input
        copy.__dict__.update(self.__dict__)
        return copy
