"""PoseFuser: odometry predicts, regressed absolute poses correct; latency handled exactly; the
fused pose no worse than its best input under the odometry faults of bench/fusion_faults.py (README's
known gaps has the one case measured where it is: a regressor bias shaped like a distance scale).

**History.** Every input becomes an event in a time-ordered history. The filter state after each
event is kept, so a pose that arrives late (inference latency) or odometry that arrives out of
order is inserted at its capture time and the filter is re-run from the state just before it:
the result equals what in-order arrival would have given. An input older than ``history_s`` is
refused with a reason, never applied at the wrong time and never a reason to reset; odometry
older than that means the input clock jumped back (a looping bag), and only that (or a reset
asked for) resets the filter.

**Prediction.** With trusted odometry the state moves by the odometry increment, its distances
multiplied by the estimated odometry scale (a state, so a scale-0.3 visual odometry is usable:
Martinelli et al. 2007 calibrate odometry online the same way). Process noise grows per metre,
per radian and per second. Without usable odometry (absent for ``odometry_timeout_s``, or
distrusted) the state moves at the velocity the filter estimates, with the larger noise of a car
that may change its speed, and regressed poses alone keep it in place.

**Consistency and adaptation.** Odometry is checked twice. Per sample, a jump faster than the
car can move (a restart to zero, a glitch) re-anchors the odometry reference instead of moving
the fused pose. Per window, the shape of the odometry path is compared with the regressed poses'
(``monitor.relative_motion_test``): a scale fault makes the filter *suspect* the odometry, which
opens the scale's uncertainty and inflates the process noise by covariance matching on the
regressed poses' NIS (innovation-based adaptive estimation, Mohamed & Schwarz 1999: the noise is
scaled until predicted and observed innovations agree); a shape fault (wheels stuck while the car
moves) *drops* the odometry until windows match again. Covariance matching was chosen over
switchable constraints or an M-estimator because it needs no optimisation over a window (it
fits a Kalman filter's per-input cost) and it acts on the input that is wrong: the window test
names it, the NIS sizes the response.

**Regressed poses** are gated by Mahalanobis distance; a duplicate (same stamp) is fused once;
initialisation and re-initialisation after the car was moved use a consistent set of recent
poses (``consensus``), never a single one.

The arithmetic (``kalman``) is filterpy's ``KalmanFilter`` on an error state (zero between updates;
the correction is injected into the nominal pose), with its Joseph-form covariance update.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from ..geometry import Pose, interpolate_pose, pose_from_twist
from ..measurements import OdometrySample, PoseEstimate
from . import kalman
from .config import FusionConfig
from .consensus import Candidate, consensus
from .inputs import Decision, covariance_problem, future_problem, measurement_covariance, odometry_problem
from .monitor import CONSISTENT, INCONSISTENT, SCALE, chi2_quantile, relative_motion_test, window_variances
from .motion import MotionModel, PlanarModel, SpatialModel
from .state import ABSENT, DROPPED, SUSPECT, TRUSTED, FilterState

__all__ = ["PoseFuser", "FusedState", "FilterHealth", "Decision"]

Measurement = Union[OdometrySample, PoseEstimate]
VELOCITY_TIME_CONSTANT_S = 0.2  # smoothing of the velocity taken from odometry
NIS_MEMORY = 0.1  # weight of each new pose in the running NIS mean
JUMP_CONFIRMATIONS = 3  # too-old poses in a row, in increasing time, that mean the clock jumped back


@dataclass(frozen=True)
class FusedState:
    stamp_ns: int
    pose: Pose  # base_link in map
    covariance: np.ndarray  # 6x6, REP-103 order, no zero variances
    map_to_odom: Optional[Pose]  # the correction to publish as map->odom (None while odometry is unknown)
    twist: np.ndarray  # (6,) the filter's velocity estimate in base_link: vx, vy, vz, wx, wy, wz


@dataclass(frozen=True)
class FilterHealth:
    """What /diagnostics shows: how the filter judges its inputs right now."""

    odometry: str  # trusted, suspect, dropped or absent
    distrusted: str  # odometry, regressor or none
    nis: float  # running mean of the regressed poses' NIS per degree of freedom (1 when consistent)
    noise_inflation: float
    odometry_scale: float
    window_statistic: float  # last relative-motion test's chi-square over its threshold (NaN before one)
    gated_share: float  # running share of regressed poses the gate rejected


@dataclass
class _Event:
    stamp_ns: int
    item: Measurement
    decision: Optional[Decision] = None
    extrapolated: bool = False
    odom_at: Optional[Pose] = None  # pose events: corrected odometry pose at the stamp, when known
    corrected: Optional[Pose] = None  # odometry events: the re-anchored odometry pose
    r_cov: Optional[np.ndarray] = None  # pose events: the measurement covariance in the model's dimensions
    position_var: float = 0.0  # pose events: its mean position variance, for the relative-motion test

    @property
    def key(self) -> Tuple[int, int, Tuple[float, ...]]:
        """Time order; at equal stamps odometry first, then by content, so arrival order never matters."""
        pose = self.item.pose
        return self.stamp_ns, 0 if self.is_odometry else 1, tuple(pose.position.tolist() + pose.quaternion.tolist())

    @property
    def is_odometry(self) -> bool:
        return isinstance(self.item, OdometrySample)


class PoseFuser:
    """``add_odometry``, ``add_pose``, ``state``, ``state_at``, ``reset``, ``configure``, ``health``, ``stats``."""

    def __init__(self, config: FusionConfig = FusionConfig()) -> None:
        self._use_model(config.two_d_mode)
        self._apply(config)
        self._events: List[_Event] = []
        self._keys: List[Tuple[int, int, Tuple[float, ...]]] = []  # the events' sort keys, for bisect
        self._states: List[FilterState] = []  # the filter state after each event
        self._base = self._fresh()
        self._pruned: Counter = Counter()
        self._refused: Counter = Counter()
        self._old_poses: List[int] = []  # stamps of consecutive too-old poses

    # ----------------------------------------------------------------- configuration
    def configure(self, config: FusionConfig) -> None:
        """Apply new parameters to future events; switching 2-D/3-D mode resets the filter."""
        if config.two_d_mode != self.config.two_d_mode:
            self._use_model(config.two_d_mode)
            self._apply(config)
            self._clear(self._fresh())
            return
        self._apply(config)

    def _use_model(self, two_d_mode: bool) -> None:
        self.model: MotionModel = PlanarModel() if two_d_mode else SpatialModel()
        self._h = np.eye(self.model.pose_dim, self.model.dim)

    def _apply(self, config: FusionConfig) -> None:
        self.config = config
        self._gate = chi2_quantile(config.gate_probability, self.model.pose_dim)

    def _fresh(self) -> FilterState:
        return FilterState(velocity=np.zeros(self.model.pose_dim))

    # ----------------------------------------------------------------- inputs
    def add_odometry(self, sample: OdometrySample, now_ns: Optional[int] = None) -> Decision:
        """``now_ns``: the receiver's clock (the node's, or the arrival time in replay), for the one
        future-stamp check; None skips it."""
        problem = (future_problem(sample.stamp_ns, now_ns, self.config.max_future_s)
                   or odometry_problem(sample, self.config))
        if problem is not None:
            return self._refuse(problem)
        return self._insert(_Event(sample.stamp_ns, sample))

    def add_pose(self, estimate: PoseEstimate, now_ns: Optional[int] = None) -> Decision:
        r_cov = measurement_covariance(estimate, self.config, self.model)
        problem = future_problem(estimate.stamp_ns, now_ns, self.config.max_future_s) or covariance_problem(r_cov)
        if problem is not None:
            return self._refuse(problem)
        dims = self.model.translation_dims
        return self._insert(_Event(estimate.stamp_ns, estimate, r_cov=r_cov,
                                   position_var=float(np.trace(r_cov[:dims, :dims])) / dims))

    def reset(self, pose: Optional[Pose] = None, covariance: Optional[np.ndarray] = None,
              stamp_ns: Optional[int] = None) -> None:
        """Forget the history; with a pose, (re)initialise there (RViz's /initialpose).

        The odometry reference and the estimated scale are kept, so prediction continues from the
        next odometry sample.
        """
        state = self._latest().snapshot()
        state.candidates, state.fail_streak, state.pass_streak = (), 0, 0
        state.trust, state.inflation, state.nis = TRUSTED, 1.0, 1.0
        if pose is None:
            state.pose, state.p = None, None
        else:
            state.pose = self.model.normalize(pose)
            state.p = self._with_scale(self._initial_covariance(covariance), state.p)
            state.velocity = np.zeros(self.model.pose_dim)
            state.time_ns = stamp_ns if stamp_ns is not None else state.time_ns
        self._clear(state)

    # ----------------------------------------------------------------- outputs
    @property
    def initialized(self) -> bool:
        return self._latest().initialized

    @property
    def newest_stamp_ns(self) -> Optional[int]:
        return self._events[-1].stamp_ns if self._events else self._base.time_ns

    def odometry_fresh(self, stamp_ns: int) -> bool:
        """Whether odometry covers ``stamp_ns`` (its newest sample is within ``odometry_timeout_s``)."""
        sample = self._latest().odom_sample
        return sample is not None and stamp_ns - sample.stamp_ns <= self.config.odometry_timeout_s * 1e9

    def state(self) -> Optional[FusedState]:
        """The estimate at the newest input's time (None until initialised)."""
        return self._as_state(self._latest())

    def state_at(self, stamp_ns: int) -> Optional[FusedState]:
        """The estimate at ``stamp_ns``: everything stamped up to then applied, nothing after it.

        Past the newest odometry the filter's own velocity estimate carries the pose forward.
        """
        index = bisect.bisect_right(self._keys, (stamp_ns, 2))
        state = (self._states[index - 1] if index > 0 else self._base).snapshot()
        if not state.initialized:
            return None
        if state.time_ns is not None and stamp_ns > state.time_ns:
            self._advance_to(state, stamp_ns, index)
        return self._as_state(state, stamp_ns)

    def health(self) -> FilterHealth:
        state = self._latest()
        odometry = state.trust
        if state.odom_sample is None or (state.time_ns is not None and state.time_ns - state.odom_sample.stamp_ns
                                         > self.config.odometry_timeout_s * 1e9):
            odometry = ABSENT
        distrusted = "odometry" if odometry in (SUSPECT, DROPPED) else (
            "regressor" if state.gated_share > 0.5 else "none")
        test = state.last_test
        return FilterHealth(odometry, distrusted, state.nis, state.inflation, state.scale,
                            test.statistic / test.threshold if test else float("nan"), state.gated_share)

    def stats(self) -> Dict[str, int]:
        """How many inputs ended with each decision (inputs refused on arrival included)."""
        counts = self._pruned + self._refused
        counts.update(e.decision.reason for e in self._events if e.decision is not None)
        return dict(counts)

    # ----------------------------------------------------------------- history
    def _latest(self) -> FilterState:
        return self._states[-1] if self._states else self._base

    def _clear(self, base: FilterState) -> None:
        self._pruned.update(e.decision.reason for e in self._events if e.decision is not None)
        self._events, self._keys, self._states, self._base = [], [], [], base

    def _refuse(self, decision: Decision) -> Decision:
        self._refused[decision.reason] += 1
        return decision

    def _newest_odometry_ns(self) -> Optional[int]:
        for event in reversed(self._events):
            if event.is_odometry:
                return event.stamp_ns
        return self._base.odom_sample.stamp_ns if self._base.odom_sample is not None else None

    def _too_old(self, event: _Event) -> Optional[Decision]:
        """None if ``event`` can be inserted (after a reset if the clock jumped back); else why not."""
        newest = self.newest_stamp_ns
        history_ns = int(self.config.history_s * 1e9)
        if newest is None or event.stamp_ns >= newest - history_ns:
            self._old_poses = []
            return None
        newest_odometry = self._newest_odometry_ns()
        jumped = event.is_odometry and newest_odometry is not None and event.stamp_ns < newest_odometry - history_ns
        if not event.is_odometry:
            self._old_poses = [s for s in self._old_poses if s < event.stamp_ns] + [event.stamp_ns]
            jumped = len(self._old_poses) >= JUMP_CONFIRMATIONS and newest_odometry is None
        if jumped:  # the inputs' clock went back (a looping bag): nothing before the jump applies any more
            self._clear(self._fresh())
            self._old_poses = []
            self._refused["clock_jump_reset"] += 1
            return None
        age = (newest - event.stamp_ns) * 1e-9
        return Decision(False, "too_old", f"{age:.3f} s older than the newest input; history is "
                                          f"{self.config.history_s} s")

    def _insert(self, event: _Event) -> Decision:
        refusal = self._too_old(event)
        if refusal is not None:
            return self._refuse(refusal)
        same = bisect.bisect_left(self._keys, (event.stamp_ns,))
        for j in range(same, len(self._keys)):
            if self._keys[j][0] != event.stamp_ns:
                break
            if self._events[j].is_odometry == event.is_odometry:
                kind = "odometry" if event.is_odometry else "a regressed pose"
                return self._refuse(Decision(False, "duplicate", f"{kind} with this stamp was already received"))
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
        del self._states[start:]
        state = (self._states[-1] if self._states else self._base).snapshot()
        for k in range(start, len(self._events)):
            self._process(state, k)
            self._states.append(state.snapshot())
        self._prune()
        decision = event.decision
        if decision is None:  # unreachable: every processed event gets a decision
            raise RuntimeError("an event was inserted but not processed")
        return decision

    def _prune(self) -> None:
        """Keep ``history_s`` for late inputs plus one monitor window before it."""
        keep_ns = int((self.config.history_s + self.config.monitor_window_s) * 1e9)
        horizon = self._events[-1].stamp_ns - keep_ns
        drop = 0
        while drop < len(self._events) - 1 and self._events[drop].stamp_ns < horizon:
            drop += 1
        if drop:
            self._pruned.update(e.decision.reason for e in self._events[:drop] if e.decision is not None)
            self._base = self._states[drop - 1]
            del self._events[:drop]
            del self._keys[:drop]
            del self._states[:drop]

    # ----------------------------------------------------------------- filter steps
    def _process(self, state: FilterState, k: int) -> None:
        event = self._events[k]
        if isinstance(event.item, OdometrySample):
            event.decision = self._odometry_step(state, event, event.item)
        else:
            event.extrapolated = self._advance_to(state, event.stamp_ns, k + 1)
            event.odom_at = state.odom_pose
            r_cov = event.r_cov
            if r_cov is None:
                r_cov = measurement_covariance(event.item, self.config, self.model)
            event.decision = self._pose_step(state, event.item, r_cov, k)

    def _is_jump(self, a: OdometrySample, b: OdometrySample) -> bool:
        """Whether the odometry moved between two samples faster than the car can (distance and rotation
        angle need no relative pose: rotations keep lengths, and the angle is 2 acos|<qa, qb>|)."""
        dt = max((b.stamp_ns - a.stamp_ns) * 1e-9, 1e-3)
        dx, dy, dz = (b.pose.position - a.pose.position).tolist()
        cos_half = min(1.0, abs(float(a.pose.quaternion @ b.pose.quaternion)))
        return (dx * dx + dy * dy + dz * dz > (self.config.max_speed * dt) ** 2
                or 2.0 * math.acos(cos_half) > self.config.max_yaw_rate * dt)

    def _odometry_step(self, state: FilterState, event: _Event, sample: OdometrySample) -> Decision:
        previous = state.odom_sample
        timeout_ns = self.config.odometry_timeout_s * 1e9
        continuous = previous is not None and state.odom_pose is not None and \
            sample.stamp_ns - previous.stamp_ns <= timeout_ns
        jumped = continuous and previous is not None and self._is_jump(previous, sample)
        if jumped and previous is not None and state.odom_pose is not None:
            # continue the corrected odometry with the sample's own velocity across the jump
            dt = (sample.stamp_ns - previous.stamp_ns) * 1e-9
            expected = state.odom_offset @ previous.pose @ pose_from_twist(sample.twist, dt)
            state.odom_offset = expected @ sample.pose.inverse()
        corrected = state.odom_offset @ sample.pose
        event.corrected = corrected
        if not continuous:
            state.odom_pose = None  # after a dropout the reference starts again: no increment across the gap
        self._move(state, corrected if continuous else None, sample.stamp_ns, sample)
        state.odom_pose, state.odom_sample, state.time_ns = corrected, sample, sample.stamp_ns
        return Decision(True, "odometry_jump" if jumped else "odometry",
                        "faster than max_speed / max_yaw_rate: odometry re-anchored" if jumped else "")

    def _odometry_at(self, state: FilterState, stamp_ns: int, search_from: int) -> Tuple[Optional[Pose], bool]:
        """The corrected odometry pose at ``stamp_ns``: interpolated towards the next sample, or carried
        forward at the filter's velocity past the newest one (True); None where odometry is absent."""
        a = state.odom_sample
        timeout_ns = self.config.odometry_timeout_s * 1e9
        if a is None or state.odom_pose is None or state.time_ns is None or stamp_ns - a.stamp_ns > timeout_ns:
            return None, False
        after = next((e.item for e in self._events[search_from:] if isinstance(e.item, OdometrySample)), None)
        if after is not None and after.stamp_ns - a.stamp_ns <= timeout_ns and not self._is_jump(a, after):
            fraction = (stamp_ns - a.stamp_ns) / (after.stamp_ns - a.stamp_ns)
            return state.odom_offset @ interpolate_pose(a.pose, after.pose, fraction), False
        increment = self.model.velocity_increment(state.velocity, (stamp_ns - state.time_ns) * 1e-9)
        increment[:self.model.translation_dims] /= state.scale  # in the odometry's own (unscaled) units
        return state.odom_pose @ self._increment_pose(increment), True

    def _increment_pose(self, increment: np.ndarray) -> Pose:
        if self.model.pose_dim == 3:
            return Pose.from_xyz_yaw(increment[0], increment[1], increment[2])
        return pose_from_twist(increment, 1.0)

    def _advance_to(self, state: FilterState, stamp_ns: int, search_from: int) -> bool:
        """Predict to ``stamp_ns``; True if odometry had to be extrapolated (redone when it arrives)."""
        if state.time_ns is None or stamp_ns <= state.time_ns:
            return False
        target, extrapolated = self._odometry_at(state, stamp_ns, search_from)
        self._move(state, target, stamp_ns, state.odom_sample)
        state.odom_pose, state.time_ns = target, stamp_ns
        return extrapolated

    def _move(self, state: FilterState, target: Optional[Pose], stamp_ns: int,
              sample: Optional[OdometrySample]) -> None:
        """The prediction: by the odometry increment to ``target`` while odometry is usable, else by
        the filter's velocity."""
        if not state.initialized or state.time_ns is None:
            return
        dt = max(0.0, (stamp_ns - state.time_ns) * 1e-9)
        if target is not None and state.odom_pose is not None and state.trust in (TRUSTED, SUSPECT):
            increment = self.model.increment(state.odom_pose.inverse() @ target)
            cov = sample.twist_covariance if sample is not None else np.eye(6) * 1e-6
            self._predict(state, increment, dt, state.scale, True,
                          self.model.increment_variances(increment, state.scale, dt, self.config, cov))
            if dt > 0:
                measured = increment.copy()
                measured[:self.model.translation_dims] *= state.scale
                alpha = min(1.0, dt / VELOCITY_TIME_CONSTANT_S)
                state.velocity = state.velocity + alpha * (measured / dt - state.velocity)
        elif dt > 0:
            increment = self.model.velocity_increment(state.velocity, dt)
            self._predict(state, increment, dt, 1.0, False, self.model.free_variances(dt, self.config))

    def _predict(self, state: FilterState, increment: np.ndarray, dt: float, scale: float, by_odometry: bool,
                 variances: np.ndarray) -> None:
        pd, dim = self.model.pose_dim, self.model.dim
        if state.pose is None or state.p is None:
            return
        new_pose, f_pose, d_scale, g = self.model.propagate(state.pose, increment, scale)
        f = np.eye(dim)
        f[:pd, :pd] = f_pose
        q = np.zeros((dim, dim))
        q[:pd, :pd] = (g * variances) @ g.T
        if by_odometry and self.config.estimate_odometry_scale:
            f[:pd, -1] = d_scale
            dist = scale * float(np.linalg.norm(increment[:self.model.translation_dims]))
            q[-1, -1] = self.config.odometry_scale_drift_per_m ** 2 * dist
        q[-1, -1] += 1e-12 * dt
        if by_odometry:
            q *= state.inflation
        state.pose, state.p = new_pose, _symmetric(kalman.predict_covariance(state.p, f, q))

    def _pose_step(self, state: FilterState, estimate: PoseEstimate, r_cov: np.ndarray, k: int) -> Decision:
        measured = self.model.normalize(estimate.pose)
        stamp = estimate.stamp_ns
        if state.pose is None or state.p is None:
            return self._initialize(state, Candidate(stamp, measured, r_cov, state.odom_pose))
        pd = self.model.pose_dim
        innovation = self.model.residual(measured, state.pose)
        s_inv = kalman.innovation_precision(state.p, self._h, r_cov)
        distance2 = float(innovation @ s_inv @ innovation)
        state.nis += NIS_MEMORY * (min(distance2, self._gate) / pd - state.nis)
        self._monitor(state, k)
        gated = distance2 > self._gate
        state.gated_share += NIS_MEMORY * (float(gated) - state.gated_share)
        if gated:
            return self._rejected(state, Candidate(stamp, measured, r_cov, state.odom_pose), distance2)
        correction, p_post = kalman.update(state.p, innovation, self._h, r_cov, s_inv)
        state.pose = self.model.inject(state.pose, correction[:pd])
        if self.config.estimate_odometry_scale:
            state.log_scale += float(correction[-1])
        state.p = _symmetric(p_post)
        if not self._odometry_drives(state):
            state.velocity = self._fitted_velocity(state, k, state.velocity)
        state.last_update_ns = stamp
        return Decision(True, "accepted", f"Mahalanobis^2 {distance2:.1f}")

    def _fitted_velocity(self, state: FilterState, k: int, fallback: np.ndarray) -> np.ndarray:
        """Without odometry: the body velocity of a straight-line fit (position and heading against time)
        to the regressed poses of the last ``velocity_window_s`` that the filter accepted."""
        if state.pose is None:
            return fallback
        now = self._events[k].stamp_ns
        times, vectors = [], []
        for j in range(k, -1, -1):
            event = self._events[j]
            if event.stamp_ns < now - self.config.velocity_window_s * 1e9:
                break
            if isinstance(event.item, PoseEstimate) and (j == k or (event.decision is not None and event.decision.accepted)):
                times.append((event.stamp_ns - now) * 1e-9)
                vectors.append(self.model.residual(self.model.normalize(event.item.pose), state.pose))
        if len(times) < 3 or times[0] - times[-1] < 0.2:
            return fallback
        t = np.array(times)
        slope = np.polyfit(t, np.array(vectors), 1)[0]  # per-component slope; residuals are small angles and offsets
        return self.model.world_correction_to_body(state.pose, slope)

    def _odometry_drives(self, state: FilterState) -> bool:
        return state.odom_pose is not None and state.trust in (TRUSTED, SUSPECT)

    def _initialize(self, state: FilterState, candidate: Candidate) -> Decision:
        state.candidates = self._recent(state.candidates + (candidate,), candidate.stamp_ns)
        found = self._consensus(state, self.config.init_poses)
        if found is None:
            return Decision(False, "initializing", f"{len(state.candidates)} recent poses, {self.config.init_poses} "
                                                   "must agree")
        state.pose, p_pose = found
        state.p = self._with_scale(p_pose, state.p)
        state.velocity = self._odometry_velocity(state)
        if state.odom_pose is None:  # no odometry carried the poses forward: their mean lags, the fit says how much
            state.velocity = self._candidates_velocity(state.candidates, state.pose, state.velocity)
            lag = float(candidate.stamp_ns - np.mean([c.stamp_ns for c in state.candidates])) * 1e-9
            state.pose = state.pose @ self._increment_pose(self.model.velocity_increment(state.velocity, lag))
        state.time_ns = max(state.time_ns or candidate.stamp_ns, candidate.stamp_ns)
        state.candidates, state.last_update_ns = (), candidate.stamp_ns
        return Decision(True, "initialized", f"from {self.config.init_poses}+ agreeing poses")

    def _candidates_velocity(self, candidates: Tuple[Candidate, ...], pose: Pose, fallback: np.ndarray) -> np.ndarray:
        """Without odometry at initialisation: the straight-line fit through the candidate poses."""
        if len(candidates) < 3:
            return fallback
        newest = max(c.stamp_ns for c in candidates)
        t = np.array([(c.stamp_ns - newest) * 1e-9 for c in candidates])
        if np.ptp(t) < 0.2:
            return fallback
        slope = np.polyfit(t, np.array([self.model.residual(c.pose, pose) for c in candidates]), 1)[0]
        return self.model.world_correction_to_body(pose, slope)

    def _odometry_velocity(self, state: FilterState) -> np.ndarray:
        """The newest odometry sample's twist in the model's dimensions, its speed scaled (zero without one)."""
        if state.odom_sample is None:
            return np.zeros(self.model.pose_dim)
        velocity = state.odom_sample.twist[list(self.model.indices6)].copy()
        velocity[:self.model.translation_dims] *= state.scale
        return velocity

    def _rejected(self, state: FilterState, candidate: Candidate, distance2: float) -> Decision:
        state.candidates = self._recent(state.candidates + (candidate,), candidate.stamp_ns)
        found = self._consensus(state, self.config.kidnap_rejections)
        if found is None:
            return Decision(False, "gated", f"Mahalanobis^2 {distance2:.1f} > {self._gate:.1f}")
        state.pose, p_pose = found
        state.p = self._with_scale(p_pose, state.p)
        state.time_ns = max(state.time_ns or candidate.stamp_ns, candidate.stamp_ns)
        state.candidates, state.last_update_ns = (), candidate.stamp_ns
        return Decision(True, "reinitialized", "gated poses agree with each other: the car was moved")

    def _recent(self, candidates: Tuple[Candidate, ...], now_ns: int) -> Tuple[Candidate, ...]:
        window_ns = self.config.monitor_window_s * 1e9
        return tuple(c for c in candidates if now_ns - c.stamp_ns <= window_ns)

    def _consensus(self, state: FilterState, needed: int) -> Optional[Tuple[Pose, np.ndarray]]:
        motion_var = self.model.free_variances(1.0, self.config)
        return consensus(state.candidates, self.model, state.scale, self._gate, needed, motion_var,
                         self.config.noise_xy_per_m ** 2)

    def _monitor(self, state: FilterState, k: int) -> None:
        """Every quarter window: the relative-motion test over the last window, and the trust it implies."""
        now = self._events[k].stamp_ns
        window_ns = int(self.config.monitor_window_s * 1e9)
        if state.last_test_ns is not None and now - state.last_test_ns < window_ns // 4:
            return
        state.last_test_ns = now
        dims = self.model.translation_dims
        regressed, odometry, variances, times = [], [], [], []
        for j in range(k, -1, -1):
            event = self._events[j]
            if event.stamp_ns < now - window_ns:
                break
            if event.r_cov is not None and event.odom_at is not None:
                regressed.append(event.item.pose.position[:dims])
                odometry.append(event.odom_at.position[:dims])
                variances.append(event.position_var)
                times.append(event.stamp_ns)
        if len(regressed) < self.config.monitor_min_poses:
            return
        odo = np.array(odometry[::-1]) * state.scale
        travelled = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(odo, axis=0), axis=1))])
        elapsed = (np.array(times[::-1]) - times[-1]) * 1e-9
        test = relative_motion_test(np.array(regressed[::-1]), odo,
                                    window_variances(variances[::-1], travelled, elapsed, self.config.noise_xy_per_m,
                                                     self.config.noise_xy_per_s),
                                    self.config.monitor_probability, self.config.monitor_min_poses)
        if test is None:
            return
        state.last_test = test
        self._judge(state, test.verdict, test.scale_ratio)

    def _judge(self, state: FilterState, verdict: str, scale_ratio: float) -> None:
        if verdict == CONSISTENT:
            state.pass_streak, state.fail_streak = state.pass_streak + 1, 0
            if state.pass_streak >= self.config.monitor_pass_windows:
                state.trust, state.inflation = TRUSTED, 1.0
            return
        state.fail_streak, state.pass_streak = state.fail_streak + 1, 0
        if state.fail_streak < self.config.monitor_fail_windows:
            return
        if verdict == SCALE and state.p is not None and self.config.estimate_odometry_scale:
            if state.trust != SUSPECT:  # stop trusting the scale: open its uncertainty to the misfit seen
                p = state.p.copy()
                p[-1, -1] = max(p[-1, -1], math.log(scale_ratio) ** 2 + self.config.odometry_scale_std ** 2)
                state.p = p
            state.trust = SUSPECT
            state.inflation = min(max(1.0, state.nis), self.config.max_noise_inflation)
        elif verdict in (INCONSISTENT, SCALE):
            state.trust, state.inflation = DROPPED, 1.0

    # ----------------------------------------------------------------- helpers
    def _with_scale(self, p_pose: np.ndarray, previous: Optional[np.ndarray]) -> np.ndarray:
        """The full covariance from a pose covariance, keeping the scale's variance if there was one."""
        pd = self.model.pose_dim
        p = np.zeros((self.model.dim, self.model.dim))
        p[:pd, :pd] = p_pose
        p[-1, -1] = previous[-1, -1] if previous is not None else self.config.odometry_scale_std ** 2
        return p

    def _initial_covariance(self, covariance: Optional[np.ndarray]) -> np.ndarray:
        if covariance is not None:
            p = self.model.reduce(np.asarray(covariance, dtype=float).reshape(6, 6))
            if np.all(np.isfinite(p)) and np.all(np.linalg.eigvalsh(_symmetric(p)) > 0):
                return _symmetric(p)
        std = [self.config.initial_std_xy] * 2 + [self.config.initial_std_yaw]
        if self.model.pose_dim == 6:
            std = [self.config.initial_std_xy] * 3 + [self.config.initial_std_yaw] * 3
        return np.diag(np.square(std))

    def _as_state(self, state: FilterState, stamp_ns: Optional[int] = None) -> Optional[FusedState]:
        if state.pose is None or state.p is None:
            return None
        pd = self.model.pose_dim
        cov6 = self.model.expand(state.p[:pd, :pd], self.config.planar_fixed_variance)
        map_to_odom = None
        if state.odom_pose is not None:  # map->odom relates to the raw odometry the odometry's own TF carries
            map_to_odom = state.pose @ state.odom_pose.inverse() @ state.odom_offset
        twist = np.zeros(6)
        twist[list(self.model.indices6)] = state.velocity
        return FusedState(stamp_ns if stamp_ns is not None else int(state.time_ns or 0), state.pose, cov6, map_to_odom,
                          twist)



def _symmetric(p: np.ndarray) -> np.ndarray:
    return 0.5 * (p + p.T)
