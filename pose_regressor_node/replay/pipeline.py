"""Offline replay: bag -> Preprocess -> Engine (batched) -> PoseFuser, in stamp order, with the
inference latency simulated, then scored against ground truth.

The same objects as on the robot: ``FrameRegressor`` (what regressor_node calls) and ``PoseFuser``
fed in arrival order (what fusion_node sees).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from tqdm import tqdm

from ..fusion import FusionConfig, fuse_in_arrival_order
from ..geometry import Pose
from ..inference.decode import ImageDecodeError, decode_image
from ..inference.engine import load_engine
from ..inference.frame_regressor import DEFAULT_ORIENTATION_STD, DEFAULT_POSITION_STD, FrameRegressor, pose_covariance
from ..measurements import OdometrySample, PoseEstimate
from ..messages import stamp_ns_of
from .metrics import Evaluation, evaluate
from .source import BagTopics, ReplaySource
from .trajectory import Trajectory

__all__ = ["ReplayOptions", "ReplayResult", "replay", "measure_latency"]


@dataclass
class ReplayOptions:
    backend: str = "auto"
    device: str = "auto"
    batch: int = 16
    latency_s: Optional[float] = None  # None: the engine's measured batch-1 latency
    max_diff_s: float = 0.02
    fusion: FusionConfig = field(default_factory=FusionConfig)
    extrinsic: Optional[Pose] = None  # base_link -> camera; None: /tf_static, else this default
    default_extrinsic: Pose = field(default_factory=Pose)
    position_std: float = DEFAULT_POSITION_STD
    orientation_std: float = DEFAULT_ORIENTATION_STD
    image_topic: Optional[str] = None
    odom_topic: Optional[str] = None
    truth_topic: Optional[str] = None
    progress: bool = True


@dataclass
class ReplayResult:
    topics: BagTopics
    backend: str
    latency_s: float
    latency_measured: bool
    truth: Trajectory
    trajectories: Dict[str, Trajectory]  # regressor, odometry, fused
    evaluations: Dict[str, Evaluation]
    counts: Dict[str, int]
    notes: List[str]


def measure_latency(regressor: FrameRegressor, frame: np.ndarray, repeats: int = 10) -> float:
    """Median seconds from a decoded frame to a pose (preprocess + inference), batch 1."""
    regressor.estimate([frame], [0])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        regressor.estimate([frame], [0])
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _odometry_in_map(odometry: List[OdometrySample], truth: Trajectory, first_pose: Optional[Pose]) -> Trajectory:
    """Dead reckoning, started where the car really was (ground truth) or at the first regressed pose."""
    if not odometry:
        return Trajectory.from_poses([], [])
    start = odometry[0]
    if len(truth):
        k = int(np.argmin(np.abs(truth.stamps_ns - start.stamp_ns)))
        anchor = truth.pose(k)
    else:
        anchor = first_pose or Pose()
    map_from_odom = anchor @ start.pose.inverse()
    return Trajectory.from_poses([o.stamp_ns for o in odometry], [map_from_odom @ o.pose for o in odometry])


def replay(bag: Path, model: str, options: Optional[ReplayOptions] = None) -> ReplayResult:
    options = options or ReplayOptions()
    engine = load_engine(model, backend=options.backend, device=options.device)
    source = ReplaySource(Path(bag), options.image_topic, options.odom_topic, options.truth_topic)
    notes = list(source.topics.notes)
    counts: Counter = Counter()
    try:
        extrinsic = options.extrinsic
        if extrinsic is None:
            found = source.extrinsic()
            if found is not None:
                notes.append(f"camera extrinsic base_link -> {found[0]} from /tf_static")
                extrinsic = found[1]
            else:
                notes.append("no /tf_static in the bag: camera extrinsic from config/localize.yaml")
                extrinsic = options.default_extrinsic
        regressor = FrameRegressor(engine, extrinsic, pose_covariance(options.position_std, options.orientation_std))
        estimates: List[PoseEstimate] = []
        odometry: List[OdometrySample] = []
        truth_stamps: List[int] = []
        truth_poses: List[Pose] = []
        pending: List[np.ndarray] = []
        pending_stamps: List[int] = []
        latency = options.latency_s

        def flush() -> None:
            if pending:
                estimates.extend(regressor.estimate(pending, pending_stamps))
                pending.clear()
                pending_stamps.clear()

        bar = tqdm(total=source.image_count, unit="frame", desc="replay", disable=not options.progress)
        for kind, payload in source.messages():
            if kind == "image":
                bar.update(1)
                try:
                    frame = decode_image(payload)
                except ImageDecodeError:
                    counts["bad_images"] += 1
                    continue
                counts["images"] += 1
                if latency is None:
                    latency = measure_latency(regressor, frame)
                pending.append(frame)
                pending_stamps.append(stamp_ns_of(payload))
                if len(pending) >= options.batch:
                    flush()
            elif kind == "odometry":
                odometry.append(payload)
            elif kind == "bad_odometry":
                counts["bad_odometry"] += 1
            else:
                truth_stamps.append(payload[0])
                truth_poses.append(payload[1])
        flush()
        bar.close()
    finally:
        source.close()
    counts["odometry"] = len(odometry)
    counts["truth"] = len(truth_stamps)
    latency_s = float(latency or 0.0)
    order = np.argsort(truth_stamps, kind="stable")
    truth = Trajectory.from_poses([truth_stamps[i] for i in order], [truth_poses[i] for i in order])
    odometry.sort(key=lambda o: o.stamp_ns)
    fused = fuse_in_arrival_order(odometry, estimates, int(latency_s * 1e9), options.fusion)
    counts.update({f"fusion_{k}": v for k, v in fused.decisions.items()})
    trajectories = {
        "regressor": Trajectory.from_poses([e.stamp_ns for e in estimates], [e.pose for e in estimates]),
        "odometry": _odometry_in_map(odometry, truth, estimates[0].pose if estimates else None),
        "fused": Trajectory.from_poses(fused.stamps_ns, fused.poses),
    }
    evaluations = {name: evaluate(truth, traj, options.max_diff_s) for name, traj in trajectories.items()} \
        if len(truth) else {}
    return ReplayResult(source.topics, engine.backend, latency_s, options.latency_s is None, truth, trajectories,
                        evaluations, dict(counts), notes)
