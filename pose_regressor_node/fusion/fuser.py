"""PoseFuser: wheel odometry predicts, regressed absolute poses correct; latency handled exactly.

Every input becomes an event in a time-ordered history (``history_s`` long). The filter state after
each event is kept, so a pose that arrives late (inference latency) or odometry that arrives out
of order is inserted at its capture time and the filter is re-run from the state just before it:
the result equals what in-order arrival would have given. A pose older than the history is
rejected with a reason, never applied at the wrong time; a jump back in time by more than
``time_jump_s`` (a bag loop) resets the filter.

The arithmetic is filterpy's ``KalmanFilter`` on an error state (x = 0 between updates; the
correction is injected into the nominal pose), with its Joseph-form covariance update.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.stats import chi2

from ..geometry import Pose, interpolate_pose, pose_from_twist
from ..measurements import OdometrySample, PoseEstimate
from .config import FusionConfig
from .motion import PlanarModel, SpatialModel

__all__ = ["PoseFuser", "FusedState", "Decision"]

Measurement = Union[OdometrySample, PoseEstimate]


@dataclass(frozen=True)
class Decision:
    """What the filter did with one input; ``reason`` is a short machine-readable word."""

    accepted: bool
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class FusedState:
    stamp_ns: int
    pose: Pose  # base_link in map
    covariance: np.ndarray  # 6x6, REP-103 order, no zero variances
    map_to_odom: Optional[Pose]  # the correction to publish as map->odom (None before odometry)


@dataclass
class _Cursor:
    """Everything the filter knows after processing a prefix of the history."""

    time_ns: Optional[int] = None
    state: Optional[Pose] = None
    p: Optional[np.ndarray] = None
    odom_pose: Optional[Pose] = None  # odometry pose at time_ns (possibly interpolated)
    odom_sample: Optional[OdometrySample] = None  # last real odometry sample at or before time_ns
    rejected: List[np.ndarray] = field(default_factory=list)  # innovations of consecutive rejections

    @property
    def initialized(self) -> bool:
        return self.state is not None

    def snapshot(self) -> _Cursor:
        """Poses are immutable and covariances are replaced, never written in place: a shallow copy suffices."""
        return replace(self, rejected=list(self.rejected))


@dataclass
class _Event:
    stamp_ns: int
    item: Measurement
    decision: Optional[Decision] = None
    extrapolated: bool = False

    @property
    def key(self) -> Tuple[int, int, Tuple[float, ...]]:
        """Time order; at equal stamps odometry first, then by content, so arrival order never matters."""
        pose = self.item.pose
        return self.stamp_ns, 0 if self.is_odometry else 1, tuple(pose.position.tolist() + pose.quaternion.tolist())

    @property
    def is_odometry(self) -> bool:
        return isinstance(self.item, OdometrySample)


class PoseFuser:
    """``add_odometry``, ``add_pose``, ``state``, ``state_at``, ``reset``, ``configure``, ``stats``."""

    def __init__(self, config: FusionConfig = FusionConfig()) -> None:
        self._use_model(config.two_d_mode)
        self._apply(config)
        self._events: List[_Event] = []
        self._keys: List[Tuple[int, int, Tuple[float, ...]]] = []  # the events' sort keys, for bisect
        self._snapshots: List[_Cursor] = []
        self._base = _Cursor()
        self._pruned: Counter = Counter()
        self._refused: Counter = Counter()

    # ----------------------------------------------------------------- configuration
    def configure(self, config: FusionConfig) -> None:
        """Apply new parameters to future events; switching 2-D/3-D mode resets the filter."""
        if config.two_d_mode != self.config.two_d_mode:
            self._use_model(config.two_d_mode)
            self.reset()
        self._apply(config)

    def _use_model(self, two_d_mode: bool) -> None:
        self.model = PlanarModel() if two_d_mode else SpatialModel()
        self.kf = KalmanFilter(dim_x=self.model.dim, dim_z=self.model.dim)

    def _apply(self, config: FusionConfig) -> None:
        self.config = config
        self._gate = float(chi2.ppf(config.gate_probability, self.model.dim))

    # ----------------------------------------------------------------- inputs
    def add_odometry(self, sample: OdometrySample, now_ns: Optional[int] = None) -> Decision:
        problem = self._check_odometry(sample, now_ns)
        if problem is not None:
            return self._refuse(problem)
        return self._insert(_Event(sample.stamp_ns, sample))

    def add_pose(self, estimate: PoseEstimate, now_ns: Optional[int] = None) -> Decision:
        problem = self._check_pose(estimate, now_ns)
        if problem is not None:
            return self._refuse(problem)
        return self._insert(_Event(estimate.stamp_ns, estimate))

    def reset(self, pose: Optional[Pose] = None, covariance: Optional[np.ndarray] = None,
              stamp_ns: Optional[int] = None) -> None:
        """Forget the history; with a pose, (re)initialise there (RViz's /initialpose).

        The odometry reference is kept, so prediction continues from the next odometry sample.
        """
        cursor = self._latest().snapshot()
        self._pruned.update(e.decision.reason for e in self._events if e.decision is not None)
        self._events, self._keys, self._snapshots = [], [], []
        cursor.rejected = []
        if pose is None:
            cursor.state, cursor.p = None, None
        else:
            cursor.state = self.model.normalize(pose)
            cursor.p = self._initial_covariance(covariance)
            cursor.time_ns = stamp_ns if stamp_ns is not None else cursor.time_ns
        self._base = cursor

    # ----------------------------------------------------------------- outputs
    @property
    def initialized(self) -> bool:
        return self._latest().initialized

    def state(self) -> Optional[FusedState]:
        """The estimate at the newest input's time (None until initialised)."""
        return self._as_state(self._latest())

    def state_at(self, stamp_ns: int) -> Optional[FusedState]:
        """The estimate at ``stamp_ns``: odometry applied up to that time, no measurement after it.

        Ahead of the newest odometry the last odometry twist is extrapolated (``predict to now``).
        """
        index = bisect.bisect_right(self._keys, (stamp_ns, 2))
        cursor = (self._snapshots[index - 1] if index > 0 else self._base).snapshot()
        if not cursor.initialized:
            return None
        if cursor.time_ns is not None and stamp_ns > cursor.time_ns:
            self._advance_to(cursor, stamp_ns, index)
        return self._as_state(cursor, stamp_ns)

    def stats(self) -> Dict[str, int]:
        """How many inputs ended with each decision (inputs refused on arrival included)."""
        counts = self._pruned + self._refused
        counts.update(e.decision.reason for e in self._events if e.decision is not None)
        return dict(counts)

    # ----------------------------------------------------------------- history
    def _latest(self) -> _Cursor:
        return self._snapshots[-1] if self._snapshots else self._base

    def _refuse(self, decision: Decision) -> Decision:
        self._refused[decision.reason] += 1
        return decision

    def _insert(self, event: _Event) -> Decision:
        newest = self._events[-1].stamp_ns if self._events else None
        if newest is not None and event.stamp_ns < newest - int(self.config.time_jump_s * 1e9):
            self.reset()
            self._base = _Cursor()  # a bag loop: odometry from before the jump is meaningless
            self._refused["time_jump_reset"] += 1
        elif newest is not None and event.stamp_ns < newest - int(self.config.history_s * 1e9):
            age = (newest - event.stamp_ns) * 1e-9
            return self._refuse(Decision(False, "too_old", f"{age:.3f} s older than the newest input; "
                                                           f"history is {self.config.history_s} s"))
        same = bisect.bisect_left(self._keys, (event.stamp_ns,))
        if event.is_odometry and same < len(self._keys) and self._keys[same][0] == event.stamp_ns \
                and self._events[same].is_odometry:
            return self._refuse(Decision(False, "duplicate", "odometry with this stamp was already received"))
        index = bisect.bisect_left(self._keys, event.key)
        self._events.insert(index, event)
        self._keys.insert(index, event.key)
        start = index
        if event.is_odometry:  # poses that were extrapolated past the previous odometry are redone
            for j in range(index - 1, -1, -1):
                if self._events[j].is_odometry:
                    break
                if self._events[j].extrapolated:
                    start = j
        del self._snapshots[start:]
        cursor = (self._snapshots[-1] if self._snapshots else self._base).snapshot()
        for k in range(start, len(self._events)):
            self._process(cursor, k)
            self._snapshots.append(cursor.snapshot())
        self._prune()
        return event.decision

    def _prune(self) -> None:
        horizon = self._events[-1].stamp_ns - int(self.config.history_s * 1e9)
        drop = 0
        while drop < len(self._events) - 1 and self._events[drop].stamp_ns < horizon:
            drop += 1
        if drop:
            self._pruned.update(e.decision.reason for e in self._events[:drop] if e.decision is not None)
            self._base = self._snapshots[drop - 1]
            del self._events[:drop]
            del self._keys[:drop]
            del self._snapshots[:drop]

    # ----------------------------------------------------------------- filter steps
    def _process(self, cursor: _Cursor, k: int) -> None:
        event = self._events[k]
        if event.is_odometry:
            self._apply_odometry(cursor, event.item)
            event.decision = Decision(True, "odometry")
        else:
            event.extrapolated = self._advance_to(cursor, event.stamp_ns, k + 1)
            event.decision = self._apply_pose(cursor, event.item)

    def _apply_odometry(self, cursor: _Cursor, sample: OdometrySample) -> None:
        if cursor.odom_pose is not None and cursor.initialized:
            self._predict(cursor, cursor.odom_pose.inverse() @ sample.pose, sample.stamp_ns, sample)
        cursor.odom_pose, cursor.odom_sample, cursor.time_ns = sample.pose, sample, sample.stamp_ns

    def _advance_to(self, cursor: _Cursor, stamp_ns: int, search_from: int) -> bool:
        """Predict to ``stamp_ns`` by odometry: interpolated if a later sample is known, else
        extrapolated with the last twist. Returns True if it had to extrapolate."""
        if cursor.odom_sample is None or cursor.time_ns is None or stamp_ns <= cursor.time_ns:
            return False
        after = next((e.item for e in self._events[search_from:] if e.is_odometry), None)
        a = cursor.odom_sample
        if after is not None:
            fraction = (stamp_ns - a.stamp_ns) / (after.stamp_ns - a.stamp_ns)
            target, extrapolated = interpolate_pose(a.pose, after.pose, fraction), False
        else:
            target, extrapolated = a.pose @ pose_from_twist(a.twist, (stamp_ns - a.stamp_ns) * 1e-9), True
        if cursor.initialized:
            self._predict(cursor, cursor.odom_pose.inverse() @ target, stamp_ns, a)
        cursor.odom_pose, cursor.time_ns = target, stamp_ns
        return extrapolated

    def _predict(self, cursor: _Cursor, delta: Pose, stamp_ns: int, odom: OdometrySample) -> None:
        dt = max(0.0, (stamp_ns - cursor.time_ns) * 1e-9)
        new_state, f, g, increment = self.model.propagate(cursor.state, delta)
        q = g @ self.model.increment_noise(increment, dt, self.config, odom.twist_covariance) @ g.T
        self.kf.x = np.zeros((self.model.dim, 1))
        self.kf.P = cursor.p
        self.kf.predict(F=f, Q=q)
        cursor.state, cursor.p = new_state, _symmetric(self.kf.P)

    def _apply_pose(self, cursor: _Cursor, estimate: PoseEstimate) -> Decision:
        measured = self.model.normalize(estimate.pose)
        r_cov = self._measurement_covariance(estimate)
        if not cursor.initialized:
            cursor.state, cursor.p, cursor.rejected = measured, r_cov, []
            cursor.time_ns = estimate.stamp_ns if cursor.time_ns is None else max(cursor.time_ns, estimate.stamp_ns)
            return Decision(True, "initialized")
        innovation = self.model.residual(measured, cursor.state)
        s = cursor.p + r_cov
        distance2 = float(innovation @ np.linalg.solve(s, innovation))
        if distance2 > self._gate:
            cursor.rejected.append(innovation)
            if self._kidnapped(cursor.rejected):
                cursor.state, cursor.p, cursor.rejected = measured, r_cov, []
                return Decision(True, "reinitialized", "consistent rejected poses: the car was moved")
            return Decision(False, "gated", f"Mahalanobis^2 {distance2:.1f} > {self._gate:.1f}")
        self.kf.x = np.zeros((self.model.dim, 1))
        self.kf.P = cursor.p
        self.kf.update(innovation.reshape(-1, 1), R=r_cov, H=np.eye(self.model.dim))
        cursor.state = self.model.inject(cursor.state, self.kf.x.ravel())
        cursor.p = _symmetric(self.kf.P)
        cursor.rejected = []
        return Decision(True, "accepted", f"Mahalanobis^2 {distance2:.1f}")

    def _kidnapped(self, innovations: List[np.ndarray]) -> bool:
        if len(innovations) < self.config.kidnap_rejections:
            return False
        recent = np.array(innovations[-self.config.kidnap_rejections:])
        spread = np.abs(recent - np.median(recent, axis=0))
        pos_cols = [0, 1] if self.model.dim == 3 else [0, 1, 2]
        rot_cols = [2] if self.model.dim == 3 else [3, 4, 5]
        return bool(spread[:, pos_cols].max() <= self.config.kidnap_agreement_m
                    and np.degrees(spread[:, rot_cols].max()) <= self.config.kidnap_agreement_deg)

    # ----------------------------------------------------------------- helpers
    def _measurement_covariance(self, estimate: PoseEstimate) -> np.ndarray:
        cov6 = np.array(estimate.covariance, dtype=float)
        std_xy, std_z, std_rot = self.config.measurement_override
        if std_xy is not None:
            cov6[:2, :] = cov6[:, :2] = 0.0
            cov6[0, 0] = cov6[1, 1] = std_xy ** 2
        if std_z is not None:
            cov6[2, :] = cov6[:, 2] = 0.0
            cov6[2, 2] = std_z ** 2
        if std_rot is not None:
            cov6[3:, :] = cov6[:, 3:] = 0.0
            cov6[3:, 3:] = np.eye(3) * std_rot ** 2
        return self.model.reduce(cov6)

    def _initial_covariance(self, covariance: Optional[np.ndarray]) -> np.ndarray:
        if covariance is not None:
            p = self.model.reduce(np.asarray(covariance, dtype=float).reshape(6, 6))
            if np.all(np.isfinite(p)) and np.all(np.linalg.eigvalsh(_symmetric(p)) > 0):
                return _symmetric(p)
        std = [self.config.initial_std_xy] * 2 + [self.config.initial_std_yaw]
        if self.model.dim == 6:
            std = [self.config.initial_std_xy] * 3 + [self.config.initial_std_yaw] * 3
        return np.diag(np.square(std))

    def _as_state(self, cursor: _Cursor, stamp_ns: Optional[int] = None) -> Optional[FusedState]:
        if not cursor.initialized:
            return None
        cov6 = self.model.expand(cursor.p, self.config.planar_fixed_variance)
        map_to_odom = cursor.state @ cursor.odom_pose.inverse() if cursor.odom_pose is not None else None
        return FusedState(stamp_ns if stamp_ns is not None else int(cursor.time_ns or 0), cursor.state, cov6,
                          map_to_odom)

    def _check_pose(self, estimate: PoseEstimate, now_ns: Optional[int]) -> Optional[Decision]:
        future = self._future(estimate.stamp_ns, now_ns)
        if future is not None:
            return future
        cov = self._measurement_covariance(estimate)
        if not np.all(np.isfinite(cov)):
            return Decision(False, "invalid", "covariance has NaN or inf")
        if np.any(np.diag(cov) <= 0):
            return Decision(False, "invalid", "covariance has zero or negative variances")
        if not np.allclose(cov, cov.T, atol=1e-9, rtol=1e-6) or np.any(np.linalg.eigvalsh(_symmetric(cov)) <= 0):
            return Decision(False, "invalid", "covariance is not symmetric positive definite")
        return None

    def _check_odometry(self, sample: OdometrySample, now_ns: Optional[int]) -> Optional[Decision]:
        future = self._future(sample.stamp_ns, now_ns)
        if future is not None:
            return future
        for name in ("twist", "pose_covariance", "twist_covariance"):
            if not np.all(np.isfinite(getattr(sample, name))):
                return Decision(False, "invalid", f"odometry {name} has NaN or inf")
        if self.config.process_noise == "odometry" and np.any(np.diag(sample.twist_covariance) < 0):
            return Decision(False, "invalid", "odometry twist covariance has negative variances")
        return None

    def _future(self, stamp_ns: int, now_ns: Optional[int]) -> Optional[Decision]:
        if now_ns is not None and stamp_ns > now_ns + int(self.config.max_future_s * 1e9):
            ahead = (stamp_ns - now_ns) * 1e-9
            return Decision(False, "future", f"stamp is {ahead:.3f} s ahead of now")
        return None


def _symmetric(p: np.ndarray) -> np.ndarray:
    return 0.5 * (p + p.T)


